// The thin JavaScript side of Tandem's terminal view: load xterm.js (its ES module build,
// copied from npm into the site at build time; the UMD build would collide with Monaco's AMD
// loader), show one terminal, and pass keystrokes and the size that fits back to Rust, which
// owns the connection and decides the size every member shares.

let loading = null;

/** Loads xterm.js, its fit add-on and its stylesheet once per page from `base` ("/xterm"). */
export function loadXterm(base) {
  if (loading) return loading;
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "/xterm.css";
  document.head.appendChild(css);
  loading = Promise.all([import(base + "/xterm.mjs"), import(base + "/addon-fit.mjs")]).then(
    ([xterm, fit]) => {
      window.TandemXterm = { Terminal: xterm.Terminal, FitAddon: fit.FitAddon };
    },
  );
  return loading;
}

export class TandemTerminal {
  /**
   * `onData(text)` gets what the user types (only sent on when they may type);
   * `onFit(cols, rows)` gets the size that fits the element whenever it changes.
   */
  constructor(el, cols, rows, writable, onData, onFit) {
    const { Terminal, FitAddon } = window.TandemXterm;
    const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    this.term = new Terminal({
      cols,
      rows,
      disableStdin: !writable,
      cursorBlink: writable,
      scrollback: 5000,
      fontSize: 13,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      theme: dark ? { background: "#1e1e1e" } : { background: "#fbfbfb", foreground: "#222", cursor: "#222" },
      // Links and the like would need their own add-ons; output stays plain text.
      allowProposedApi: false,
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(el);
    this.el = el;
    this.sub = this.term.onData((d) => onData(d));
    this.lastFit = "";
    const report = () => {
      const d = this.fit.proposeDimensions();
      if (!d || !isFinite(d.cols) || !isFinite(d.rows)) return;
      const key = d.cols + "x" + d.rows;
      if (key === this.lastFit) return;
      this.lastFit = key;
      onFit(d.cols, d.rows);
    };
    this.observer = new ResizeObserver(() => report());
    this.observer.observe(el);
    report();
  }

  write(data) {
    this.term.write(data);
  }

  /** Clears the screen and scrollback (before a replay is written again). */
  reset() {
    this.term.reset();
  }

  resize(cols, rows) {
    if (this.term.cols !== cols || this.term.rows !== rows) this.term.resize(cols, rows);
  }

  setWritable(writable) {
    this.term.options.disableStdin = !writable;
    this.term.options.cursorBlink = writable;
  }

  focus() {
    this.term.focus();
  }

  /** What the screen shows, line by line (tests and the accessibility tree read it). */
  text() {
    const buf = this.term.buffer.active;
    const lines = [];
    for (let i = 0; i < buf.length; i++) {
      const line = buf.getLine(i);
      if (line) lines.push(line.translateToString(true));
    }
    return lines.join("\n");
  }

  dispose() {
    this.observer.disconnect();
    this.sub.dispose();
    this.term.dispose();
  }
}
