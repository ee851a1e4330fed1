//! wasm-bindgen bindings to `monaco.js`, the small JavaScript shim around Monaco's AMD build.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/editor/monaco.js")]
extern "C" {
    /// Loads Monaco from the site (`/monaco/vs`, copied from npm at build time).
    #[wasm_bindgen(js_name = loadMonaco)]
    pub(crate) fn load_monaco(base: &str) -> Promise;

    #[wasm_bindgen(js_name = copyText)]
    pub(crate) fn copy_text(text: &str) -> Promise;

    /// Highlights a chat message's code blocks and adds Copy (and Insert) buttons.
    #[wasm_bindgen(js_name = decorateCode)]
    pub(crate) fn decorate_code(root: &web_sys::Element, can_insert: bool);

    /// The code a chat code block's button belongs to.
    #[wasm_bindgen(js_name = codeOfButton)]
    pub(crate) fn code_of_button(button: &web_sys::Element) -> Option<String>;

    pub(crate) type TandemEditor;

    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        el: &web_sys::HtmlElement,
        value: &str,
        language: &str,
        read_only: bool,
        on_changes: &Function,
        on_selection: &Function,
        on_undo: &Function,
        on_redo: &Function,
    ) -> TandemEditor;

    #[wasm_bindgen(method, js_name = getValue)]
    pub(crate) fn get_value(this: &TandemEditor) -> String;

    #[wasm_bindgen(method, js_name = selectionsJson)]
    pub(crate) fn selections_json(this: &TandemEditor) -> String;

    #[wasm_bindgen(method, js_name = applyRemote)]
    pub(crate) fn apply_remote(this: &TandemEditor, edits: &str, selections: Option<String>);

    #[wasm_bindgen(method, js_name = setCursors)]
    pub(crate) fn set_cursors(this: &TandemEditor, cursors: &str);

    #[wasm_bindgen(method, js_name = cursorContext)]
    pub(crate) fn cursor_context(this: &TandemEditor) -> String;

    #[wasm_bindgen(method, js_name = insertText)]
    pub(crate) fn insert_text(this: &TandemEditor, text: &str) -> bool;

    /// The server's answer to completion request `id` (empty: nothing to show).
    #[wasm_bindgen(js_name = completionArrived)]
    pub(crate) fn completion_arrived(id: f64, text: &str);

    /// Ghost text on (`ask(id, prefix, suffix)`, `cancel(id)`) or off (`None`).
    #[wasm_bindgen(method, js_name = setCompleter)]
    pub(crate) fn set_completer(
        this: &TandemEditor,
        ask: Option<&Function>,
        cancel: Option<&Function>,
    );

    /// The code actions (context menu, Ctrl+., F1) call `handler(name)`: `explain`, `doc`,
    /// `tests`, `review`, `refactor` or `fix`.
    #[wasm_bindgen(method, js_name = setActions)]
    pub(crate) fn set_actions(this: &TandemEditor, handler: &Function);

    /// Draws AI suggestions over their lines (JSON list; `[]` for none).
    #[wasm_bindgen(method, js_name = setSuggestions)]
    pub(crate) fn set_suggestions(this: &TandemEditor, json: &str);

    #[wasm_bindgen(method, js_name = setReadOnly)]
    pub(crate) fn set_read_only(this: &TandemEditor, read_only: bool);

    #[wasm_bindgen(method, js_name = setBlame)]
    pub(crate) fn set_blame(this: &TandemEditor, json: &str);

    #[wasm_bindgen(method, js_name = setLanguage)]
    pub(crate) fn set_language(this: &TandemEditor, language: &str);

    #[wasm_bindgen(method)]
    pub(crate) fn reveal(this: &TandemEditor, line: u32, column: u32, end_column: u32);

    #[wasm_bindgen(method)]
    pub(crate) fn dispose(this: &TandemEditor);
}
