//! The settings page's AI section: the project's switches (owners change them; everyone sees
//! them, with what the server offers) and, for owners, what the project's AI use came to.

use leptos::prelude::*;

use super::{AiOverview, AiSwitches, USAGE_DAYS, UsageDay, grouped, project_ai, set_ai_switches};
use crate::{types::ProjectId, ui::SectionData};

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "chat" => "Assistant answers",
        "suggestion" => "Code actions",
        "completion" => "Inline completions",
        _ => "Other",
    }
}

/// Totals per kind over the rows.
fn totals(rows: &[UsageDay]) -> Vec<(String, i64, i64, i64, i64, i64)> {
    let mut out: Vec<(String, i64, i64, i64, i64, i64)> = Vec::new();
    for r in rows {
        match out.iter_mut().find(|t| t.0 == r.kind) {
            Some(t) => {
                t.1 += r.requests;
                t.2 += r.failures;
                t.3 += r.prompt_tokens;
                t.4 += r.completion_tokens;
                t.5 += r.latency_ms;
            }
            None => out.push((
                r.kind.clone(),
                r.requests,
                r.failures,
                r.prompt_tokens,
                r.completion_tokens,
                r.latency_ms,
            )),
        }
    }
    out
}

fn average_ms(total: i64, requests: i64) -> String {
    if requests == 0 {
        "–".into()
    } else {
        format!("{} ms", grouped(total / requests))
    }
}

/// What the AI section shows; the page makes it (see `SectionData`).
pub type AiData = SectionData<AiOverview>;

/// Loads the AI section's data for the route's project.
pub fn ai_data(project: impl Fn() -> Option<ProjectId> + Send + Sync + 'static) -> AiData {
    SectionData::new(project, project_ai)
}

#[component]
pub fn AiSection(project: ProjectId, is_owner: bool, loaded: AiData) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let data = loaded.data;
    let save = move |s: AiSwitches| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match set_ai_switches(project, s).await {
                Ok(_) => loaded.changed(),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let switches = move |o: &AiOverview| {
        let s = o.switches;
        let server_note = if !o.provider {
            Some("This server has no AI provider configured, so neither is available.")
        } else if !o.server_completions {
            Some("Inline completions are turned off for the whole server.")
        } else {
            None
        };
        view! {
            <fieldset class="ai-switches" data-test="ai-switches" disabled=!is_owner>
                <label>
                    <input type="checkbox" data-test="ai-completions-switch" prop:checked=s.completions
                        on:change=move |ev| save(AiSwitches { completions: event_target_checked(&ev), ..s })/>
                    " Inline completions (ghost text while typing)"
                </label>
                <label>
                    <input type="checkbox" data-test="ai-assistant-switch" prop:checked=s.assistant
                        on:change=move |ev| save(AiSwitches { assistant: event_target_checked(&ev), ..s })/>
                    " The assistant in the chat and the editor's code actions"
                </label>
            </fieldset>
            {server_note.map(|n| view! { <p class="muted small">{n}</p> })}
            {(!is_owner).then(|| view! { <p class="muted small">"Only owners change these."</p> })}
        }
    };
    let usage = |rows: Vec<UsageDay>| {
        if rows.is_empty() {
            return view! { <p class="muted" data-test="ai-usage-empty">{format!("No AI use in the last {USAGE_DAYS} days.")}</p> }.into_any();
        }
        let sums = totals(&rows);
        view! {
            <table class="ai-usage" data-test="ai-usage">
                <thead><tr><th>"Day"</th><th>"What"</th><th>"Requests"</th><th>"Failed"</th>
                    <th>"Tokens in"</th><th>"Tokens out"</th><th>"Average time"</th></tr></thead>
                <tbody>
                    {sums.into_iter().map(|(kind, req, fail, pin, pout, ms)| view! {
                        <tr class="total" data-test="ai-usage-total" data-kind=kind.clone()>
                            <td>{format!("{USAGE_DAYS} days")}</td><td>{kind_label(&kind)}</td>
                            <td data-test="ai-usage-requests">{grouped(req)}</td><td>{grouped(fail)}</td>
                            <td>{grouped(pin)}</td><td>{grouped(pout)}</td><td>{average_ms(ms, req)}</td>
                        </tr>
                    }).collect_view()}
                    {rows.into_iter().map(|r| view! {
                        <tr>
                            <td>{crate::audit::format_day(r.day)}</td><td>{kind_label(&r.kind)}</td>
                            <td>{grouped(r.requests)}</td><td>{grouped(r.failures)}</td>
                            <td>{grouped(r.prompt_tokens)}</td><td>{grouped(r.completion_tokens)}</td>
                            <td>{average_ms(r.latency_ms, r.requests)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p class="muted small">"Tokens as the provider reported them; for answers it streamed without a count, estimated at four characters a token."</p>
        }
        .into_any()
    };
    view! {
        <section class="card" data-test="ai-section">
            <h2>"AI"</h2>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(o) => view! {
                            {switches(&o)}
                            {o.usage.map(|rows| view! { <h3>"Use"</h3> {usage(rows)} })}
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="form-error" role="alert">{move || error.get()}</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_per_kind() {
        let day = |d, kind: &str, req| UsageDay {
            day: d,
            kind: kind.into(),
            requests: req,
            failures: 1,
            prompt_tokens: 10,
            completion_tokens: 2,
            latency_ms: 100 * req,
        };
        let t = totals(&[
            day(2, "chat", 3),
            day(1, "chat", 2),
            day(1, "completion", 5),
        ]);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0], ("chat".into(), 5, 2, 20, 4, 500));
        assert_eq!(average_ms(500, 5), "100 ms");
        assert_eq!(average_ms(0, 0), "–");
    }
}
