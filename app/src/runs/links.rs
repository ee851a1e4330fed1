//! `file:line[:col]` in run output (compiler errors, test failures, Python tracebacks),
//! found against the project's own paths so only real files become links.

use std::collections::HashMap;

use crate::types::FileId;

/// A piece of a line: text, or a link to a place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Link {
        text: String,
        file: FileId,
        line: u32,
        column: u32,
    },
}

/// Where run output names paths from: the sandbox mounts the project at `/project`.
const ROOT: &str = "/project/";

fn project_path(p: &str) -> &str {
    let p = p.strip_prefix(ROOT).unwrap_or(p);
    p.strip_prefix("./").unwrap_or(p)
}

/// Splits `text` into text and links. `paths` maps project paths (`src/main.rs`) to files;
/// `cwd` is the run's folder, for paths relative to it.
pub fn link(text: &str, paths: &HashMap<String, FileId>, cwd: &str) -> Vec<Piece> {
    let resolve = |p: &str| -> Option<FileId> {
        let p = project_path(p);
        paths.get(p).copied().or_else(|| {
            (!cwd.is_empty())
                .then(|| paths.get(&format!("{cwd}/{p}")).copied())
                .flatten()
        })
    };
    let mut pieces = Vec::new();
    let mut plain = String::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let is_path_char =
        |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'_' | b'-' | b'+');
    while i < bytes.len() {
        // A candidate starts at a path character that does not continue a word.
        if is_path_char(bytes[i]) && (i == 0 || !is_path_char(bytes[i - 1])) {
            let start = i;
            let mut j = i;
            while j < bytes.len() && is_path_char(bytes[j]) {
                j += 1;
            }
            let path = &text[start..j];
            // `path:12` or `path:12:5`
            let mut end = j;
            let mut nums = Vec::new();
            while nums.len() < 2 && end < bytes.len() && bytes[end] == b':' {
                let k = end + 1;
                let mut m = k;
                while m < bytes.len() && bytes[m].is_ascii_digit() {
                    m += 1;
                }
                if m == k {
                    break;
                }
                nums.push(text[k..m].parse::<u32>().unwrap_or(0));
                end = m;
            }
            // Python: `File "path", line 12`
            let python = (nums.is_empty() && start > 0 && bytes[start - 1] == b'"')
                .then(|| {
                    let rest = &text[j..];
                    let rest = rest.strip_prefix("\", line ")?;
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let n = digits.parse::<u32>().ok()?;
                    Some((n, j + 8 + digits.len()))
                })
                .flatten();
            let place = match (nums.first(), python) {
                (Some(&line), _) => Some((line, nums.get(1).copied().unwrap_or(1), end)),
                (None, Some((line, e))) => Some((line, 1, e)),
                _ => None,
            };
            if let Some((line, column, end)) = place
                && line > 0
                && let Some(file) = resolve(path)
            {
                if !plain.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut plain)));
                }
                pieces.push(Piece::Link {
                    text: text[start..end].to_owned(),
                    file,
                    line,
                    column: column.max(1),
                });
                i = end;
                continue;
            }
            plain.push_str(&text[start..j]);
            i = j;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        plain.push(ch);
        i += ch.len_utf8();
    }
    if !plain.is_empty() {
        pieces.push(Piece::Text(plain));
    }
    pieces
}

/// Where a failed run's output says the error is: the innermost frame of a Python traceback
/// (its last place), else the first place named (a compiler's first error). Only files of
/// the project count.
pub fn error_place(
    output: &str,
    paths: &HashMap<String, FileId>,
    cwd: &str,
) -> Option<(FileId, u32)> {
    let mut places = output
        .lines()
        .flat_map(|l| link(l, paths, cwd))
        .filter_map(|p| match p {
            Piece::Link { file, line, .. } => Some((file, line)),
            Piece::Text(_) => None,
        });
    if output.contains("Traceback (most recent call last)") {
        places.next_back()
    } else {
        places.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> HashMap<String, FileId> {
        [("src/main.rs", 1), ("app.py", 2), ("lib/util.js", 3)]
            .into_iter()
            .map(|(p, i)| (p.to_owned(), FileId(i)))
            .collect()
    }

    #[test]
    fn finds_compiler_and_traceback_places() {
        let p = paths();
        let pieces = link("error at src/main.rs:12:5: oops", &p, "");
        assert_eq!(
            pieces,
            vec![
                Piece::Text("error at ".into()),
                Piece::Link {
                    text: "src/main.rs:12:5".into(),
                    file: FileId(1),
                    line: 12,
                    column: 5
                },
                Piece::Text(": oops".into()),
            ]
        );
        let py = link("  File \"/project/app.py\", line 3, in <module>", &p, "");
        assert!(
            py.iter().any(|x| matches!(
                x,
                Piece::Link {
                    file: FileId(2),
                    line: 3,
                    ..
                }
            )),
            "{py:?}"
        );
        let rel = link("util.js:7", &p, "lib");
        assert!(matches!(
            rel[0],
            Piece::Link {
                file: FileId(3),
                line: 7,
                column: 1,
                ..
            }
        ));
    }

    #[test]
    fn unknown_files_and_times_stay_text() {
        let p = paths();
        assert_eq!(
            link("at 12:30:05", &p, ""),
            vec![Piece::Text("at 12:30:05".into())]
        );
        assert_eq!(
            link("other.rs:3", &p, ""),
            vec![Piece::Text("other.rs:3".into())]
        );
        assert_eq!(
            link("é src/main.rs", &p, ""),
            vec![Piece::Text("é src/main.rs".into())]
        );
    }

    #[test]
    fn the_error_place_is_the_first_error_or_the_innermost_frame() {
        let p = paths();
        let rustc = "warning: unused\n --> src/main.rs:3:9\nerror[E0308]: mismatched types\n --> src/main.rs:7:5\n";
        assert_eq!(error_place(rustc, &p, ""), Some((FileId(1), 3)));
        let python = "Traceback (most recent call last):\n  File \"/project/app.py\", line 9, in <module>\n    main()\n  File \"lib/util.js\", line 4, in main\nValueError: no\n";
        assert_eq!(error_place(python, &p, ""), Some((FileId(3), 4)));
        assert_eq!(error_place("segfault at /usr/lib/x.so:1\n", &p, ""), None);
    }
}
