//! Content search over the project, and quick open (Ctrl+P).

use leptos::{ev, prelude::*, task::spawn_local};

use super::Files;
use crate::files::{SearchQuery, SearchResults, fuzzy, search_files};
use crate::{browser::on_window, editor::Reveal, types::FileId};

/// Content search over the project, results grouped by file.
#[component]
pub(super) fn SearchPanel(files: Files) -> AnyView {
    let view = {
        let text = RwSignal::new(String::new());
        let regex = RwSignal::new(false);
        let case = RwSignal::new(false);
        let results = RwSignal::new(None::<Result<SearchResults, String>>);
        let busy = RwSignal::new(false);
        let run = move || {
            let query = SearchQuery {
                text: text.get_untracked(),
                regex: regex.get_untracked(),
                case_sensitive: case.get_untracked(),
            };
            if query.text.is_empty() {
                results.set(None);
                return;
            }
            busy.set(true);
            let project = files.project;
            spawn_local(async move {
                let r = search_files(project, query)
                    .await
                    .map_err(|e| e.to_string());
                results.set(Some(r));
                busy.set(false);
            });
        };
        view! {
            <form class="search-form" data-test="search-form" on:submit=move |ev| { ev.prevent_default(); run(); }>
                <input type="search" placeholder="Search in files (Enter)" aria-label="Search in files" autofocus
                    data-test="search-input" prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))/>
                <label class="toggle" title="Regular expression">
                    <input type="checkbox" data-test="search-regex" prop:checked=move || regex.get()
                        on:change=move |ev| { regex.set(event_target_checked(&ev)); run(); }/>".*"
                </label>
                <label class="toggle" title="Match case">
                    <input type="checkbox" data-test="search-case" prop:checked=move || case.get()
                        on:change=move |ev| { case.set(event_target_checked(&ev)); run(); }/>"Aa"
                </label>
            </form>
            {move || busy.get().then(|| view! { <p class="muted small">"Searching…"</p> })}
            {move || results.get().map(|r| match r {
                Err(e) => view! { <p class="field-error" role="alert" data-test="search-error">{e}</p> }.into_any(),
                Ok(r) => {
                    let hits: usize = r.files.iter().map(|f| f.hits.len()).sum();
                    let summary = format!(
                        "{hits} result{} in {} file{}{}{}",
                        if hits == 1 { "" } else { "s" },
                        r.files.len(),
                        if r.files.len() == 1 { "" } else { "s" },
                        if r.truncated { " (more not shown)" } else { "" },
                        if r.timed_out { " (search stopped early: time limit)" } else { "" },
                    );
                    view! {
                        <p class="muted small" data-test="search-summary">{summary}</p>
                        <ul class="search-results" data-test="search-results">
                            {r.files.into_iter().map(|f| {
                                let file = f.file;
                                view! {
                                    <li class="search-file" data-test="search-file" data-path=f.path.clone()>
                                        <div class="search-path">{f.path.clone()}</div>
                                        <ul>
                                            {f.hits.into_iter().map(|h| {
                                                let reveal = Reveal { line: h.line, column: h.column, end_column: h.end_column };
                                                view! {
                                                    <li><button type="button" class="search-hit" data-test="search-hit" data-line=h.line
                                                        on:click=move |_| files.open_at(file, reveal)>
                                                        <span class="line-no">{h.line}</span>
                                                        <span class="preview">{h.preview.clone()}</span>
                                                    </button></li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            })}
        }
    };
    view.into_any()
}

/// Ctrl+P / Cmd+P: open a file by fuzzy name.
#[component]
pub fn QuickOpen(files: Files) -> AnyView {
    let view = {
        let open = RwSignal::new(false);
        let query = RwSignal::new(String::new());
        let cursor = RwSignal::new(0usize);
        on_window(ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key())
                && !ev.shift_key()
                && ev.key().eq_ignore_ascii_case("p")
            {
                ev.prevent_default();
                query.set(String::new());
                cursor.set(0);
                open.set(true);
            }
        });
        let found = Memo::new(move |_| {
            if !open.get() {
                return Vec::new();
            }
            let q = query.get();
            let all = files.tree.with(|t| t.files());
            fuzzy::rank(&q, all.iter().map(|(id, p)| (*id, p.as_str())), 50)
                .into_iter()
                .filter_map(|(id, m)| {
                    let path = all.iter().find(|(i, _)| *i == id)?.1.clone();
                    Some((id, path, m.positions))
                })
                .collect::<Vec<_>>()
        });
        let choose = move |id: FileId| {
            open.set(false);
            files.open(id);
        };
        move || {
            open.get().then(|| view! {
        <div class="quick-open-backdrop" on:click=move |_| open.set(false)>
            <div class="quick-open" role="dialog" aria-label="Open file" data-test="quick-open"
                on:click=|ev| ev.stop_propagation()>
                <input type="text" autofocus placeholder="Type a file name" aria-label="File name"
                    data-test="quick-open-input" prop:value=move || query.get()
                    on:input=move |ev| { query.set(event_target_value(&ev)); cursor.set(0); }
                    on:keydown=move |ev| match ev.key().as_str() {
                        "Escape" => open.set(false),
                        "ArrowDown" => { ev.prevent_default(); cursor.update(|c| *c = (*c + 1).min(found.with(Vec::len).saturating_sub(1))); }
                        "ArrowUp" => { ev.prevent_default(); cursor.update(|c| *c = c.saturating_sub(1)); }
                        "Enter" => {
                            if let Some(id) = found.with(|f| f.get(cursor.get_untracked()).map(|x| x.0)) {
                                choose(id);
                            }
                        }
                        _ => {}
                    }/>
                <ul class="quick-open-list">
                    {move || found.get().into_iter().enumerate().map(|(i, (id, path, hits))| {
                        let chars = path.chars().enumerate().map(|(n, c)| {
                            if hits.contains(&n) { view! { <b>{c.to_string()}</b> }.into_any() } else { c.to_string().into_any() }
                        }).collect_view();
                        view! {
                            <li><button type="button" class:selected=move || cursor.get() == i data-test="quick-open-item"
                                data-path=path.clone() on:click=move |_| choose(id)>{chars}</button></li>
                        }
                    }).collect_view()}
                    {move || (found.with(Vec::is_empty)).then(|| view! { <li class="muted">"No matching files"</li> })}
                </ul>
            </div>
        </div>
    })
        }
    };
    view.into_any()
}
