//! File and folder names: what the tree accepts, the key that decides a clash (names differ
//! only in case clash, as they would on macOS and Windows checkouts), and the names given to
//! copies and restored entries. Shared by the browser (inline errors while typing) and the
//! server (which decides).

use crate::error::AppError;

/// Bytes in one name; most file systems stop at 255.
pub const MAX_NAME_BYTES: usize = 255;
/// Folders from the root to a file, inclusive; deeper trees are refused.
pub const MAX_DEPTH: usize = 64;

/// Names Windows reserves for devices, with or without an extension.
const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Why a name is refused, in words for the inline error under the input.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter a name.".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!("Names are at most {MAX_NAME_BYTES} bytes."));
    }
    if name == "." || name == ".." {
        return Err("“.” and “..” are not file names.".into());
    }
    if name.contains(['/', '\\']) {
        return Err("Names cannot contain / or \\.".into());
    }
    if name.chars().any(char::is_control) {
        return Err("Names cannot contain control characters.".into());
    }
    if name.chars().any(crate::validate::is_deceptive) {
        return Err("Names cannot contain invisible or text-direction characters.".into());
    }
    if name.trim() != name {
        return Err("Names cannot start or end with a space.".into());
    }
    if name.ends_with('.') {
        return Err("Names cannot end with a dot.".into());
    }
    let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
    if RESERVED.contains(&stem.as_str()) {
        return Err(format!("“{name}” is a reserved name on Windows."));
    }
    Ok(())
}

/// [`check_name`] as the error server functions return.
pub fn validate_name(name: &str) -> Result<(), AppError> {
    check_name(name).map_err(|m| AppError::invalid("name", m))
}

/// Two names clash within a folder when their keys are equal.
pub fn clash_key(name: &str) -> String {
    name.to_lowercase()
}

/// `main.rs` → (`main`, `.rs`); dot files and names without a dot have no extension.
fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    }
}

/// The first of `name copy.ext`, `name copy 2.ext`, … that `taken` does not hold.
pub fn copy_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let (stem, ext) = split_ext(name);
    (1..)
        .map(|n| match n {
            1 => format!("{stem} copy{ext}"),
            n => format!("{stem} copy {n}{ext}"),
        })
        .find(|c| !taken(&clash_key(c)))
        .unwrap_or_else(|| name.to_owned())
}

/// `name` if free, else `name (2).ext`, `name (3).ext`, … (restoring next to a newer file).
pub fn free_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(&clash_key(name)) {
        return name.to_owned();
    }
    let (stem, ext) = split_ext(name);
    (2..)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|c| !taken(&clash_key(c)))
        .unwrap_or_else(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for ok in [
            "main.rs",
            ".gitignore",
            "Makefile",
            "a b.txt",
            "ünïcödé.md",
            "console.rs",
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        let long = "x".repeat(256);
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\0b",
            "tab\there",
            " lead",
            "trail ",
            "dot.",
            "CON",
            "nul.txt",
            "Com1.rs",
            "invoice\u{202E}fdp.exe",
            "same\u{200B}name.rs",
            &long,
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(check_name(&"é".repeat(127)).is_ok());
        assert!(check_name(&"é".repeat(128)).is_err(), "256 bytes");
    }

    #[test]
    fn clash_is_case_insensitive() {
        assert_eq!(clash_key("README.md"), clash_key("readme.MD"));
        assert_ne!(clash_key("a.rs"), clash_key("b.rs"));
    }

    #[test]
    fn copies_and_restores_find_free_names() {
        let taken = ["main copy.rs", "main copy 2.rs"];
        let is_taken = |k: &str| taken.iter().any(|t| clash_key(t) == k);
        assert_eq!(copy_name("main.rs", is_taken), "main copy 3.rs");
        assert_eq!(copy_name("src", |_| false), "src copy");
        assert_eq!(copy_name(".env", |_| false), ".env copy");
        assert_eq!(free_name("a.txt", |_| false), "a.txt");
        assert_eq!(free_name("a.txt", |k| k == "a.txt"), "a (2).txt");
    }
}
