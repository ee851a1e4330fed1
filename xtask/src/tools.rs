//! Installs the tools the build needs, each only when missing, from the package registries and
//! rustup only (nothing is downloaded from anywhere else).

use std::{fs, path::Path, process::Stdio};

use crate::{Ctx, Result};

fn answers(ctx: &Ctx, program: &str, args: &[&str]) -> Option<String> {
    let out = ctx.cmd(program, args).stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn wasm_target(ctx: &Ctx) -> Result {
    let installed = answers(ctx, "rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    ctx.step(
        "install wasm target",
        "rustup",
        &["target", "add", "wasm32-unknown-unknown"],
    )
}

/// The wasm-bindgen version in Cargo.lock; the CLI must match it exactly.
fn locked_wasm_bindgen(ctx: &Ctx) -> Result<String> {
    let lock =
        fs::read_to_string(ctx.root.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_owned());
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

pub(crate) fn wasm_bindgen(ctx: &Ctx) -> Result {
    let want = locked_wasm_bindgen(ctx)?;
    let have = answers(ctx, "wasm-bindgen", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(want.as_str()) {
        return Ok(());
    }
    // Without --locked: the CLI's lockfile pins a webpki-roots the registry no longer has.
    ctx.step(
        "install wasm-bindgen-cli",
        "cargo",
        &["install", "wasm-bindgen-cli", "--version", &want],
    )
}

/// `wasm-split-cli` (the splitter cargo-leptos runs for `--split`, from its crate on
/// crates.io), into the tools folder once per machine: it cuts the wasm at the app's
/// `#[lazy]` split points before wasm-bindgen sees it.
pub(crate) fn wasm_split(ctx: &Ctx) -> Result {
    const VERSION: &str = "0.2.4";
    let root = ctx.tools_dir();
    let marker = root.join(format!("wasm-split-cli-{VERSION}"));
    if marker.exists() && root.join("bin/wasm-split-cli").exists() {
        return Ok(());
    }
    let mut c = ctx.cmd(
        "cargo",
        &[
            "install",
            "wasm_split_cli_support",
            "--version",
            VERSION,
            "--locked",
            "--features",
            "build-binary",
            "--root",
            &root.to_string_lossy(),
        ],
    );
    c.env_remove("CARGO_TARGET_DIR");
    crate::run_step("install wasm-split-cli", c)?;
    fs::write(&marker, VERSION).map_err(|e| format!("{}: {e}", marker.display()))
}

pub(crate) fn npm_packages(ctx: &Ctx) -> Result {
    npm_packages_in(ctx, "")
}

/// `npm ci` in `dir` (relative to the root) unless its `node_modules` is as new as its lock.
pub(crate) fn npm_packages_in(ctx: &Ctx, dir: &str) -> Result {
    let at = ctx.root.join(dir);
    if newer_or_same(
        &at.join("node_modules/.package-lock.json"),
        &at.join("package-lock.json"),
    ) {
        return Ok(());
    }
    let mut c = ctx.cmd("npm", &["ci", "--no-audit", "--no-fund"]);
    c.current_dir(&at);
    let what = if dir.is_empty() {
        "install npm packages".to_string()
    } else {
        format!("install npm packages in {dir}")
    };
    crate::run_step(&what, c)
}

/// y-sweet, the Rust peer of the sync-server comparison, from crates.io at the version the
/// issue measured, once per machine (beside the target dir, not in the clone). `None` when it
/// cannot be built here: the comparison then runs without it and says so.
pub(crate) fn y_sweet(ctx: &Ctx) -> Option<std::path::PathBuf> {
    const VERSION: &str = "0.9.1";
    let root = ctx.tools_dir();
    let bin = root.join("bin/y-sweet");
    let have = answers(ctx, &bin.to_string_lossy(), &["version"]).unwrap_or_default();
    if have.contains(VERSION) {
        return Some(bin);
    }
    let root = root.to_string_lossy();
    let installed = ctx.step(
        "install y-sweet",
        "cargo",
        &[
            "install",
            "y-sweet",
            "--version",
            VERSION,
            "--locked",
            "--root",
            &root,
        ],
    );
    match installed {
        Ok(()) => Some(bin),
        Err(e) => {
            eprintln!("y-sweet {VERSION} could not be installed ({e}); comparing without it");
            None
        }
    }
}

fn newer_or_same(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(a), modified(b)), (Some(a), Some(b)) if a >= b)
}

pub(crate) fn chromium(ctx: &Ctx) -> Result {
    debian_package(ctx, "chromium", "/usr/bin/chromium")
}

/// bubblewrap sandboxes every run and terminal; without it the server starts with Run
/// disabled, so `run` installs it as well as `test`.
pub(crate) fn bubblewrap(ctx: &Ctx) -> Result {
    debian_package(ctx, "bubblewrap", "/usr/bin/bwrap")
}

/// `createdb` and `dropdb`, with which the test command makes the browser cluster's database.
pub(crate) fn postgres_client(ctx: &Ctx) -> Result {
    debian_package(ctx, "postgresql-client", "/usr/bin/createdb")
}

/// Installs a Debian package with apt (through sudo when not root) unless `marker` exists.
fn debian_package(ctx: &Ctx, package: &str, marker: &str) -> Result {
    if Path::new(marker).exists() {
        return Ok(());
    }
    let root = answers(ctx, "id", &["-u"]).is_some_and(|u| u.trim() == "0");
    let (program, prefix): (&str, &[&str]) = if root {
        ("apt-get", &[])
    } else {
        ("sudo", &["apt-get"])
    };
    let title = format!("install {package}");
    for args in [
        &["update"][..],
        &["install", "-y", "--no-install-recommends", package],
    ] {
        let mut c = ctx.cmd(program, prefix);
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        crate::run_step(&title, c)?;
    }
    Ok(())
}

/// Trunk, which builds the client-side rendered bundle (`Trunk.toml`), once per machine beside
/// the target dir (on PATH through `Ctx`). 0.21 because later releases need a newer Rust than
/// stable here; `--locked` keeps its own tested dependencies; without the update check it
/// never calls out.
/// The command that installs trunk into the tools folder, or `None` when it is there.
pub(crate) fn trunk_install(ctx: &Ctx) -> Option<std::process::Command> {
    const VERSION: &str = "0.21.14";
    if answers(ctx, "trunk", &["--version"]).is_some_and(|v| v.contains(VERSION)) {
        return None;
    }
    let root = ctx.tools_dir();
    let mut c = ctx.cmd(
        "cargo",
        &[
            "install",
            "trunk",
            "--version",
            VERSION,
            "--locked",
            "--no-default-features",
            "--features",
            "rustls",
            "--root",
            &root.to_string_lossy(),
        ],
    );
    // Its own throwaway target directory: the project's is locked by the builds it overlaps.
    c.env_remove("CARGO_TARGET_DIR");
    Some(c)
}

pub(crate) fn has_nightly(ctx: &Ctx) -> bool {
    answers(ctx, "rustup", &["toolchain", "list"])
        .is_some_and(|t| t.lines().any(|l| l.starts_with("nightly")))
}

/// cargo-fuzz, built with nightly (fuzzing needs nightly anyway); `false` when it cannot be had.
pub(crate) fn cargo_fuzz(ctx: &Ctx) -> bool {
    if answers(ctx, "cargo", &["+nightly", "fuzz", "--version"]).is_some() {
        return true;
    }
    ctx.step(
        "install cargo-fuzz",
        "cargo",
        &["+nightly", "install", "cargo-fuzz", "--locked"],
    )
    .is_ok()
}

/// nextest runs the suite when installed (it is faster and clearer); it is never installed
/// here, since compiling it costs a bare machine more minutes than it saves: `cargo test` runs
/// the same tests.
pub(crate) fn has_nextest(ctx: &Ctx) -> bool {
    answers(ctx, "cargo", &["nextest", "--version"]).is_some()
}

/// Browser libraries from npm that go into the site (never into git): the package, what of
/// it to copy, and where under the site.
const VENDOR: &[(&str, &[&str], &str)] = &[
    // Monaco's AMD build.
    ("monaco-editor", &["min/vs"], "monaco/vs"),
    // xterm.js and its fit add-on, as ES modules, with xterm's stylesheet.
    ("@xterm/xterm", &["lib/xterm.mjs", "css/xterm.css"], "xterm"),
    ("@xterm/addon-fit", &["lib/addon-fit.mjs"], "xterm"),
];

/// Copies the [`VENDOR`] files into the site; each package is skipped when the same version
/// is already there.
pub(crate) fn copy_vendor(ctx: &Ctx) -> Result {
    for (package, parts, dest) in VENDOR {
        let src = ctx.root.join("node_modules").join(package);
        let dest = ctx.site_root().join(dest);
        let version = fs::read_to_string(src.join("package.json"))
            .map_err(|e| format!("{package} is not installed: {e}"))?;
        // Beside the site, not in it: the site is embedded and served as it is.
        let stamps = ctx.root.join("target/vendor-stamps");
        fs::create_dir_all(&stamps).map_err(|e| format!("{}: {e}", stamps.display()))?;
        let stamp = stamps.join(format!("{}.json", package.replace('/', "-")));
        if fs::read_to_string(&stamp).ok().as_deref() == Some(version.as_str()) && dest.exists() {
            continue;
        }
        for part in *parts {
            let from = src.join(part);
            if from.is_dir() {
                let _ = fs::remove_dir_all(&dest);
                copy_dir(&from, &dest)?;
            } else {
                fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
                let name = from
                    .file_name()
                    .ok_or_else(|| format!("{} has no file name", from.display()))?;
                fs::copy(&from, dest.join(name)).map_err(|e| format!("{}: {e}", from.display()))?;
            }
        }
        fs::write(&stamp, version).map_err(|e| e.to_string())?;
        println!("copied {package} into {}", dest.display());
    }
    Ok(())
}

pub(crate) fn copy_dir(src: &Path, dest: &Path) -> Result {
    fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    for entry in fs::read_dir(src).map_err(|e| format!("{}: {e}", src.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let to = dest.join(entry.file_name());
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            fs::copy(entry.path(), &to).map_err(|e| format!("{}: {e}", to.display()))?;
        }
    }
    Ok(())
}
