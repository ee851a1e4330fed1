//! wasm-bindgen bindings to `xterm.js`, the small JavaScript shim around xterm.js.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/terminals/xterm.js")]
extern "C" {
    /// Loads xterm.js from the site (`/xterm`, copied from npm at build time).
    #[wasm_bindgen(js_name = loadXterm)]
    pub(crate) fn load_xterm(base: &str) -> Promise;

    pub(crate) type TandemTerminal;

    #[wasm_bindgen(constructor)]
    pub(crate) fn new(
        el: &web_sys::HtmlElement,
        cols: u16,
        rows: u16,
        writable: bool,
        on_data: &Function,
        on_fit: &Function,
    ) -> TandemTerminal;

    #[wasm_bindgen(method)]
    pub(crate) fn write(this: &TandemTerminal, data: &str);

    #[wasm_bindgen(method)]
    pub(crate) fn reset(this: &TandemTerminal);

    #[wasm_bindgen(method)]
    pub(crate) fn resize(this: &TandemTerminal, cols: u16, rows: u16);

    #[wasm_bindgen(method, js_name = setWritable)]
    pub(crate) fn set_writable(this: &TandemTerminal, writable: bool);

    #[wasm_bindgen(method)]
    pub(crate) fn focus(this: &TandemTerminal);

    #[wasm_bindgen(method)]
    pub(crate) fn dispose(this: &TandemTerminal);
}
