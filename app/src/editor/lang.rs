//! What a file is, from its name: Monaco's language id (for highlighting) and the icon class
//! the tree shows. Names first (`Dockerfile`, `Makefile`), then extensions.

/// Monaco's language id for a file name; `plaintext` when unknown.
pub fn language_for(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "dockerfile" | "containerfile" => return "dockerfile",
        "makefile" | "gnumakefile" => return "makefile",
        "cmakelists.txt" => return "cmake",
        ".gitignore" | ".dockerignore" | ".env" => return "ini",
        _ => {}
    }
    if lower.starts_with("dockerfile.") {
        return "dockerfile";
    }
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "rs" => "rust",
        "js" | "mjs" | "cjs" | "jsx" => "javascript",
        "ts" | "mts" | "cts" | "tsx" => "typescript",
        "py" | "pyw" | "pyi" => "python",
        "go" => "go",
        "java" => "java",
        "kt" | "kts" => "kotlin",
        "c" | "h" => "c",
        "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" => "cpp",
        "cs" => "csharp",
        "rb" => "ruby",
        "php" => "php",
        "swift" => "swift",
        "scala" | "sc" => "scala",
        "lua" => "lua",
        "r" => "r",
        "pl" | "pm" => "perl",
        "sh" | "bash" | "zsh" => "shell",
        "ps1" => "powershell",
        "sql" => "sql",
        "html" | "htm" => "html",
        "css" => "css",
        "scss" => "scss",
        "less" => "less",
        "json" | "jsonc" => "json",
        "yaml" | "yml" => "yaml",
        "toml" | "ini" | "cfg" | "conf" => "ini",
        "xml" | "svg" | "xsd" => "xml",
        "md" | "markdown" => "markdown",
        "graphql" | "gql" => "graphql",
        "dart" => "dart",
        "ex" | "exs" => "elixir",
        "clj" | "cljs" => "clojure",
        "fs" | "fsx" => "fsharp",
        "vue" => "html",
        "proto" => "proto",
        "sol" => "sol",
        "tf" | "hcl" => "hcl",
        "bat" | "cmd" => "bat",
        _ => "plaintext",
    }
}

/// The icon class (`icon-<kind>`) for a file; folders use `folder`/`folder-open`.
pub fn icon_for(name: &str) -> &'static str {
    match language_for(name) {
        "rust" => "rust",
        "javascript" => "js",
        "typescript" => "ts",
        "python" => "py",
        "markdown" => "md",
        "json" | "yaml" | "ini" | "xml" => "config",
        "html" | "css" | "scss" | "less" => "web",
        "shell" | "powershell" | "bat" | "dockerfile" | "makefile" => "script",
        "plaintext" => "text",
        _ => "code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_by_extension_and_name() {
        for (name, lang) in [
            ("main.rs", "rust"),
            ("App.TSX", "typescript"),
            ("index.mjs", "javascript"),
            ("setup.py", "python"),
            ("Dockerfile", "dockerfile"),
            ("Dockerfile.dev", "dockerfile"),
            ("Makefile", "makefile"),
            ("Cargo.toml", "ini"),
            ("README.md", "markdown"),
            ("notes", "plaintext"),
            (".bashrc", "plaintext"),
            ("x.sh", "shell"),
        ] {
            assert_eq!(language_for(name), lang, "{name}");
        }
        assert_eq!(icon_for("lib.rs"), "rust");
        assert_eq!(icon_for("a.go"), "code");
    }
}
