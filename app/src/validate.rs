//! Input rules shared by the forms (instant feedback) and the server (the rule that counts).

use crate::error::AppError;

pub const USERNAME_MAX: usize = 32;
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 256;
pub const PROJECT_NAME_MAX: usize = 64;

/// A deleted account keeps its row (its chat messages and files still name an author) under
/// the name `deleted-<id>`; nobody may sign up as one.
pub const DELETED_PREFIX: &str = "deleted-";

pub fn username(name: &str) -> Result<&str, AppError> {
    let name = name.trim();
    if name.len() < 2 || name.len() > USERNAME_MAX {
        return Err(AppError::invalid(
            "name",
            format!("A username has 2 to {USERNAME_MAX} characters."),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return Err(AppError::invalid(
            "name",
            "Use letters, digits, '.', '_' and '-' only.",
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(AppError::invalid(
            "name",
            "A username starts with a letter or digit.",
        ));
    }
    if name.to_ascii_lowercase().starts_with(DELETED_PREFIX) {
        return Err(AppError::invalid(
            "name",
            format!("Names starting with “{DELETED_PREFIX}” are kept for deleted accounts."),
        ));
    }
    Ok(name)
}

/// Length and variety only: long passphrases beat composition rules, and the lists of known
/// leaked passwords are too big to ship here.
pub fn password<'a>(password: &'a str, username: &str) -> Result<&'a str, AppError> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN {
        return Err(AppError::invalid(
            "password",
            format!("Password too weak: use at least {PASSWORD_MIN} characters."),
        ));
    }
    if password.len() > PASSWORD_MAX {
        return Err(AppError::invalid(
            "password",
            format!("Passwords are limited to {PASSWORD_MAX} bytes."),
        ));
    }
    let distinct = {
        let mut seen: Vec<char> = password.chars().collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    };
    if distinct < 5 {
        return Err(AppError::invalid(
            "password",
            "Password too weak: it repeats too few different characters.",
        ));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(AppError::invalid(
            "password",
            "Password too weak: it contains your username.",
        ));
    }
    Ok(password)
}

/// Characters that change how text around them looks without being seen themselves: the
/// bidirectional overrides and isolates (which can make `exe.txt` read as `txt.exe`, the
/// "Trojan source" trick) and the zero-width ones (which make two names look identical).
/// Names that people read to decide what to trust refuse them.
pub fn is_deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

pub fn project_name(name: &str) -> Result<&str, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Give the project a name."));
    }
    if name.chars().count() > PROJECT_NAME_MAX {
        return Err(AppError::invalid(
            "name",
            format!("Project names have at most {PROJECT_NAME_MAX} characters."),
        ));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(AppError::invalid(
            "name",
            "Project names cannot contain control characters, '/' or '\\'.",
        ));
    }
    if name.chars().any(is_deceptive) {
        return Err(AppError::invalid(
            "name",
            "Project names cannot contain invisible or text-direction characters.",
        ));
    }
    Ok(name)
}

/// Longest name of a saved version of a file.
pub const VERSION_NAME_MAX: usize = 100;

pub fn version_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "Give the version a name."));
    }
    if name.chars().count() > VERSION_NAME_MAX {
        return Err(AppError::invalid(
            "name",
            format!("Version names have at most {VERSION_NAME_MAX} characters."),
        ));
    }
    if name.chars().any(|c| c.is_control() || is_deceptive(c)) {
        return Err(AppError::invalid(
            "name",
            "Version names cannot contain control, invisible or text-direction characters.",
        ));
    }
    Ok(name.to_owned())
}

/// Where to send someone after logging in: only paths on this site, so a crafted link cannot
/// bounce a fresh session to another origin.
pub fn local_redirect(next: Option<&str>) -> String {
    match next {
        Some(p) if is_local_path(p) => p.to_owned(),
        _ => "/".to_owned(),
    }
}

/// A path on this origin as a browser will read it. Browsers drop tabs and newlines from a
/// URL and treat `\` as `/`, so `/\t/evil.example` and `/\\evil.example` both mean
/// `//evil.example` (another host): any control character, whitespace or backslash refuses.
fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(username("  alice ").ok(), Some("alice"));
        assert!(username("deletedfan").is_ok());
        for bad in [
            "a",
            "",
            "-alice",
            "al ice",
            "al/ice",
            &"x".repeat(33),
            "deleted-7",
            "Deleted-bob",
        ] {
            assert!(username(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwords() {
        assert!(password("correct horse battery", "alice").is_ok());
        assert!(password("short", "alice").is_err());
        assert!(password("aaaaaaaaaaaaaaaa", "alice").is_err());
        assert!(password("xxALICExx12345", "alice").is_err());
        let err = password("short", "bob").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("Password too weak: use at least 10 characters.")
        );
    }

    #[test]
    fn project_names() {
        assert_eq!(project_name(" My app ").ok(), Some("My app"));
        for bad in ["", "   ", "a/b", "tab\there", &"p".repeat(65)] {
            assert!(project_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names_refuse_invisible_and_direction_characters() {
        assert!(project_name("Café ünïcode 项目").is_ok());
        for bad in [
            "a\u{202E}txt.exe",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            "iso\u{2066}late",
        ] {
            assert!(project_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn redirects_stay_local() {
        assert_eq!(local_redirect(Some("/p/3")), "/p/3");
        for bad in [
            Some("//evil.example"),
            Some("https://evil.example"),
            Some("/\\evil"),
            Some("/\t/evil.example"),
            Some("/\n/evil.example"),
            Some("/\r//evil.example"),
            Some(" //evil.example"),
            Some("/ /evil.example"),
            None,
        ] {
            assert_eq!(local_redirect(bad), "/");
        }
    }
}
