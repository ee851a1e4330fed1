// The thin JavaScript side of Tandem's Monaco binding: load Monaco's AMD build from the site,
// create an editor, and move plain data (JSON strings, offsets) between Monaco and the Rust
// binding, which owns the document, the sync and the undo history.

let loading = null;
/** How long a remote cursor's name stays shown after the cursor last moved. */
const LABEL_SHOWN_MS = 3000;
/** A pause in typing this long asks for a completion; a keystroke before it asks nothing. */
const COMPLETION_PAUSE_MS = 250;
/** Characters before and after the cursor a completion request carries (the server cuts
 * them again to its own bound). */
const COMPLETION_BEFORE = 4000;
const COMPLETION_AFTER = 1000;
/** Each model's completer (set by the Rust side while its person may edit and wants them). */
const completers = new WeakMap();
/** Completion requests waiting for the server's answer: id → resolve. */
const waiting = new Map();
let nextCompletion = 0;
/** The last answer and where it was for: Monaco asks again for the same spot when the word
 * list closes or the view changes, and that is answered from here, without a new request. */
let lastAnswer = null;
let inlineRegistered = false;
/** Each model's code-action handler and editor (set by the Rust side once the editor exists). */
const actionHandlers = new WeakMap();
let codeActionsRegistered = false;
/** The AI code actions: id, label, and whether it makes a change (a shared suggestion) or
 * answers in the chat. */
const AI_ACTIONS = [
  ["explain", "AI: Explain"],
  ["doc", "AI: Add docs"],
  ["tests", "AI: Write tests"],
  ["review", "AI: Review"],
  ["refactor", "AI: Refactor…"],
  ["fix", "AI: Fix"],
];
/** Most lines of a suggestion's new text drawn under its lines (the rest is summarised). */
const SUGGESTION_LINES_SHOWN = 40;

/** Ctrl+. (Monaco's quick-fix list) offers the AI actions for the selection; only when asked,
 * so no light bulb follows every selection around. */
function registerCodeActions() {
  if (codeActionsRegistered) return;
  codeActionsRegistered = true;
  monaco.languages.registerCodeActionProvider("*", {
    provideCodeActions(model, _range, context) {
      const entry = actionHandlers.get(model);
      const asked = context.trigger === monaco.languages.CodeActionTriggerType.Invoke;
      if (!entry || !asked) return { actions: [], dispose() {} };
      const actions = AI_ACTIONS.map(([id, label]) => ({
        title: label,
        kind: "quickfix",
        command: { id: entry.editor.getId() + ":tandem.ai." + id, title: label },
      }));
      return { actions, dispose() {} };
    },
  });
}

/** Monaco asks this for ghost text after each change (and cancels `token` when the person
 * types on); one provider serves every editor, finding the completer by model. */
function registerInline() {
  if (inlineRegistered) return;
  inlineRegistered = true;
  monaco.languages.registerInlineCompletionsProvider("*", {
    async provideInlineCompletions(model, position, _context, token) {
      const complete = completers.get(model);
      if (!complete) return { items: [] };
      const offset = model.getOffsetAt(position);
      const here = { model, version: model.getVersionId(), offset };
      const item = (text) => ({
        items: [{ insertText: text, range: monaco.Range.fromPositions(position, position) }],
      });
      const same = (a) => a && a.model === here.model && a.version === here.version && a.offset === here.offset;
      if (same(lastAnswer)) return lastAnswer.text ? item(lastAnswer.text) : { items: [] };
      await new Promise((r) => setTimeout(r, COMPLETION_PAUSE_MS));
      if (token.isCancellationRequested || completers.get(model) !== complete) return { items: [] };
      const at = (o) => model.getPositionAt(Math.max(0, o));
      const prefix = model.getValueInRange(monaco.Range.fromPositions(at(offset - COMPLETION_BEFORE), position));
      const suffix = model.getValueInRange(monaco.Range.fromPositions(position, at(offset + COMPLETION_AFTER)));
      const text = await new Promise((resolve) => {
        const id = ++nextCompletion;
        // The server keeps one request per tab: a newer one (another editor's) replaces it.
        for (const [old, done] of waiting) {
          waiting.delete(old);
          done("");
        }
        waiting.set(id, resolve);
        token.onCancellationRequested(() => {
          if (waiting.delete(id)) {
            complete.cancel(id);
            resolve("");
          }
        });
        complete.ask(id, prefix, suffix);
      });
      if (token.isCancellationRequested) return { items: [] };
      lastAnswer = { ...here, text };
      if (!text) return { items: [] };
      // The word list Monaco opened while the person paused would hide the ghost text: the
      // suggestion the person paused for wins (and `suppressSuggestions` keeps the list shut
      // while it shows).
      complete.editor.trigger("tandem.ghost", "hideSuggestWidget", {});
      return item(text);
    },
    freeInlineCompletions() {},
    disposeInlineCompletions() {},
  });
}

/** The server's answer to completion `id` (empty: nothing to show). */
export function completionArrived(id, text) {
  const resolve = waiting.get(id);
  if (resolve) {
    waiting.delete(id);
    resolve(text);
  }
}

/** Loads Monaco once per page from `base` (e.g. "/monaco/vs"). */
export function loadMonaco(base) {
  if (window.monaco) return Promise.resolve();
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = base + "/loader.js";
    script.onload = () => {
      // An absolute URL: language workers (TypeScript for .js/.ts) start from a blob and
      // `importScripts` their code, which a path like "/monaco/vs" is not valid for there.
      window.require.config({ paths: { vs: new URL(base, window.location.href).href } });
      window.require(["vs/editor/editor.main"], () => {
        // Ctrl+Enter runs the project (the Run panel listens on the window); Monaco would
        // insert a line and swallow the key otherwise.
        const { KeyMod, KeyCode } = monaco;
        monaco.editor.addKeybindingRule({
          keybinding: KeyMod.CtrlCmd | KeyCode.Enter,
          command: "-editor.action.insertLineAfter",
        });
        // Monaco's inline suggestions wait out a short delay with a promise that rejects with
        // its CancellationError when the person types on; on some paths (the word list
        // closing while one waits) nothing catches it. A cancellation is not a failure: only
        // that rejection is kept out of the page's errors.
        window.addEventListener("unhandledrejection", (e) => {
          const r = e.reason;
          if (r && r.name === "Canceled" && r.message === "Canceled") e.preventDefault();
        });
        resolve();
      }, reject);
    };
    script.onerror = () => reject(new Error("could not load " + script.src));
    document.head.appendChild(script);
  });
  return loading;
}

export class TandemEditor {
  /**
   * `onChanges(json)` gets `[[offset, length, text], ...]` for each local edit event;
   * `onSelection(json)` gets `[[anchor, head], ...]` (offsets) when the local selection moves;
   * `onUndo()` / `onRedo()` replace Monaco's own history, which cannot tell users apart.
   */
  constructor(el, value, language, readOnly, onChanges, onSelection, onUndo, onRedo) {
    this.muted = false;
    this.widgets = new Map();
    this.decorations = null;
    const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    // The language id comes from the Rust side (`files::lang`), tested there.
    this.model = monaco.editor.createModel(value, language);
    // The shared text uses LF; Monaco then normalises pasted CRLF to LF as well.
    this.model.setEOL(monaco.editor.EndOfLineSequence.LF);
    // A finger on a phone: larger text (no pinching to read) and the gutter kept narrow, so a
    // 390 px screen still shows a line's worth of code.
    const touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    this.editor = monaco.editor.create(el, {
      model: this.model,
      readOnly,
      automaticLayout: true,
      theme: dark ? "vs-dark" : "vs",
      minimap: { enabled: false },
      fontSize: touch ? 15 : 14,
      lineNumbersMinChars: touch ? 2 : 5,
      folding: !touch,
      glyphMargin: false,
      scrollBeyondLastLine: false,
      // Ghost text (when a completer is set): Tab accepts, Ctrl+→ takes a word, Escape hides.
      inlineSuggest: { enabled: true, suppressSuggestions: true },
    });
    this.decorations = this.editor.createDecorationsCollection();
    this.subs = [
      this.model.onDidChangeContent((e) => {
        if (this.muted) return;
        onChanges(JSON.stringify(e.changes.map((c) => [c.rangeOffset, c.rangeLength, c.text])));
      }),
      this.editor.onDidChangeCursorSelection(() => {
        // Names move off the line this person's cursor arrived on.
        if (this.widgets.size) this.placeLabels();
        if (this.muted) return;
        onSelection(this.selectionsJson());
      }),
    ];
    const { KeyMod, KeyCode } = monaco;
    this.editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyZ, () => onUndo());
    this.editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyZ, () => onRedo());
    this.editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyY, () => onRedo());
  }

  selectionsJson() {
    const m = this.model;
    return JSON.stringify(
      // A Monaco selection's anchor is its "selection start", its head the cursor position.
      (this.editor.getSelections() || []).map((s) => [
        m.getOffsetAt(s.getSelectionStart()),
        m.getOffsetAt(s.getPosition()),
      ]),
    );
  }

  getValue() {
    return this.model.getValue();
  }

  /**
   * Applies remote edits `[[offset, length, text], ...]` (ranges in the model as it is now),
   * then puts the local selections at `selectionsJson` offsets so remote typing never drags
   * the local cursor. Nothing of this is reported back as a local change.
   */
  applyRemote(editsJson, selectionsJson) {
    const m = this.model;
    const edits = JSON.parse(editsJson).map(([offset, length, text]) => {
      const start = m.getPositionAt(offset);
      const end = m.getPositionAt(offset + length);
      return { range: monaco.Range.fromPositions(start, end), text, forceMoveMarkers: false };
    });
    this.muted = true;
    try {
      if (edits.length) m.applyEdits(edits);
      if (selectionsJson) this.setSelectionsUnmuted(JSON.parse(selectionsJson));
    } finally {
      this.muted = false;
    }
  }

  setSelectionsUnmuted(sels) {
    if (!sels.length) return;
    const m = this.model;
    this.editor.setSelections(
      sels.map(([anchor, head]) => {
        const a = m.getPositionAt(anchor);
        const h = m.getPositionAt(head);
        return new monaco.Selection(a.lineNumber, a.column, h.lineNumber, h.column);
      }),
    );
  }

  /** Draws remote cursors `[{id, name, color, anchor, head}]`; names are set as text. */
  setCursors(json) {
    const m = this.model;
    const cursors = JSON.parse(json);
    const decorations = [];
    const seen = new Set();
    for (const c of cursors) {
      const color = Number(c.color) | 0;
      const head = m.getPositionAt(c.head);
      const anchor = m.getPositionAt(c.anchor);
      if (c.anchor !== c.head) {
        const [from, to] = c.anchor < c.head ? [anchor, head] : [head, anchor];
        decorations.push({
          range: monaco.Range.fromPositions(from, to),
          options: { className: `tandem-sel tandem-rc-${color}` },
        });
      }
      decorations.push({
        range: monaco.Range.fromPositions(head, head),
        options: { beforeContentClassName: `tandem-caret tandem-rc-${color}` },
      });
      const key = String(c.id);
      seen.add(key);
      let w = this.widgets.get(key);
      if (!w) {
        const node = document.createElement("div");
        w = {
          node,
          position: null,
          head: null,
          movedAt: 0,
          getId: () => "tandem.cursor." + key,
          getDomNode: () => node,
          getPosition: () => w.position,
        };
        this.widgets.set(key, w);
        this.editor.addContentWidget(w);
      }
      if (!w.head || w.head.lineNumber !== head.lineNumber || w.head.column !== head.column) {
        w.movedAt = Date.now();
      }
      w.head = head;
      w.node.className = `tandem-cursor-label tandem-rc-${color}`;
      w.node.textContent = c.name;
    }
    for (const [key, w] of this.widgets) {
      if (!seen.has(key)) {
        this.editor.removeContentWidget(w);
        this.widgets.delete(key);
      }
    }
    this.decorations.set(decorations);
    this.placeLabels();
  }

  /**
   * Puts each remote cursor's name above its line, or below where above would cover the line
   * this person's cursor is on, and never on that line. A name shows while its cursor moves and
   * fades after `LABEL_SHOWN_MS` still, so it never stays over text someone is reading; the
   * coloured caret stays.
   */
  placeLabels() {
    const mine = this.editor.getPosition();
    const myLine = mine ? mine.lineNumber : -1;
    const now = Date.now();
    const { ABOVE, BELOW } = monaco.editor.ContentWidgetPositionPreference;
    let next = Infinity;
    for (const w of this.widgets.values()) {
      if (!w.head) continue;
      const line = w.head.lineNumber;
      const preference = [];
      if (line > 1 && line - 1 !== myLine) preference.push(ABOVE);
      if (line < this.model.getLineCount() && line + 1 !== myLine) preference.push(BELOW);
      const left = LABEL_SHOWN_MS - (now - w.movedAt);
      const shown = preference.length > 0 && left > 0;
      if (left > 0) next = Math.min(next, left);
      w.node.classList.toggle("idle", !shown);
      w.node.dataset.place = shown ? (preference[0] === ABOVE ? "above" : "below") : "hidden";
      w.position = { position: w.head, preference: preference.length ? preference : [ABOVE] };
      this.editor.layoutContentWidget(w);
    }
    clearTimeout(this.labelTimer);
    if (next !== Infinity) this.labelTimer = setTimeout(() => this.placeLabels(), next + 20);
  }

  /**
   * Colours the text by author: `[{start, len, color, label}]` (UTF-16 offsets, a palette
   * index or null, the hover text). Labels hold account names, so they are escaped as
   * markdown and never rendered as HTML. An empty list takes the colours away.
   */
  setBlame(json) {
    const m = this.model;
    const max = m.getValueLength();
    if (!this.blame) this.blame = this.editor.createDecorationsCollection();
    const decorations = [];
    for (const s of JSON.parse(json)) {
      if (s.start >= max) continue;
      const from = m.getPositionAt(s.start);
      let to = m.getPositionAt(Math.min(s.start + s.len, max));
      // A stretch that ends with a line break would draw an empty tinted span at the start of
      // the next line: it ends at the end of its own last line instead.
      if (to.column === 1 && to.lineNumber > from.lineNumber) {
        to = new monaco.Position(to.lineNumber - 1, m.getLineMaxColumn(to.lineNumber - 1));
      }
      const color = s.color === null ? "none" : Number(s.color) | 0;
      decorations.push({
        range: monaco.Range.fromPositions(from, to),
        options: {
          inlineClassName: `tandem-blame tandem-rc-${color}`,
          hoverMessage: { value: escapeMarkdown(s.label), supportHtml: false, isTrusted: false },
          // Text typed at either edge after the blame was taken is not this author's.
          stickiness: monaco.editor.TrackedRangeStickiness.NeverGrowsWhenTypingAtEdges,
        },
      });
    }
    this.blame.set(decorations);
  }

  setLanguage(language) {
    monaco.editor.setModelLanguage(this.model, language);
  }

  /** Selects `column..endColumn` on `line` (1-based) and scrolls it to the middle. */
  reveal(line, column, endColumn) {
    const range = new monaco.Range(line, column, line, endColumn);
    this.editor.setSelection(range);
    this.editor.revealRangeInCenter(range);
    this.editor.focus();
  }

  /**
   * The cursor's 1-based line, the selected text and its first and last line, as JSON
   * (context for the assistant).
   */
  cursorContext() {
    const sel = this.editor.getSelection();
    if (!sel) return JSON.stringify({ line: 1, selection: "", from: 1, to: 1 });
    // A selection ending at the start of a line does not take that line in.
    const to = sel.endColumn === 1 && sel.endLineNumber > sel.startLineNumber ? sel.endLineNumber - 1 : sel.endLineNumber;
    return JSON.stringify({
      line: sel.positionLineNumber,
      selection: this.model.getValueInRange(sel),
      from: sel.startLineNumber,
      to,
    });
  }

  /**
   * Puts `text` at the selection as if the user typed it, so it syncs, shows as theirs and
   * undoes with Ctrl+Z. False for a read-only editor.
   */
  insertText(text) {
    if (this.editor.getOption(monaco.editor.EditorOption.readOnly)) return false;
    const sel = this.editor.getSelection();
    if (!sel) return false;
    this.editor.executeEdits("tandem-chat", [{ range: sel, text, forceMoveMarkers: true }]);
    this.editor.focus();
    return true;
  }

  /**
   * Turns ghost text on with `ask(id, prefix, suffix)` (send request `id`) and `cancel(id)`
   * (it is not wanted any more), or off with `null`.
   */
  setCompleter(ask, cancel) {
    if (!ask) {
      completers.delete(this.model);
      return;
    }
    registerInline();
    completers.set(this.model, { ask, cancel, editor: this.editor });
  }

  /**
   * The AI code actions in the context menu, the command palette (F1) and Ctrl+.; each calls
   * `handler(name)`.
   */
  setActions(handler) {
    registerCodeActions();
    actionHandlers.set(this.model, { editor: this.editor });
    for (const [i, [id, label]] of AI_ACTIONS.entries()) {
      this.subs.push(
        this.editor.addAction({
          id: "tandem.ai." + id,
          label,
          contextMenuGroupId: "1_tandem_ai",
          // The menu keeps this list's order (Monaco would sort by label).
          contextMenuOrder: i + 1,
          run: () => handler(id),
        }),
      );
    }
  }

  /**
   * Draws AI suggestions: `[{id, from, to, fresh, state, header, lines: [[op, text]]}]` with
   * UTF-16 offsets of the lines they replace. The replaced lines are tinted (removed ones
   * struck through) and the new text shows in a zone under them. Everything a person wrote
   * (names, code) is set as text, never as markup. Redrawn only when something shown changed.
   */
  setSuggestions(json) {
    const list = JSON.parse(json);
    const m = this.model;
    const shown = list.map((s) => {
      const first = m.getPositionAt(s.from).lineNumber;
      const last = m.getPositionAt(s.to).lineNumber;
      return { ...s, first, last };
    });
    const key = JSON.stringify(shown.map((s) => [s.id, s.first, s.last, s.fresh, s.state, s.lines.length]));
    if (key === this.suggestionKey) return;
    this.suggestionKey = key;
    if (!this.suggestionDecorations) this.suggestionDecorations = this.editor.createDecorationsCollection();
    const decorations = [];
    const lineHeight = this.editor.getOption(monaco.editor.EditorOption.lineHeight);
    const font = this.editor.getOption(monaco.editor.EditorOption.fontInfo);
    this.editor.changeViewZones((zones) => {
      for (const id of this.suggestionZones || []) zones.removeZone(id);
      this.suggestionZones = [];
      for (const s of shown) {
        const live = s.state === "open" && s.fresh;
        // Lines of the old text the suggestion removes, tinted in place.
        let line = s.first;
        for (const [op] of s.lines) {
          if (op === "+") continue;
          if (op === "-" && live) {
            decorations.push({
              range: new monaco.Range(line, 1, line, 1),
              options: { isWholeLine: true, className: "tandem-suggest-removed" },
            });
          }
          line += 1;
        }
        if (live || s.state === "writing") {
          decorations.push({
            range: new monaco.Range(s.first, 1, s.last, 1),
            options: { isWholeLine: true, linesDecorationsClassName: "tandem-suggest-gutter" },
          });
        }
        const node = document.createElement("div");
        node.className = "tandem-suggest-zone" + (live ? "" : " inactive");
        node.dataset.test = "suggestion-zone";
        node.dataset.id = String(s.id);
        node.dataset.state = s.state;
        node.style.fontFamily = font.fontFamily;
        node.style.fontSize = font.fontSize + "px";
        node.style.lineHeight = lineHeight + "px";
        const head = document.createElement("div");
        head.className = "tandem-suggest-head";
        const status = s.state === "writing" ? " — writing…" : !live ? " — no longer applies" : "";
        head.textContent = s.header + status;
        node.appendChild(head);
        let rows = 1;
        if (live) {
          const added = s.lines.filter(([op]) => op !== "-");
          for (const [op, text] of added.slice(0, SUGGESTION_LINES_SHOWN)) {
            const row = document.createElement("div");
            row.className = op === "+" ? "tandem-suggest-line added" : "tandem-suggest-line";
            row.textContent = text === "" ? "\u00a0" : text;
            node.appendChild(row);
            rows += 1;
          }
          if (added.length > SUGGESTION_LINES_SHOWN) {
            const more = document.createElement("div");
            more.className = "tandem-suggest-head";
            more.textContent = `… ${added.length - SUGGESTION_LINES_SHOWN} more lines`;
            node.appendChild(more);
            rows += 1;
          }
        }
        this.suggestionZones.push(
          zones.addZone({ afterLineNumber: s.last, heightInPx: rows * lineHeight + 6, domNode: node }),
        );
      }
    });
    this.suggestionDecorations.set(decorations);
  }

  setReadOnly(readOnly) {
    this.editor.updateOptions({ readOnly });
  }

  focus() {
    this.editor.focus();
  }

  dispose() {
    completers.delete(this.model);
    actionHandlers.delete(this.model);
    for (const s of this.subs) s.dispose();
    clearTimeout(this.labelTimer);
    for (const w of this.widgets.values()) this.editor.removeContentWidget(w);
    this.widgets.clear();
    this.editor.dispose();
    this.model.dispose();
  }
}

/** `text` shown literally by Monaco's markdown hover (names may hold `*`, `[`, `<`, …). */
/**
 * A read-only side-by-side diff for a file's history: a version on the left, what it is
 * compared with on the right. The left side keeps its selection so "restore the selected
 * lines" can ask for it.
 */
export class TandemDiff {
  constructor(el, language) {
    this.el = el;
    this.language = language;
    this.diff = null;
    this.models = [];
  }

  /** Shows `original` against `modified`; resolves once drawn. */
  async show(original, modified) {
    await loadMonaco("/monaco/vs");
    if (!this.diff) {
      const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
      this.diff = monaco.editor.createDiffEditor(this.el, {
        readOnly: true,
        originalEditable: false,
        automaticLayout: true,
        theme: dark ? "vs-dark" : "vs",
        minimap: { enabled: false },
        fontSize: 13,
        scrollBeyondLastLine: false,
        renderSideBySide: this.el.clientWidth > 700,
      });
    }
    const old = this.models;
    this.models = [
      monaco.editor.createModel(original, this.language),
      monaco.editor.createModel(modified, this.language),
    ];
    this.diff.setModel({ original: this.models[0], modified: this.models[1] });
    for (const m of old) m.dispose();
  }

  /** `[from, to]` (1-based lines) selected on the left or right side, or "" for none. */
  selectedLines(left) {
    if (!this.diff) return "";
    const side = left ? this.diff.getOriginalEditor() : this.diff.getModifiedEditor();
    const s = side.getSelection();
    if (!s || s.isEmpty()) return "";
    // A selection ending at column 1 does not take that line.
    const to = s.endColumn === 1 && s.endLineNumber > s.startLineNumber ? s.endLineNumber - 1 : s.endLineNumber;
    return JSON.stringify([s.startLineNumber, to]);
  }

  dispose() {
    if (this.diff) this.diff.dispose();
    for (const m of this.models) m.dispose();
    this.diff = null;
    this.models = [];
  }
}

function escapeMarkdown(text) {
  return String(text).replace(/[\\`*_{}\[\]()#+\-.!|<>&~]/g, "\\$&");
}

/** Monaco's language id for a code fence's language (`rust`, `js`, `py`, `sh`, …). */
function fenceLanguage(name) {
  const n = name.toLowerCase();
  for (const l of monaco.languages.getLanguages()) {
    if (l.id === n) return l.id;
    if ((l.aliases || []).some((a) => a.toLowerCase() === n)) return l.id;
    if ((l.extensions || []).includes("." + n)) return l.id;
  }
  return null;
}

/**
 * Decorates the code blocks of a rendered chat message: Copy and Insert buttons (built with
 * the DOM API, never from markup) and Monaco's syntax colouring. The message HTML itself was
 * sanitised on the server; `colorize` escapes the code it colours.
 */
export function decorateCode(root, canInsert) {
  for (const pre of root.querySelectorAll("pre")) {
    if (pre.dataset.decorated) continue;
    pre.dataset.decorated = "1";
    const code = pre.querySelector("code");
    if (!code) continue;
    const source = code.textContent;
    // Colouring replaces newlines with <br>: keep the text for Copy and Insert.
    pre.tandemSource = source;
    const bar = document.createElement("div");
    bar.className = "code-actions";
    const actions = [["copy", "Copy"]];
    if (canInsert) actions.push(["insert", "Insert into editor"]);
    for (const [action, label] of actions) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link small";
      b.dataset.codeAction = action;
      b.textContent = label;
      bar.appendChild(b);
    }
    pre.after(bar);
    const lang = (code.className.match(/language-([\w+#.-]+)/) || [])[1];
    if (!lang) continue;
    loadMonaco("/monaco/vs")
      .then(() => {
        const id = fenceLanguage(lang);
        return id ? monaco.editor.colorize(source, id, { tabSize: 4 }) : null;
      })
      .then((html) => {
        if (html != null) {
          code.innerHTML = html;
          code.classList.add("colorized");
        }
      })
      .catch(() => {});
  }
}

/** The code of the block a Copy/Insert button belongs to. */
export function codeOfButton(button) {
  const bar = button.closest(".code-actions");
  const pre = bar && bar.previousElementSibling;
  if (!pre) return null;
  return pre.tandemSource != null ? pre.tandemSource : pre.textContent;
}

/** Copies `text` to the clipboard; resolves to false when the browser refuses. */
export function copyText(text) {
  if (!navigator.clipboard) return Promise.resolve(false);
  return navigator.clipboard.writeText(text).then(
    () => true,
    () => false,
  );
}
