//! What the assistant is sent for a code action, and how its answer becomes the replacement:
//! the lines to change in a fenced block, the file around them for context, the request in
//! words; back comes one fenced block (or bare code) holding the new text for exactly those
//! lines.

use app::suggestions::CodeAction;

use crate::chat::ai::{
    PromptMessage,
    prompt::{fence, window_around},
};

const SYSTEM: &str = "You are the AI assistant inside Tandem, a collaborative code editor. \
You are asked to change some lines of a file. Answer with the new text for exactly those lines, \
in one fenced code block, and nothing else: no explanation, no other lines of the file. Keep \
the indentation and style of the surrounding code.";

/// The lines to change and where they are.
pub(super) struct Target<'a> {
    pub(super) path: &'a str,
    pub(super) language: &'a str,
    /// The whole file as the server has it.
    pub(super) text: &'a str,
    pub(super) first_line: u32,
    pub(super) last_line: u32,
    pub(super) original: &'a str,
}

fn request(action: CodeAction, instruction: Option<&str>, output: Option<&str>) -> String {
    match action {
        CodeAction::Doc => "Add documentation comments to this code, in the idiom of its \
             language (doc comments above each item that lacks one). Do not change the code \
             itself."
            .to_owned(),
        CodeAction::Refactor => format!(
            "Change this code as follows, keeping its behaviour otherwise: {}",
            instruction.unwrap_or("improve its readability")
        ),
        CodeAction::Fix => match output {
            Some(out) => {
                let f = fence(out);
                format!(
                    "This code fails. Fix it; change as little as needed. The failing run \
                     printed:\n{f}\n{out}\n{f}"
                )
            }
            None => "Fix the bugs in this code; change as little as needed.".to_owned(),
        },
    }
}

/// The chat-completions messages for a code action on `target`, with at most `budget`
/// characters of the file around it.
pub(super) fn build(
    action: CodeAction,
    instruction: Option<&str>,
    output: Option<&str>,
    target: &Target<'_>,
    budget: usize,
) -> Vec<PromptMessage> {
    let middle = (target.first_line + target.last_line) / 2;
    let (first, last, window) = window_around(target.text, middle, budget);
    let wf = fence(&window);
    let context = format!(
        "The file is `{}`. Lines {first}-{last} of it, for context:\n{wf}{}\n{window}\n{wf}",
        target.path, target.language
    );
    let of = fence(target.original);
    let ask = format!(
        "{}\n\nReplace lines {}-{} of `{}`:\n{of}{}\n{}\n{of}\nAnswer with the replacement \
         for exactly these lines in one fenced code block.",
        request(action, instruction, output),
        target.first_line,
        target.last_line,
        target.path,
        target.language,
        target.original,
    );
    vec![
        PromptMessage {
            role: "system".into(),
            content: SYSTEM.into(),
        },
        PromptMessage {
            role: "system".into(),
            content: context,
        },
        PromptMessage {
            role: "user".into(),
            content: ask,
        },
    ]
}

/// The replacement in an answer: the first fenced block's text, or the whole answer when it
/// has no fence. Without the trailing line break (the replaced lines end before theirs).
pub(super) fn replacement(answer: &str) -> String {
    let mut lines = answer.lines();
    let mut found = None;
    for line in lines.by_ref() {
        let t = line.trim_start();
        let ticks = t.chars().take_while(|c| *c == '`').count();
        if ticks >= 3 {
            found = Some("`".repeat(ticks));
            break;
        }
    }
    let body = match found {
        Some(close) => {
            let mut body = Vec::new();
            for line in lines {
                if line.trim() == close {
                    break;
                }
                body.push(line);
            }
            body.join("\n")
        }
        None => answer.trim_matches('\n').to_owned(),
    };
    body.trim_end_matches(['\n', '\r']).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_names_the_lines_and_the_request() {
        let text = "a\nfn f() {}\nb\n";
        let t = Target {
            path: "src/lib.rs",
            language: "rust",
            text,
            first_line: 2,
            last_line: 2,
            original: "fn f() {}",
        };
        let m = build(CodeAction::Doc, None, None, &t, 1000);
        assert_eq!(m.len(), 3);
        assert!(m[1].content.contains("`src/lib.rs`"));
        assert!(m[2].content.starts_with("Add documentation comments"));
        assert!(
            m[2].content
                .contains("Replace lines 2-2 of `src/lib.rs`:\n```rust\nfn f() {}\n```")
        );
        let m = build(CodeAction::Refactor, Some("rename f to g"), None, &t, 1000);
        assert!(
            m[2].content
                .contains("as follows, keeping its behaviour otherwise: rename f to g")
        );
        let m = build(CodeAction::Fix, None, Some("error: ``` oops"), &t, 1000);
        assert!(
            m[2].content
                .contains("printed:\n````\nerror: ``` oops\n````")
        );
    }

    #[test]
    fn the_replacement_is_the_first_block() {
        assert_eq!(
            replacement("Here:\n```rust\n/// Doc.\nfn f() {}\n```\nDone."),
            "/// Doc.\nfn f() {}"
        );
        assert_eq!(replacement("````\na ``` b\n````"), "a ``` b");
        assert_eq!(replacement("fn f() {}\n"), "fn f() {}");
        assert_eq!(replacement("```\nunclosed\n"), "unclosed");
        assert_eq!(replacement(""), "");
    }
}
