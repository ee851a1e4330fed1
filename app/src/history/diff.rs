//! wasm-bindgen bindings to the history's side-by-side diff in the Monaco shim.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/editor/monaco.js")]
extern "C" {
    pub(crate) type TandemDiff;

    #[wasm_bindgen(constructor)]
    pub(crate) fn new(el: &web_sys::HtmlElement, language: &str) -> TandemDiff;

    #[wasm_bindgen(method)]
    pub(crate) fn show(this: &TandemDiff, original: &str, modified: &str) -> Promise;

    /// `[from, to]` as JSON, or "" when nothing is selected on that side.
    #[wasm_bindgen(method, js_name = selectedLines)]
    pub(crate) fn selected_lines(this: &TandemDiff, left: bool) -> String;

    #[wasm_bindgen(method)]
    pub(crate) fn dispose(this: &TandemDiff);
}
