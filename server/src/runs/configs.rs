//! Run configurations: the `[[run]]` entries of a project's `tandem.toml`, and, when there are
//! none, what to run guessed from the open file or the project's root.
//!
//! ```toml
//! [[run]]
//! name = "tests"
//! command = "python3 -m pytest -q"
//! cwd = "src"              # optional, relative to the project's root
//! env = { DEBUG = "1" }    # optional
//! time_limit = 30          # optional, seconds (at most the server's limit)
//! ```

use std::collections::{BTreeMap, HashSet};

use app::types::runs::{ConfigSource, RunConfig};
use serde::Deserialize;

/// The file read at the project's root.
pub const FILE: &str = "tandem.toml";
/// Most configurations one file may name.
const MAX_CONFIGS: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TandemToml {
    #[serde(default)]
    run: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    command: String,
    #[serde(default)]
    cwd: String,
    #[serde(default)]
    env: BTreeMap<String, String>,
    time_limit: Option<u64>,
}

/// The configurations of a `tandem.toml`, and what is wrong with it (each problem names the
/// entry). A broken file gives no configurations and says why.
pub fn parse(text: &str) -> (Vec<RunConfig>, Vec<String>) {
    let file: TandemToml = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => return (Vec::new(), vec![format!("{FILE}: {}", e.message())]),
    };
    let mut problems = Vec::new();
    let mut names = HashSet::new();
    let mut configs = Vec::new();
    for (i, e) in file.run.into_iter().enumerate() {
        let at = format!("{FILE}: run {} (“{}”)", i + 1, e.name);
        let name = e.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 64 {
            problems.push(format!("{at}: a name of 1 to 64 characters is needed"));
            continue;
        }
        if !names.insert(name.clone()) {
            problems.push(format!("{at}: the name is used twice"));
            continue;
        }
        if e.command.trim().is_empty() || e.command.len() > 4096 {
            problems.push(format!("{at}: a command of 1 to 4096 bytes is needed"));
            continue;
        }
        let cwd = e.cwd.trim_matches('/').to_owned();
        if cwd.split('/').any(|p| p == ".." || p == ".") || cwd.contains('\0') {
            problems.push(format!("{at}: cwd must be a folder inside the project"));
            continue;
        }
        if let Some(bad) = e.env.keys().find(|k| !valid_env_name(k)) {
            problems.push(format!(
                "{at}: “{bad}” is not a valid environment variable name"
            ));
            continue;
        }
        if configs.len() == MAX_CONFIGS {
            problems.push(format!(
                "{FILE}: only the first {MAX_CONFIGS} runs are offered"
            ));
            break;
        }
        configs.push(RunConfig {
            name,
            command: e.command,
            cwd,
            env: e.env.into_iter().collect(),
            time_limit: e.time_limit,
            source: ConfigSource::File,
        });
    }
    (configs, problems)
}

fn valid_env_name(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !["PATH", "HOME", "LD_PRELOAD", "LD_LIBRARY_PATH"].contains(&k)
}

/// Quotes `s` for `sh` (single quotes; a quote inside is closed, escaped and reopened).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The interpreters and tools detection may pick; a detected command starts with one of them.
const DETECTED_PROGRAMS: [&str; 5] = ["python3", "node", "rustc", "cargo", "make"];

/// The shell line a run executes: for a detected configuration, the command behind a check
/// that says plainly when its program is missing ("python3 is not installed on this server",
/// exit 127) instead of `sh: 1: python3: not found`. The check stays out of the command shown
/// in the picker and the history, which is what the user would type.
pub fn shell_line(config: &RunConfig) -> String {
    let program = config.command.split(' ').next().unwrap_or_default();
    if config.source != ConfigSource::Detected || !DETECTED_PROGRAMS.contains(&program) {
        return config.command.clone();
    }
    format!(
        "command -v {program} >/dev/null 2>&1 || {{ echo \"{program} is not installed on this server\" >&2; exit 127; }}; {}",
        config.command
    )
}

/// What to run for `file` (a path relative to the root), knowing the root's file names.
pub fn detect(file: Option<&str>, root: &HashSet<String>) -> Option<RunConfig> {
    let config = |name: String, command: String, cwd: String| RunConfig {
        name,
        command,
        cwd,
        env: Vec::new(),
        time_limit: None,
        source: ConfigSource::Detected,
    };
    if let Some(path) = file {
        let (dir, base) = match path.rsplit_once('/') {
            Some((d, b)) => (d.to_owned(), b.to_owned()),
            None => (String::new(), path.to_owned()),
        };
        let q = quote(&base);
        let ext = base.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        let by_file = match ext.as_deref() {
            Some("py") => Some(format!("python3 {q}")),
            Some("js" | "mjs" | "cjs") => Some(format!("node {q}")),
            Some("sh") => Some(format!("sh {q}")),
            Some("rs") if root.contains("Cargo.toml") => None,
            Some("rs") => Some(format!(
                "rustc --edition 2021 -o /tmp/main {q} && /tmp/main"
            )),
            _ => None,
        };
        if let Some(command) = by_file {
            return Some(config(path.to_owned(), command, dir));
        }
    }
    if root.contains("Cargo.toml") {
        return Some(config(
            "cargo run".into(),
            "cargo run".into(),
            String::new(),
        ));
    }
    if root.contains("Makefile") || root.contains("makefile") {
        return Some(config("make".into(), "make".into(), String::new()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_and_names_every_problem() {
        let (configs, problems) = parse(
            r#"
            [[run]]
            name = "tests"
            command = "python3 -m pytest"
            cwd = "src/"
            env = { DEBUG = "1" }
            time_limit = 5

            [[run]]
            name = "tests"
            command = "again"

            [[run]]
            name = "escape"
            command = "ls"
            cwd = "../.."

            [[run]]
            name = "env"
            command = "ls"
            env = { LD_PRELOAD = "x" }
            "#,
        );
        assert_eq!(configs.len(), 1);
        assert_eq!(configs[0].cwd, "src");
        assert_eq!(configs[0].env, vec![("DEBUG".into(), "1".into())]);
        assert_eq!(configs[0].time_limit, Some(5));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("used twice"));
        assert!(problems[1].contains("inside the project"));
        assert!(problems[2].contains("LD_PRELOAD"));
    }

    #[test]
    fn a_broken_file_says_where() {
        let (configs, problems) = parse("[[run]]\nname = \"x\"\n");
        assert!(configs.is_empty());
        assert!(problems[0].starts_with("tandem.toml:"), "{problems:?}");
        let (_, problems) = parse("[[run]]\nname = 1\ncommand = \"x\"\nbogus = 2\n");
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn detects_from_the_file_then_the_root() {
        let none = HashSet::new();
        let py = detect(Some("src/it's.py"), &none).expect("python");
        assert_eq!(py.cwd, "src");
        assert!(
            py.command.ends_with(r"python3 'it'\''s.py'"),
            "{}",
            py.command
        );
        assert!(
            !py.command.contains("not installed"),
            "the check is not shown"
        );
        assert!(shell_line(&py).contains("python3 is not installed on this server"));
        assert!(shell_line(&py).ends_with(&py.command));
        assert!(
            detect(Some("a.js"), &none)
                .expect("node")
                .command
                .contains("node 'a.js'")
        );
        assert!(
            detect(Some("lone.rs"), &none)
                .expect("rustc")
                .command
                .contains("rustc")
        );
        let cargo: HashSet<String> = ["Cargo.toml".to_owned()].into();
        assert_eq!(
            detect(Some("src/main.rs"), &cargo).expect("cargo").name,
            "cargo run"
        );
        let make: HashSet<String> = ["Makefile".to_owned()].into();
        assert_eq!(detect(Some("notes.txt"), &make).expect("make").name, "make");
        assert!(detect(Some("notes.txt"), &none).is_none());
    }
}
