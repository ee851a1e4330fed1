//! The Run panel: picker, Run / Stop / Restart, the live output (ANSI colours, clickable
//! `file:line`), the shared input line and the history. Output is text in spans; nothing a
//! program prints becomes markup.

use std::collections::HashMap;

use leptos::{ev, prelude::*};

use super::RunState;
use crate::{
    browser::{now_ms, on_window},
    editor::Reveal,
    runs::{
        links::{Piece, link},
        model::{Block, LogFilter, Output, filtered_lines},
    },
    terminals::{TermState, TerminalView, view::TerminalTabs},
    types::{
        FileId, Role,
        runs::{ConfigSource, RunInfo, Stream},
    },
};

/// `fix`: what Fix with AI does with a failed run's error place (file, line) and the end of
/// its output (the IDE turns it into a shared suggestion).
#[component]
pub fn RunPanel(runs: RunState, terms: TermState, fix: Callback<(FileId, u32, String)>) -> AnyView {
    // Ctrl+Enter or F5 runs (F5 would reload the page otherwise).
    on_window(ev::keydown, move |e: ev::KeyboardEvent| {
        let run_key = e.key() == "F5" || (e.key() == "Enter" && (e.ctrl_key() || e.meta_key()));
        // Keys typed into a terminal belong to the shell.
        let in_terminal = e
            .target()
            .and_then(|t| leptos::wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .and_then(|el| el.closest(".xterm").ok().flatten())
            .is_some();
        if run_key && runs.can_run() && !in_terminal {
            e.prevent_default();
            runs.start(false);
        }
    });
    // The elapsed time of a running run, once a second.
    let now = RwSignal::new(now_ms());
    Effect::new(move |_| {
        if let Ok(h) =
            set_interval_with_handle(move || now.set(now_ms()), std::time::Duration::from_secs(1))
        {
            on_cleanup(move || h.clear());
        }
    });
    let show_history = RwSignal::new(false);
    // A memo: the view is rebuilt when another terminal is chosen, not when the same one is.
    let selected = Memo::new(move |_| terms.selected.get());
    view! {
        <section class="run-panel" class:open=move || runs.open.get() class:term-open=move || selected.get().is_some()
            aria-label="Run" data-test="run-panel">
            <RunBar runs=runs terms=terms now=now show_history=show_history fix=fix/>
            {move || runs.error.get().or_else(|| terms.error.get()).map(|e| view! {
                <p class="run-error" role="alert" data-test="run-error">{e}
                    <button type="button" class="link" on:click=move |_| { runs.error.set(None); terms.error.set(None); }>"Dismiss"</button></p>
            })}
            {move || {
                let c = runs.configs.get();
                c.disabled.map(|why| view! { <p class="run-note" data-test="run-disabled">{format!("Run is disabled on this server: {why}")}</p> })
                    .into_iter()
                    .chain(c.problems.into_iter().map(|p| view! { <p class="run-note" data-test="run-problem">{p}</p> }))
                    .collect_view()
            }}
            <div class="run-body" hidden=move || !runs.open.get()>
                <PanelTabs runs=runs terms=terms/>
                {move || match (show_history.get(), selected.get()) {
                    (true, _) => view! { <History runs=runs show=show_history/> }.into_any(),
                    (false, Some(id)) => view! { <TerminalView terms=terms id=id/> }.into_any(),
                    (false, None) => view! { <OutputArea runs=runs/> }.into_any(),
                }}
            </div>
        </section>
    }
    // Erased: the IDE shell's view type is deep enough already.
    .into_any()
}

/// A start time as the browser's locale writes it.
fn when(ms: i64) -> String {
    #[cfg(feature = "browser")]
    {
        js_sys::Date::new(&leptos::wasm_bindgen::JsValue::from_f64(ms as f64))
            .to_locale_string("default", &leptos::wasm_bindgen::JsValue::UNDEFINED)
            .into()
    }
    #[cfg(not(feature = "browser"))]
    {
        ms.to_string()
    }
}

/// "name · started by ada · 3 s" or the outcome once it ended.
fn status(run: &RunInfo, now: f64) -> String {
    let state = if run.running() {
        let secs = ((now as i64 - run.started_at).max(0)) / 1000;
        format!("running {secs} s")
    } else {
        run.outcome()
    };
    let env = run
        .environment
        .as_ref()
        .map(|e| format!(" in {e}"))
        .unwrap_or_default();
    format!(
        "{}{env} · started by {} · {state}",
        run.name, run.started_by_name
    )
}

#[component]
fn RunBar(
    runs: RunState,
    terms: TermState,
    now: RwSignal<f64>,
    show_history: RwSignal<bool>,
    fix: Callback<(FileId, u32, String)>,
) -> impl IntoView {
    let running = move || runs.selected_run().is_some_and(|r| r.running());
    let picker = move || {
        let c = runs.configs.get();
        let choice = runs.choice.get();
        c.configs
            .iter()
            .map(|cfg| {
                let label = match cfg.source {
                    ConfigSource::File => cfg.name.clone(),
                    ConfigSource::Detected => format!("{} (detected)", cfg.name),
                };
                let selected = Some(&cfg.name) == choice.as_ref();
                view! { <option value=cfg.name.clone() selected=selected>{label}</option> }
            })
            .collect_view()
    };
    // What will run, shown before it runs.
    let command = move || {
        let c = runs.configs.get();
        let choice = runs.choice.get();
        c.configs
            .iter()
            .find(|x| Some(&x.name) == choice.as_ref())
            .or(c.configs.first())
            .map(|x| format!("$ {}", x.command))
            .unwrap_or_else(|| {
                "Nothing to run: open a file, or add a [[run]] to tandem.toml".into()
            })
    };
    view! {
        <div class="run-bar">
            <button type="button" class="link run-toggle" aria-expanded=move || runs.open.get().to_string()
                data-test="run-toggle" on:click=move |_| runs.open.update(|o| *o = !*o)>"Run"</button>
            <select aria-label="Run configuration" data-test="run-picker"
                on:change=move |e| runs.choice.set(Some(event_target_value(&e)))>{picker}</select>
            {move || (!runs.environments().is_empty()).then(|| view! {
                <crate::projects::envs::EnvPicker names=Signal::derive(move || runs.environments()) value=runs.env/>
            })}
            <button type="button" class="primary" data-test="run-button" title="Run (Ctrl+Enter, F5)"
                disabled=move || !runs.can_run() || runs.busy.get()
                on:click=move |_| runs.start(false)>"▶ Run"</button>
            <button type="button" data-test="run-stop" disabled=move || !runs.can_run() || !running()
                on:click=move |_| runs.stop()>"■ Stop"</button>
            <button type="button" data-test="run-restart" disabled=move || !runs.can_run() || !running()
                on:click=move |_| runs.start(true)>"↻ Restart"</button>
            {move || (runs.can_run() && runs.failed()).then(|| view! {
                <button type="button" data-test="run-fix"
                    title="Ask the assistant to fix the lines the error points at; everyone sees the suggestion"
                    on:click=move |_| if let Some(failure) = runs.failure() { fix.run(failure) }>"✦ Fix with AI"</button>
            })}
            <code class="run-command" data-test="run-command">{command}</code>
            <span class="spacer"></span>
            <span class="run-status" data-test="run-status" role="status">
                {move || runs.selected_run().map(|r| status(&r, now.get()))}
            </span>
            {move || (runs.role.get() == Role::Owner).then(|| view! {
                <label class="run-network" title="Let runs of this project use the network">
                    <input type="checkbox" data-test="run-network" prop:checked=move || runs.configs.get().network
                        on:change=move |e| runs.set_network(event_target_checked(&e))/>" Network"
                </label>
            })}
            <button type="button" data-test="terminal-new" title="A shell on the server, in the project's sandbox; everyone sees it"
                disabled=move || !terms.can_open()
                on:click=move |_| { show_history.set(false); runs.open.set(true); terms.open(runs.environment()); }>"⌨ New terminal"</button>
            <button type="button" class="link" data-test="run-history-toggle" aria-pressed=move || show_history.get().to_string()
                on:click=move |_| {
                    let on = !show_history.get_untracked();
                    show_history.set(on);
                    runs.open.set(true);
                    if on { runs.load_history(); }
                }>"History"</button>
        </div>
    }
}

#[component]
fn OutputArea(runs: RunState) -> impl IntoView {
    let running = move || runs.selected_run().is_some_and(|r| r.running());
    let input = NodeRef::<leptos::html::Input>::new();
    let on_send = move |e: ev::SubmitEvent| {
        e.prevent_default();
        if let Some(el) = input.get() {
            let line = el.value();
            el.set_value("");
            runs.send_stdin(line);
        }
    };
    view! {
        {move || match runs.record.get() {
            Some((r, out)) => view! {
                <p class="run-note">{format!("{} · {} · started by {}", r.run.name, r.run.outcome(), r.run.started_by_name)}
                    <button type="button" class="link" on:click=move |_| runs.record.set(None)>"Back to the live output"</button></p>
                <Blocks runs=runs output=Signal::derive(move || out.clone()) cwd=String::new()/>
            }.into_any(),
            None => {
                let output = Signal::derive(move || {
                    runs.selected.get().and_then(|id| runs.outputs.with(|o| o.get(&id).cloned())).unwrap_or_default()
                });
                view! { <Blocks runs=runs output=output cwd=String::new()/> }.into_any()
            }
        }}
        {move || running().then(|| {
            let samples = Signal::derive(move || {
                runs.selected.get().and_then(|id| runs.stats.with(|st| st.get(&id).cloned())).unwrap_or_default()
            });
            view! { <super::usage::UsageGraph samples/> }
        })}
        {move || (running() && runs.can_run()).then(|| view! {
            <form class="run-stdin" on:submit=on_send>
                <input node_ref=input type="text" maxlength="8192" autocomplete="off" data-test="run-stdin"
                    placeholder="Input to the program (Enter sends it, everyone sees it)"/>
            </form>
        })}
    }
}

/// Run and terminal tabs, shown when there is more than one thing to choose from.
#[component]
fn PanelTabs(runs: RunState, terms: TermState) -> impl IntoView {
    let run_tabs = move || {
        runs.runs
            .get()
            .into_iter()
            .rev()
            .map(|r| {
                let id = r.id;
                view! {
                    <button type="button" class="run-tab" data-test="run-tab"
                        class:active=move || terms.selected.get().is_none() && runs.selected.get() == Some(id)
                        class:running=r.running()
                        on:click=move |_| { terms.selected.set(None); runs.selected.set(Some(id)); runs.record.set(None); }>
                        {r.name.clone()}</button>
                }
            })
            .collect_view()
    };
    let shown = move || runs.runs.with(Vec::len) > 1 || terms.terms.with(|t| !t.is_empty());
    view! {
        <div class="run-tabs" hidden=move || !shown()>
            {run_tabs}
            <TerminalTabs terms=terms/>
        </div>
    }
}

/// The output blocks; only new blocks render as output arrives.
#[component]
fn Blocks(runs: RunState, output: Signal<Output>, cwd: String) -> impl IntoView {
    let paths = Memo::new(move |_| {
        runs.files.tree.with(|t| {
            t.files()
                .into_iter()
                .map(|(id, p)| (p, id))
                .collect::<HashMap<String, FileId>>()
        })
    });
    let cwd = StoredValue::new(cwd);
    let open_at = move |file: FileId, line: u32, column: u32| {
        runs.files.open_at(
            file,
            Reveal {
                line,
                column,
                end_column: column,
            },
        );
    };
    let filter = RwSignal::new(LogFilter::default());
    let follow = RwSignal::new(true);
    let pre = NodeRef::<leptos::html::Pre>::new();
    // Following: every change of the output (or of the filter) scrolls to the end.
    Effect::new(move |_| {
        output.with(|o| o.received);
        filter.track();
        if follow.get() {
            // The frame may come after this output view was replaced (another run picked).
            request_animation_frame(move || {
                if let Some(Some(el)) = pre.try_get_untracked() {
                    el.set_scroll_top(el.scroll_height());
                }
            });
        }
    });
    // Scrolling up to read pauses; the button (or scrolling back to the end) follows again.
    let on_scroll = move |_| {
        if let Some(Some(el)) = pre.try_get_untracked() {
            let at_end = el.scroll_top() + el.client_height() >= el.scroll_height() - 24;
            if follow.try_get_untracked() != Some(at_end) {
                follow.try_set(at_end);
            }
        }
    };
    let toggle = move |set: fn(&mut LogFilter, bool)| {
        move |e: ev::Event| filter.update(|f| set(f, event_target_checked(&e)))
    };
    let filtered = move || {
        let f = filter.get();
        (!f.text.trim().is_empty()).then(|| {
            let (lines, total) = output.with(|o| filtered_lines(o, &f));
            let shown = lines.len();
            view! {
                <span class="sys" data-test="run-filter-count">{format!("{shown} of {total} lines match\n")}</span>
                {lines.into_iter().map(|(stream, line)| {
                    let class = match stream {
                        Stream::Stdout => "out",
                        Stream::Stderr => "err",
                        Stream::Stdin => "in",
                        Stream::System => "sys",
                    };
                    view! { <span class=class data-test="run-filtered-line">{line}"\n"</span> }
                }).collect_view()}
            }
        })
    };
    view! {
        <div class="run-filter" data-test="run-filter">
            <label><input type="checkbox" data-test="run-show-out" prop:checked=move || filter.with(|f| f.out)
                on:change=toggle(|f, on| f.out = on)/>" Output"</label>
            <label><input type="checkbox" data-test="run-show-err" prop:checked=move || filter.with(|f| f.err)
                on:change=toggle(|f, on| f.err = on)/>" Errors"</label>
            <label><input type="checkbox" data-test="run-show-in" prop:checked=move || filter.with(|f| f.input)
                on:change=toggle(|f, on| f.input = on)/>" Input"</label>
            <input type="search" placeholder="Filter lines" aria-label="Show only lines containing"
                data-test="run-filter-text" maxlength="200"
                prop:value=move || filter.with(|f| f.text.clone())
                on:input=move |e| filter.update(|f| f.text = event_target_value(&e))/>
            <button type="button" class="link" data-test="run-follow" aria-pressed=move || follow.get().to_string()
                on:click=move |_| follow.update(|f| *f = !*f)>
                {move || if follow.get() { "Pause" } else { "Follow" }}
            </button>
        </div>
        <pre class="run-output" data-test="run-output" node_ref=pre on:scroll=on_scroll
            class:hide-out=move || !filter.with(|f| f.out) class:hide-err=move || !filter.with(|f| f.err)
            class:hide-in=move || !filter.with(|f| f.input) class:filtering=move || filter.with(|f| !f.text.trim().is_empty())>
            {filtered}
            {move || output.with(|o| o.truncated).then(|| view! { <span class="run-truncated">"… earlier output not shown\n"</span> })}
            <For each=move || output.get().blocks key=|b: &Block| b.key let:block>
                {
                    let class = match block.stream {
                        Stream::Stdout => "out",
                        Stream::Stderr => "err",
                        Stream::Stdin => "in",
                        Stream::System => "sys",
                    };
                    let spans = block.spans.clone();
                    view! {
                        <span class=class>
                            {spans.iter().map(|s| {
                                let pieces = paths.with_untracked(|p| cwd.with_value(|c| link(&s.text, p, c)));
                                let style = s.style.classes();
                                view! { <span class=style>{pieces.into_iter().map(|piece| match piece {
                                    Piece::Text(t) => t.into_any(),
                                    Piece::Link { text, file, line, column } => view! {
                                        <a href="#" class="run-link" data-test="run-link"
                                            on:click=move |e| { e.prevent_default(); open_at(file, line, column); }>{text}</a>
                                    }.into_any(),
                                }).collect_view()}</span> }
                            }).collect_view()}
                        </span>
                    }
                }
            </For>
        </pre>
    }
}

#[component]
fn History(runs: RunState, show: RwSignal<bool>) -> impl IntoView {
    view! {
        <div class="run-history" data-test="run-history">
            {move || match runs.history.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(h) if h.is_empty() => view! { <p class="muted">"No runs yet."</p> }.into_any(),
                Some(h) => view! {
                    <ul>
                        {h.into_iter().map(|r| {
                            let id = r.id;
                            let when = when(r.started_at);
                            view! {
                                <li><button type="button" class="link run-record" data-test="run-record"
                                    on:click=move |_| { runs.show_record(id); show.set(false); }>
                                    <strong>{r.name.clone()}</strong>
                                    <span class="muted">{format!(" · {} · {} · {}", r.started_by_name, when, r.outcome())}</span>
                                </button></li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </div>
    }
}
