//! What the assistant is sent: instructions, the asker's file (a window of lines around the
//! cursor that fits the context budget), their selection, what was looked up in the project
//! for a question, and the recent chat. What was shown comes back as sources the answer links
//! to, and what did not fit as a sentence the reader sees.

use app::{
    chat::{AiSource, AiTask, SourceWhy},
    types::FileId,
};
use serde::{Deserialize, Serialize};

use crate::chat::lookup::{Lookup, Snippet};

/// One chat-completions message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptMessage {
    pub role: String,
    pub content: String,
}

impl PromptMessage {
    fn new(role: &str, content: String) -> Self {
        Self {
            role: role.to_owned(),
            content,
        }
    }
}

/// The asker's open file.
pub struct FileContext {
    pub file: FileId,
    pub path: String,
    /// Monaco's language id, used as the code fence's language.
    pub language: &'static str,
    pub text: String,
    /// 1-based cursor line.
    pub line: Option<u32>,
}

/// A recent chat message.
pub struct Recent {
    pub author: String,
    pub ai: bool,
    pub body: String,
}

const SYSTEM: &str = "You are the AI assistant inside Tandem, a collaborative code editor. \
Several people share this chat and see your answers. Answer concisely in Markdown. Put code in \
fenced code blocks with a language, so it can be inserted into the editor. When you use a \
project file shown to you, cite it as `path:line` in backticks (for example `src/main.rs:12`): \
citations become links that open the file there.";

/// Most characters of one earlier chat message passed along.
const RECENT_CHARS: usize = 1_000;

fn instruction(task: &AiTask) -> String {
    let target = "the selected code (or, with no selection, the code around the cursor)";
    match task {
        AiTask::Ask(q) => q.clone(),
        AiTask::Explain => format!(
            "Explain {target}: what it does, how it works, and anything surprising or risky."
        ),
        AiTask::Tests => format!(
            "Write unit tests for {target}, in the file's language and its usual test \
             framework. Cover the edge cases."
        ),
        AiTask::Doc => format!(
            "Write documentation comments for {target}, in the idiom of its language. Return \
             the code with the comments added."
        ),
        AiTask::Review => format!(
            "Review {target} for bugs, security problems, performance and readability. Be \
             specific: name the lines and suggest the fix."
        ),
    }
}

/// The lines around `line` (1-based) that fit in `budget` characters, growing alternately
/// below and above the cursor. Returns the first and last line numbers and the text.
pub fn window_around(text: &str, line: u32, budget: usize) -> (u32, u32, String) {
    let lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len();
    let cursor = (line.max(1) as usize - 1).min(n - 1);
    let cost = |i: usize| lines[i].chars().count() + 1;
    let (mut lo, mut hi) = (cursor, cursor);
    let mut used = cost(cursor);
    // The cursor's own line may be longer than the budget: cut it.
    if used > budget {
        let cut: String = lines[cursor].chars().take(budget).collect();
        return (cursor as u32 + 1, cursor as u32 + 1, cut);
    }
    loop {
        let mut grew = false;
        if hi + 1 < n && used + cost(hi + 1) <= budget {
            hi += 1;
            used += cost(hi);
            grew = true;
        }
        if lo > 0 && used + cost(lo - 1) <= budget {
            lo -= 1;
            used += cost(lo);
            grew = true;
        }
        if !grew {
            break;
        }
    }
    (lo as u32 + 1, hi as u32 + 1, lines[lo..=hi].join("\n"))
}

pub fn fence(code: &str) -> String {
    // A fence longer than any run of backticks in the code.
    let mut longest = 0;
    let mut run = 0;
    for c in code.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat(longest.max(2) + 1)
}

/// What the assistant was shown, kept with its answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    pub sources: Vec<AiSource>,
    pub cut: Option<String>,
}

/// Everything a request puts in front of the assistant besides the chat.
pub struct Context<'a> {
    pub file: Option<&'a FileContext>,
    /// The selection and its first and last line in `file`, if known.
    pub selection: Option<(&'a str, Option<(u32, u32)>)>,
    pub lookup: &'a Lookup,
    /// Characters for the window of the open file.
    pub file_budget: usize,
}

fn lines_label(first: u32, last: u32) -> String {
    if first == last {
        format!("line {first}")
    } else {
        format!("lines {first}-{last}")
    }
}

/// The chat-completions messages for a request, and what they showed.
pub fn build(task: &AiTask, cx: &Context<'_>, recent: &[Recent]) -> (Vec<PromptMessage>, Shown) {
    let mut context = String::new();
    let mut shown = Shown::default();
    let mut cut = cx.lookup.left_out.clone();
    // The open file's window: lookups inside it are not shown twice.
    let mut window_at = None;
    if let Some(f) = cx.file {
        let line = f.line.unwrap_or(1);
        let (first, last, window) = window_around(&f.text, line, cx.file_budget);
        let total = f.text.split('\n').count() as u32;
        let fence = fence(&window);
        context.push_str(&format!(
            "The asker has `{}` open ({total} lines), cursor on line {line}. {}:\n{fence}{}\n{window}\n{fence}\n",
            f.path,
            lines_label(first, last),
            f.language
        ));
        if first > 1 || last < total {
            cut.insert(
                0,
                format!(
                    "`{}` outside {} (of {total})",
                    f.path,
                    lines_label(first, last)
                ),
            );
        }
        window_at = Some((f.file, first, last));
        shown.sources.push(AiSource {
            file: f.file,
            path: f.path.clone(),
            first,
            last,
            why: SourceWhy::Open,
        });
    }
    if let Some((sel, lines)) = cx.selection.filter(|(s, _)| !s.trim().is_empty()) {
        let fence = fence(sel);
        let lang = cx.file.map_or("", |f| f.language);
        let at = match (cx.file, lines) {
            (Some(f), Some((a, b))) => {
                shown.sources.push(AiSource {
                    file: f.file,
                    path: f.path.clone(),
                    first: a.min(b),
                    last: a.max(b),
                    why: SourceWhy::Selection,
                });
                format!(" ({} of `{}`)", lines_label(a.min(b), a.max(b)), f.path)
            }
            _ => String::new(),
        };
        context.push_str(&format!(
            "Selected text{at}:\n{fence}{lang}\n{sel}\n{fence}\n"
        ));
    }
    let snippets: Vec<&Snippet> = cx
        .lookup
        .snippets
        .iter()
        .filter(|s| {
            window_at.is_none_or(|(file, first, last)| {
                s.file != file || s.first < first || s.last > last
            })
        })
        .collect();
    if !snippets.is_empty() {
        let what = if cx.lookup.searched.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = cx
                .lookup
                .searched
                .iter()
                .map(|n| format!("`{n}`"))
                .collect();
            format!(" (searched for {})", names.join(", "))
        };
        context.push_str(&format!(
            "Looked up in the project for this question{what}; cite these as `path:line`:\n"
        ));
        for s in snippets {
            let fence = fence(&s.text);
            context.push_str(&format!(
                "`{}` {}:\n{fence}{}\n{}\n{fence}\n",
                s.path,
                lines_label(s.first, s.last),
                s.language,
                s.text
            ));
            shown.sources.push(s.source());
        }
    }
    if !cut.is_empty() {
        let said = format!("Not shown, to fit the context: {}.", cut.join("; "));
        context.push_str(&format!(
            "{said} If the answer may depend on what was left out, say so.\n"
        ));
        shown.cut = Some(said);
    }
    let mut messages = vec![PromptMessage::new("system", SYSTEM.to_owned())];
    if !context.is_empty() {
        messages.push(PromptMessage::new("system", context));
    }
    for r in recent {
        let body: String = r.body.chars().take(RECENT_CHARS).collect();
        if r.ai {
            messages.push(PromptMessage::new("assistant", body));
        } else {
            messages.push(PromptMessage::new("user", format!("{}: {body}", r.author)));
        }
    }
    messages.push(PromptMessage::new("user", instruction(task)));
    (messages, shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_grows_around_the_cursor_within_budget() {
        let text: String = (1..=100).map(|i| format!("line {i:03}\n")).collect();
        // Each line costs 9 characters; 45 fit five lines.
        let (first, last, w) = window_around(&text, 50, 45);
        assert_eq!((first, last), (48, 52));
        assert!(w.starts_with("line 048") && w.ends_with("line 052"));
        let (first, last, _) = window_around(&text, 1, 45);
        assert_eq!((first, last), (1, 5));
        let (first, _, _) = window_around(&text, 10_000, 45);
        assert!(first > 95, "a cursor past the end clamps");
        let (first, last, w) = window_around(&"x".repeat(100), 1, 10);
        assert_eq!((first, last, w.len()), (1, 1, 10));
        let (first, last, w) = window_around("", 3, 10);
        assert_eq!((first, last, w.as_str()), (1, 1, ""));
    }

    #[test]
    fn prompts_carry_file_selection_and_chat() {
        let file = FileContext {
            file: FileId(7),
            path: "src/main.rs".into(),
            language: "rust",
            text: "fn main() {\n    println!(\"```\");\n}\n".into(),
            line: Some(2),
        };
        let recent = [
            Recent {
                author: "ann".into(),
                ai: false,
                body: "what is this?".into(),
            },
            Recent {
                author: "ann".into(),
                ai: true,
                body: "A program.".into(),
            },
        ];
        let none = Lookup::default();
        let cx = Context {
            file: Some(&file),
            selection: Some(("main", Some((1, 1)))),
            lookup: &none,
            file_budget: 1000,
        };
        let (m, shown) = build(&AiTask::Explain, &cx, &recent);
        assert_eq!(m.len(), 5);
        assert_eq!(m[0].role, "system");
        assert!(
            m[1].content
                .contains("`src/main.rs` open (4 lines), cursor on line 2")
        );
        // The file contains three backticks, so the fence is longer.
        assert!(
            m[1].content.contains("````rust\nfn main()"),
            "{}",
            m[1].content
        );
        assert!(
            m[1].content
                .contains("Selected text (line 1 of `src/main.rs`):\n```rust\nmain\n```")
        );
        assert_eq!(m[2].content, "ann: what is this?");
        assert_eq!(m[3].role, "assistant");
        assert!(m[4].content.starts_with("Explain the selected code"));
        // The whole file fit: both sources, nothing cut.
        let whys: Vec<_> = shown
            .sources
            .iter()
            .map(|s| (s.why.clone(), s.first, s.last))
            .collect();
        assert_eq!(
            whys,
            [(SourceWhy::Open, 1, 4), (SourceWhy::Selection, 1, 1)]
        );
        assert_eq!(shown.cut, None);
        let cx = Context {
            file: None,
            selection: None,
            lookup: &none,
            file_budget: 1000,
        };
        let (m, shown) = build(&AiTask::Ask("hi?".into()), &cx, &[]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].content, "hi?");
        assert_eq!(shown, Shown::default());
    }

    #[test]
    fn lookups_are_shown_cited_and_what_did_not_fit_is_said() {
        let text: String = (1..=100).map(|i| format!("line {i:03}\n")).collect();
        let file = FileContext {
            file: FileId(1),
            path: "big.txt".into(),
            language: "plaintext",
            text,
            line: Some(50),
        };
        let lookup = Lookup {
            snippets: vec![crate::chat::lookup::Snippet {
                file: FileId(2),
                path: "src/util.js".into(),
                language: "javascript",
                first: 1,
                last: 3,
                text: "function parseConfig(t) {\n  return t;\n}".into(),
                why: SourceWhy::Match("parseConfig".into()),
            }],
            left_out: vec!["2 more places that mention `parseConfig`".into()],
            searched: vec!["parseConfig".into()],
        };
        let cx = Context {
            file: Some(&file),
            selection: None,
            lookup: &lookup,
            file_budget: 45,
        };
        let (m, shown) = build(&AiTask::Ask("where is parseConfig?".into()), &cx, &[]);
        let context = &m[1].content;
        assert!(
            context.contains("(searched for `parseConfig`)"),
            "{context}"
        );
        assert!(context.contains("`src/util.js` lines 1-3:\n```javascript\nfunction parseConfig"));
        assert_eq!(shown.sources.len(), 2);
        assert_eq!(shown.sources[1].label(), "src/util.js:1–3");
        let cut = shown.cut.expect("cut");
        assert_eq!(
            cut,
            "Not shown, to fit the context: `big.txt` outside lines 48-52 (of 101); \
             2 more places that mention `parseConfig`."
        );
        assert!(context.contains(&cut));
        assert!(m[0].content.contains("`path:line`"));
    }
}
