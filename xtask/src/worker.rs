//! Stamps the service worker (`public/sw.js`, copied into the site) with this build: a version
//! that changes whenever a precached file does (so browsers install the new worker and the app
//! announces the update) and the list of files to precache (the app shell, icons, xterm and
//! Monaco's editor; Monaco's language workers are kept when first used).

use std::{
    fs,
    hash::{DefaultHasher, Hasher},
    path::Path,
};

use crate::Result;

/// The line of `public/sw.js` this replaces.
const PLACEHOLDER: &str = r#"const BUILD = { version: "dev", precache: [] };"#;

/// What is precached, relative to the site root (a folder means everything in it).
const PRECACHE: &[&str] = &[
    "pkg",
    "icons",
    "favicon.svg",
    "offline.html",
    "offline.js",
    "xterm",
    "monaco/vs/loader.js",
    "monaco/vs/editor",
    "monaco/vs/base",
    "monaco/vs/basic-languages",
];

pub(crate) fn stamp(site: &Path) -> Result {
    let mut files = Vec::new();
    for entry in PRECACHE {
        collect(site, &site.join(entry), &mut files)?;
    }
    files.sort();
    // DefaultHasher's keys are fixed, so the same files give the same version on every build.
    let mut hash = DefaultHasher::new();
    for path in &files {
        hash.write(path.as_bytes());
        let bytes = fs::read(site.join(&path[1..])).map_err(|e| format!("{path}: {e}"))?;
        hash.write(&bytes);
    }
    let list: Vec<String> = files.iter().map(|f| json_string(f)).collect();
    let line = format!(
        "const BUILD = {{ version: \"{:016x}\", precache: [{}] }};",
        hash.finish(),
        list.join(", ")
    );
    let sw = site.join("sw.js");
    let text = fs::read_to_string(&sw).map_err(|e| format!("{}: {e}", sw.display()))?;
    if !text.contains(PLACEHOLDER) {
        return Err(format!("{} has no `{PLACEHOLDER}` line", sw.display()));
    }
    fs::write(&sw, text.replace(PLACEHOLDER, &line))
        .map_err(|e| format!("{}: {e}", sw.display()))?;
    println!("service worker: {} files precached", files.len());
    Ok(())
}

/// Every file at or under `path`, as a URL path from the site root (`/pkg/tandem.js`).
fn collect(site: &Path, path: &Path, out: &mut Vec<String>) -> Result {
    let meta = fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))? {
            collect(site, &entry.map_err(|e| e.to_string())?.path(), out)?;
        }
    } else if path.extension().is_some_and(|e| e == "gz") {
        // A precompressed copy: the browser asks for the file itself.
    } else {
        let rel = path
            .strip_prefix(site)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        out.push(format!("/{rel}"));
    }
    Ok(())
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
