//! The browser's side of shared suggestions: the project's undecided suggestions (kept live by
//! project events), and the bar over an editor that lists the ones for its file with Accept
//! and Reject. The editor itself draws each suggestion over its lines (see the session).

use std::collections::HashMap;

use leptos::{prelude::*, task::spawn_local};

#[cfg(feature = "browser")]
use super::list_suggestions;
use super::{
    CodeAction, SuggestRequest, Suggestion, SuggestionId, SuggestionState, accept_suggestion,
    reject_suggestion, release_suggestion, suggest,
};
use crate::{
    error::AppError,
    live::events::ServerEvent,
    types::{DocId, ProjectId},
};

/// A code action the person picked in an editor, with the lines it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    pub first_line: u32,
    pub last_line: u32,
}

/// The project's undecided suggestions, for every editor of the tab.
#[derive(Clone, Copy)]
pub struct Suggestions {
    project: ProjectId,
    all: RwSignal<Vec<Suggestion>>,
    /// The last thing that went wrong, per document (shown in that editor's bar).
    errors: RwSignal<HashMap<DocId, String>>,
}

impl Suggestions {
    pub fn new(project: ProjectId) -> Self {
        let s = Self {
            project,
            all: RwSignal::new(Vec::new()),
            errors: RwSignal::new(HashMap::new()),
        };
        s.load();
        s
    }

    /// (Re)reads the list: on start and when the tab missed project events.
    pub fn load(&self) {
        #[cfg(feature = "browser")]
        {
            let this = *self;
            spawn_local(async move {
                if let Ok(list) = list_suggestions(this.project).await {
                    this.all.set(list);
                }
            });
        }
    }

    pub fn on_event(&self, event: ServerEvent) {
        match event {
            ServerEvent::Suggestion { suggestion } => self.upsert(*suggestion),
            ServerEvent::Resync => self.load(),
            _ => {}
        }
    }

    fn upsert(&self, s: Suggestion) {
        self.all.update(|all| {
            all.retain(|o| o.id != s.id);
            if s.state.is_live() {
                all.push(s);
                all.sort_by_key(|s| s.id);
            }
        });
    }

    /// The undecided suggestions for one document (tracked).
    pub fn for_doc(&self, doc: DocId) -> Vec<Suggestion> {
        self.all
            .with(|all| all.iter().filter(|s| s.doc == doc).cloned().collect())
    }

    fn fail(&self, doc: DocId, e: AppError) {
        self.tell(doc, e.to_string());
    }

    /// Shows `message` in the bar over `doc`'s editor (until the next action there).
    pub fn tell(&self, doc: DocId, message: String) {
        self.errors.update(|m| {
            m.insert(doc, message);
        });
    }

    fn clear_error(&self, doc: DocId) {
        self.errors.update(|m| {
            m.remove(&doc);
        });
    }

    /// Asks the assistant for a change to the pinned lines of `doc`.
    pub fn ask(
        &self,
        doc: DocId,
        file: crate::types::FileId,
        action: CodeAction,
        pin: Pinned,
        instruction: Option<String>,
    ) {
        self.send(
            doc,
            SuggestRequest {
                file,
                action,
                instruction,
                start: pin.start,
                end: pin.end,
                output: None,
                lines: None,
            },
        );
    }

    /// Asks for a fix of `lines` of `doc` (pinned by the server) from a failed run's output.
    pub fn fix_run(
        &self,
        doc: DocId,
        file: crate::types::FileId,
        lines: (u32, u32),
        output: String,
    ) {
        self.send(
            doc,
            SuggestRequest {
                file,
                action: CodeAction::Fix,
                instruction: None,
                start: Vec::new(),
                end: Vec::new(),
                output: Some(output),
                lines: Some(lines),
            },
        );
    }

    fn send(&self, doc: DocId, request: SuggestRequest) {
        let this = *self;
        this.clear_error(doc);
        spawn_local(async move {
            match suggest(this.project, request).await {
                Ok(s) => this.upsert(s),
                Err(e) => this.fail(doc, e),
            }
        });
    }

    /// Claims `s` and, once the server agrees, applies it with `apply` (false: its lines
    /// changed in this tab meanwhile, and the claim is given back as stale).
    fn accept(&self, s: Suggestion, apply: Callback<Suggestion, bool>) {
        let this = *self;
        this.clear_error(s.doc);
        spawn_local(async move {
            match accept_suggestion(this.project, s.id).await {
                Ok(claimed) => {
                    if apply.run(claimed.clone()) {
                        this.upsert(claimed);
                    } else if let Ok(stale) = release_suggestion(this.project, s.id).await {
                        this.upsert(stale);
                    }
                }
                Err(e) => this.fail(s.doc, e),
            }
        });
    }

    fn reject(&self, s: &Suggestion) {
        let (this, id, doc) = (*self, s.id, s.doc);
        this.clear_error(doc);
        spawn_local(async move {
            match reject_suggestion(this.project, id).await {
                Ok(s) => this.upsert(s),
                Err(e) => this.fail(doc, e),
            }
        });
    }
}

/// What the bar says about a suggestion besides who asked.
fn note(s: &Suggestion, fresh: Option<bool>) -> Option<String> {
    match s.state {
        SuggestionState::Writing => Some("The assistant is writing…".into()),
        SuggestionState::Open if fresh == Some(false) => {
            Some("These lines changed since; it no longer applies.".into())
        }
        SuggestionState::Open => None,
        SuggestionState::Stale => {
            Some("The lines changed before it was accepted; it no longer applies.".into())
        }
        SuggestionState::Failed => Some(
            s.error
                .clone()
                .unwrap_or_else(|| "The assistant could not answer.".into()),
        ),
        SuggestionState::Accepted | SuggestionState::Rejected => None,
    }
}

fn lines_label(s: &Suggestion) -> String {
    if s.first_line == s.last_line {
        format!("line {}", s.first_line)
    } else {
        format!("lines {}–{}", s.first_line, s.last_line)
    }
}

/// Over an editor: its file's suggestions, each with who asked, for which lines, and Accept /
/// Reject for editors; and the form a Refactor… asks its question in.
#[component]
pub fn SuggestionBar(
    suggestions: Suggestions,
    doc: DocId,
    file: crate::types::FileId,
    /// Whether this person may edit (viewers see suggestions but cannot decide).
    #[prop(into)]
    writable: Signal<bool>,
    /// Per suggestion: whether its lines in this tab still hold what it replaces.
    #[prop(into)]
    fresh: Signal<HashMap<SuggestionId, bool>>,
    /// Applies a claimed suggestion in this tab (false: it no longer fits).
    apply: Callback<Suggestion, bool>,
    /// A Refactor… waiting for its instruction.
    refactor: RwSignal<Option<Pinned>>,
) -> impl IntoView {
    let list = Memo::new(move |_| suggestions.for_doc(doc));
    let instruction = RwSignal::new(String::new());
    let send_refactor = move || {
        let text = instruction.get_untracked().trim().to_owned();
        if text.is_empty() {
            return;
        }
        if let Some(pin) = refactor.get_untracked() {
            suggestions.ask(doc, file, CodeAction::Refactor, pin, Some(text));
            refactor.set(None);
            instruction.set(String::new());
        }
    };
    let item = move |s: Suggestion| {
        let id = s.id;
        let is_fresh = move || fresh.with(|f| f.get(&id).copied());
        let header = format!("{} asked the assistant {}", s.author_name, s.action.asked());
        let lines = format!(" · {}", lines_label(&s));
        let state = s.state;
        let (for_accept, for_reject) = (s.clone(), s.clone());
        let instruction = s.instruction.clone();
        let note_of = s.clone();
        view! {
            <li class="suggestion" data-test="suggestion" data-id=id.0 data-state=state.as_str()>
                <span class="suggestion-head" data-test="suggestion-head">
                    {header}<span class="nowrap">{lines}</span>
                </span>
                {instruction.map(|i| view! { <q class="suggestion-ask">{i}</q> })}
                {move || note(&note_of, is_fresh()).map(|n| view! {
                    <span class="muted small" data-test="suggestion-note">{n}</span>
                })}
                <span class="spacer"></span>
                {move || (writable.get() && state == SuggestionState::Open && is_fresh() != Some(false)).then(|| {
                    let s = for_accept.clone();
                    view! {
                        <button type="button" class="primary small" data-test="suggestion-accept"
                            title="Apply it as your edit (Ctrl+Z undoes it)"
                            on:click=move |_| suggestions.accept(s.clone(), apply)>"Accept"</button>
                    }
                })}
                {move || writable.get().then(|| {
                    let s = for_reject.clone();
                    let label = if state == SuggestionState::Open && is_fresh() != Some(false) { "Reject" } else { "Dismiss" };
                    view! {
                        <button type="button" class="small" data-test="suggestion-reject"
                            on:click=move |_| suggestions.reject(&s)>{label}</button>
                    }
                })}
            </li>
        }
    };
    view! {
        {move || refactor.get().map(|pin| view! {
            <form class="suggestion-ask-form" data-test="refactor-form"
                on:submit=move |ev| { ev.prevent_default(); send_refactor(); }>
                <label>
                    {format!("How should the assistant change {}?", if pin.first_line == pin.last_line {
                        format!("line {}", pin.first_line)
                    } else {
                        format!("lines {}–{}", pin.first_line, pin.last_line)
                    })}
                    <input type="text" data-test="refactor-input" maxlength=super::MAX_INSTRUCTION_CHARS
                        placeholder="e.g. use an iterator instead of the loop" autofocus
                        prop:value=move || instruction.get()
                        on:input=move |ev| instruction.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="primary small" data-test="refactor-send">"Ask"</button>
                <button type="button" class="small" on:click=move |_| refactor.set(None)>"Cancel"</button>
            </form>
        })}
        {move || suggestions.errors.with(|m| m.get(&doc).cloned()).map(|e| view! {
            <div class="error small" role="alert" data-test="suggestion-error">{e}</div>
        })}
        <ul class="suggestions" data-test="suggestions">
            <For each=move || list.get() key=|s| (s.id, s.state) children=item/>
        </ul>
    }
}
