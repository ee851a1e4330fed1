//! What the assistant is sent: instructions, the asker's file (a window of lines around the
//! cursor that fits the context budget), their selection, and the recent chat.

use app::chat::AiTask;
use serde::{Deserialize, Serialize};

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
fenced code blocks with a language, so it can be inserted into the editor.";

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

/// The chat-completions messages for a request.
pub fn build(
    task: &AiTask,
    file: Option<&FileContext>,
    selection: Option<&str>,
    recent: &[Recent],
    budget: usize,
) -> Vec<PromptMessage> {
    let mut context = String::new();
    if let Some(f) = file {
        let line = f.line.unwrap_or(1);
        let (first, last, window) = window_around(&f.text, line, budget);
        let total = f.text.split('\n').count();
        let fence = fence(&window);
        context.push_str(&format!(
            "The asker has `{}` open ({} lines), cursor on line {line}. Lines {first}-{last}:\n{fence}{}\n{window}\n{fence}\n",
            f.path, total, f.language
        ));
    }
    if let Some(sel) = selection.filter(|s| !s.trim().is_empty()) {
        let fence = fence(sel);
        let lang = file.map_or("", |f| f.language);
        context.push_str(&format!("Selected text:\n{fence}{lang}\n{sel}\n{fence}\n"));
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
    messages
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
        let m = build(&AiTask::Explain, Some(&file), Some("main"), &recent, 1000);
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
        assert!(m[1].content.contains("Selected text:\n```rust\nmain\n```"));
        assert_eq!(m[2].content, "ann: what is this?");
        assert_eq!(m[3].role, "assistant");
        assert!(m[4].content.starts_with("Explain the selected code"));
        let m = build(&AiTask::Ask("hi?".into()), None, None, &[], 1000);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].content, "hi?");
    }
}
