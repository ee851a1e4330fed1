//! What the composer's text asks for: a plain message, a question for the assistant, or a
//! command that only changes this tab's view.

use super::AiTask;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A chat message (also for text that merely starts with a slash, like a path).
    Say(String),
    Ai(AiTask),
    /// Lists the commands (shown only to you).
    Help,
    /// Hides the history so far in this browser; nothing is deleted.
    Clear,
    /// `/something` the chat does not know; the user is told instead of it being posted.
    Unknown(String),
}

/// The commands `/help` lists, with what they do.
pub const HELP: &[(&str, &str)] = &[
    (
        "/ai QUESTION",
        "ask the assistant (the open file and your selection go along)",
    ),
    (
        "/explain",
        "explain the selected code, or the code around the cursor",
    ),
    ("/tests", "write tests for the selection"),
    ("/doc", "write documentation comments for the selection"),
    ("/review", "review the selection for bugs and style"),
    ("/help", "show this list (only you see it)"),
    (
        "/clear",
        "clear the chat in this browser (nothing is deleted)",
    ),
];

pub fn parse(input: &str) -> Command {
    let text = input.trim();
    let Some(rest) = text.strip_prefix('/') else {
        return Command::Say(text.to_owned());
    };
    // `/usr/bin` or `//comment` are messages, not commands.
    let (word, arg) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(w, a)| (w, a.trim()));
    if word.is_empty() || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return Command::Say(text.to_owned());
    }
    match word.to_ascii_lowercase().as_str() {
        "ai" | "ask" if arg.is_empty() => Command::Unknown("/ai needs a question".into()),
        "ai" | "ask" => Command::Ai(AiTask::Ask(arg.to_owned())),
        "explain" => Command::Ai(AiTask::Explain),
        "tests" | "test" => Command::Ai(AiTask::Tests),
        "doc" | "docs" => Command::Ai(AiTask::Doc),
        "review" => Command::Ai(AiTask::Review),
        "help" => Command::Help,
        "clear" => Command::Clear,
        other => Command::Unknown(format!("/{other} is not a command; /help lists them")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_messages() {
        assert_eq!(parse("  hello "), Command::Say("hello".into()));
        assert_eq!(
            parse("/ai  why is this slow?"),
            Command::Ai(AiTask::Ask("why is this slow?".into()))
        );
        assert_eq!(parse("/EXPLAIN"), Command::Ai(AiTask::Explain));
        assert_eq!(parse("/tests"), Command::Ai(AiTask::Tests));
        assert_eq!(parse("/doc"), Command::Ai(AiTask::Doc));
        assert_eq!(parse("/review please"), Command::Ai(AiTask::Review));
        assert_eq!(parse("/help"), Command::Help);
        assert_eq!(parse("/clear"), Command::Clear);
        assert!(matches!(parse("/ai"), Command::Unknown(_)));
        assert!(matches!(parse("/frobnicate"), Command::Unknown(_)));
        // Paths and comments are messages.
        assert_eq!(parse("/usr/bin/env"), Command::Say("/usr/bin/env".into()));
        assert_eq!(parse("// note"), Command::Say("// note".into()));
        assert_eq!(parse("/"), Command::Say("/".into()));
    }
}
