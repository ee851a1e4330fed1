// The installable app's browser side: the service worker's registration and updates, and the
// browser's install prompt. Loaded with the app's JS, before the wasm starts, so an install
// prompt the browser offers early is not missed.

let deferredPrompt = null;
const installListeners = new Set();
const notifyInstall = () => installListeners.forEach((cb) => cb(deferredPrompt !== null));

window.addEventListener("beforeinstallprompt", (e) => {
  // The app shows its own Install button instead of the browser's mini bar.
  e.preventDefault();
  deferredPrompt = e;
  notifyInstall();
});
window.addEventListener("appinstalled", () => {
  deferredPrompt = null;
  notifyInstall();
});

/** Calls `cb(installable)` now and whenever that changes; returns the function that stops it. */
export function onInstallable(cb) {
  installListeners.add(cb);
  cb(deferredPrompt !== null);
  return () => installListeners.delete(cb);
}

/** Shows the browser's install dialog; resolves to whether the person accepted. */
export async function promptInstall() {
  const prompt = deferredPrompt;
  if (!prompt) return false;
  deferredPrompt = null;
  notifyInstall();
  await prompt.prompt();
  const { outcome } = await prompt.userChoice;
  return outcome === "accepted";
}

let waiting = null;
let reloading = false;

/**
 * Registers `/sw.js` and calls `onUpdate()` once a new version is installed and waiting
 * while this page runs the old one. Checks for a new version when the page comes back into
 * view and every hour.
 */
export function registerWorker(onUpdate) {
  if (!("serviceWorker" in navigator)) return;
  const offer = (worker) => {
    waiting = worker;
    onUpdate();
  };
  navigator.serviceWorker
    .register("/sw.js", { updateViaCache: "none" })
    .then((reg) => {
      // A new version that finished installing before this page loaded.
      if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
      reg.addEventListener("updatefound", () => {
        const worker = reg.installing;
        if (!worker) return;
        worker.addEventListener("statechange", () => {
          // Without a controller this is the first install, not an update.
          if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
        });
      });
      const check = () => reg.update().catch(() => {});
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") check();
      });
      setInterval(check, 60 * 60 * 1000);
    })
    .catch((e) => console.warn("service worker not registered:", e));
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // Only the reload the person asked for: the first install also changes the controller.
    if (reloading) window.location.reload();
  });
}

/** Switches to the waiting version and reloads once it has taken over. */
export function applyUpdate() {
  if (!waiting) {
    window.location.reload();
    return;
  }
  reloading = true;
  waiting.postMessage("skipWaiting");
}
