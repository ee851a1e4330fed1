// Starts the app in the browser (no server-rendered page to hydrate) for the offline shell.
import init, { mount } from "/pkg/tandem.js";

await init({ module_or_path: "/pkg/tandem_bg.wasm" });
mount();
