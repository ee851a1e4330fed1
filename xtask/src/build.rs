//! The release artefacts, built with cargo, wasm-bindgen and wasm-opt directly (the same
//! files cargo-leptos makes, without the 12-16 minutes of compiling cargo-leptos on a bare
//! machine): the hydrate wasm and its JS, the site folder, and a `tandem` binary that carries
//! the site inside itself.
//!
//! The browser build runs in its own target directory (`<target>/wasm`) so it can run beside
//! the server build instead of waiting for cargo's lock; on two cores the long single-threaded
//! tails (LTO of the wasm, the server crate) then overlap.

use std::{fs, path::Path, process::Stdio, time::Instant};

use crate::{Ctx, Result, tools};

/// The wasm build's profile: `opt-level = "z"`, LTO, one codegen unit (`Cargo.toml`).
const WASM_PROFILE: &str = "wasm-release";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Features rustc's wasm32 target enables (and wasm-bindgen relies on); wasm-opt must accept
/// them or it refuses the module.
const WASM_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];
/// The linker keeps its relocations in the wasm: `wasm-split-cli` reads them to find every
/// function a split point reaches. Set for every cargo run in the browser's target directory
/// (lint, build, Trunk), so they share one set of compiled dependencies.
const WASM_RUSTFLAGS: (&str, &str) = (
    "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
    "-Clink-args=--emit-relocs",
);
/// The server's feature set for every release build and the release tests.
pub(crate) const SERVER_FEATURES: &str = "server/embed-site";

/// Cargo runs in the background, one after another, with their output kept in a log that is
/// printed when they end (two builds writing to one terminal at once would be unreadable).
pub(crate) struct Background {
    title: String,
    runs: std::thread::JoinHandle<Result>,
    log: std::path::PathBuf,
    started: Instant,
}

impl Background {
    pub(crate) fn wait(self) -> Result {
        let result = self
            .runs
            .join()
            .unwrap_or_else(|_| Err("the background build thread panicked".into()));
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        println!("\n==> {} (ran in the background)\n{log}", self.title);
        println!(
            "<== {}: {:.1}s",
            self.title,
            self.started.elapsed().as_secs_f64()
        );
        result.map_err(|e| format!("{} failed ({e})", self.title))
    }
}

impl Ctx {
    fn wasm_target_dir(&self) -> std::path::PathBuf {
        self.target_dir.join("wasm")
    }

    /// Cargo in the browser build's target directory (server and browser builds enable
    /// different `app` features and must not share one).
    pub(crate) fn wasm_cargo(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.cmd("cargo", args);
        c.env("CARGO_TARGET_DIR", self.wasm_target_dir());
        c.env(WASM_RUSTFLAGS.0, WASM_RUSTFLAGS.1);
        c
    }

    /// Starts `steps` one after another in the background; the first that fails stops the
    /// rest.
    pub(crate) fn background(
        &self,
        title: &str,
        steps: Vec<std::process::Command>,
    ) -> Result<Background> {
        fs::create_dir_all(&self.target_dir).map_err(|e| e.to_string())?;
        let log = self
            .target_dir
            .join(format!("{}.log", title.replace(' ', "-")));
        let out = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut runs = steps;
        for c in &mut runs {
            c.stdout(Stdio::from(out.try_clone().map_err(|e| e.to_string())?))
                .stderr(Stdio::from(out.try_clone().map_err(|e| e.to_string())?));
        }
        let runs = std::thread::spawn(move || {
            for mut c in runs {
                let status = c
                    .status()
                    .map_err(|e| format!("cannot start {:?}: {e}", c.get_program()))?;
                if !status.success() {
                    return Err(status.to_string());
                }
            }
            Ok(())
        });
        println!(
            "\n==> {title}: started in the background (log: {})",
            log.display()
        );
        Ok(Background {
            title: title.to_owned(),
            runs,
            log,
            started: Instant::now(),
        })
    }

    /// The cargo arguments that compile the browser's wasm.
    pub(crate) fn wasm_build_args(&self) -> Vec<&'static str> {
        vec![
            "build",
            "-p",
            "frontend",
            "--lib",
            "--target",
            WASM_TARGET,
            "--profile",
            WASM_PROFILE,
            "--features",
            "split",
        ]
    }

    /// Lints the browser build with the wasm build's profile, so both share compiled
    /// dependencies, proc macros and build scripts.
    pub(crate) fn wasm_clippy_args(&self) -> Vec<&'static str> {
        vec![
            "clippy",
            "-p",
            "frontend",
            "--target",
            WASM_TARGET,
            "--profile",
            WASM_PROFILE,
            "--features",
            "split",
            "--",
            "-D",
            "warnings",
        ]
    }

    /// Turns the compiled wasm into the site folder: wasm-split cuts it at the pages' split
    /// points (`app/src/routes.rs`) into the main module and one chunk per page with the
    /// loader `__wasm_split.js`; wasm-bindgen makes the main module's JS and wasm (the names
    /// Leptos's hydration script asks for: `pkg/tandem.js`, `pkg/tandem_bg.wasm`); wasm-opt
    /// shrinks every wasm; then the stylesheet, `public/` and Monaco.
    pub(crate) fn assemble_site(&self) -> Result {
        let site = self.site_root();
        let pkg = site.join("pkg");
        let _ = fs::remove_dir_all(&pkg);
        fs::create_dir_all(&pkg).map_err(|e| format!("{}: {e}", pkg.display()))?;
        let wasm = self
            .wasm_target_dir()
            .join(WASM_TARGET)
            .join(WASM_PROFILE)
            .join("frontend.wasm");
        let pkg_dir = pkg.to_string_lossy();
        self.step(
            "wasm-split",
            "wasm-split-cli",
            &[
                &wasm.to_string_lossy(),
                &pkg_dir,
                "--target",
                "web",
                "--out-name",
                "tandem",
            ],
        )?;
        // The main module wasm-split wrote; wasm-bindgen turns it into `tandem_bg.wasm`.
        let main = pkg.join("tandem.wasm");
        self.step(
            "wasm-bindgen",
            "wasm-bindgen",
            &[
                &main.to_string_lossy(),
                "--target",
                "web",
                "--no-typescript",
                // The chunks import the main module's functions by their linker names.
                "--keep-lld-exports",
                "--no-demangle",
                "--out-name",
                "tandem",
                "--out-dir",
                &pkg_dir,
            ],
        )?;
        fs::remove_file(&main).map_err(|e| format!("{}: {e}", main.display()))?;
        self.optimize(&pkg)?;
        copy(&self.root.join("style/main.css"), &pkg.join("tandem.css"))?;
        tools::copy_dir(&self.root.join("public"), &site)?;
        tools::copy_vendor(self)?;
        crate::worker::stamp(&site)?;
        self.compress(&site)
    }

    /// `wasm-opt -Oz` on every wasm in `pkg` (the main module and some 170 chunks), on every
    /// core, biggest first so the long ones do not end up last.
    fn optimize(&self, pkg: &Path) -> Result {
        let started = Instant::now();
        let mut files = Vec::new();
        for entry in fs::read_dir(pkg).map_err(|e| format!("{}: {e}", pkg.display()))? {
            let entry = entry.map_err(|e| e.to_string())?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "wasm") {
                let len = entry.metadata().map_err(|e| e.to_string())?.len();
                files.push((len, path));
            }
        }
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        let queue = std::sync::Mutex::new(files.iter().map(|(_, p)| p));
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        println!(
            "\n==> wasm-opt -Oz: {} files on {workers} threads",
            files.len()
        );
        let results: Vec<Result> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| -> Result {
                        loop {
                            let next = queue.lock().map_err(|e| e.to_string())?.next();
                            let Some(path) = next else { return Ok(()) };
                            let file = path.to_string_lossy();
                            let mut args = vec!["-Oz", &*file, "-o", &*file];
                            args.extend(WASM_FEATURES);
                            let out = self
                                .cmd("wasm-opt", &args)
                                .output()
                                .map_err(|e| format!("cannot start wasm-opt: {e}"))?;
                            if !out.status.success() {
                                return Err(format!(
                                    "wasm-opt {file} failed ({}): {}",
                                    out.status,
                                    String::from_utf8_lossy(&out.stderr)
                                ));
                            }
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a wasm-opt thread panicked".into()))
                })
                .collect()
        });
        results.into_iter().collect::<Result<Vec<()>>>()?;
        println!("<== wasm-opt -Oz: {:.1}s", started.elapsed().as_secs_f64());
        Ok(())
    }

    /// A gzip copy (`name.gz`, `gzip -9`) beside every text file of the site worth it, which
    /// the server sends to browsers that accept gzip: the wasm goes over the network at about
    /// 40 % of its size, and no CPU is spent compressing at request time.
    fn compress(&self, site: &Path) -> Result {
        let mut files = Vec::new();
        collect_compressible(site, &mut files)?;
        for chunk in files.chunks(200) {
            let mut c = self.cmd("gzip", &["-9", "-n", "-k", "-f"]);
            c.args(chunk);
            let status = c.status().map_err(|e| format!("cannot start gzip: {e}"))?;
            if !status.success() {
                return Err(format!("gzip failed ({status})"));
            }
        }
        println!("gzip: {} files precompressed", files.len());
        Ok(())
    }

    /// `target/site` and a release `tandem` with it embedded. The wasm compiles in the
    /// background while the server's dependencies and library compile; the binary, which
    /// embeds the site, is linked last.
    pub(crate) fn build_release(&self) -> Result {
        let wasm = self.background("build wasm", vec![self.wasm_cargo(&self.wasm_build_args())])?;
        let lib = self.build_library();
        wasm.wait()?;
        lib?;
        self.assemble_site()?;
        self.build_binary()
    }

    /// The server library and everything it depends on, with the release binary's features
    /// (it compiles while the wasm does; the binary then only links).
    fn build_library(&self) -> Result {
        self.step(
            "build server library",
            "cargo",
            &[
                "build",
                "--release",
                "-p",
                "server",
                "--lib",
                "--features",
                SERVER_FEATURES,
            ],
        )
    }

    /// The client-side rendered bundle (`Trunk.toml` → `target/trunk`), compiled in the
    /// browser build's target directory so it shares its dependencies.
    pub(crate) fn trunk_build(&self) -> std::process::Command {
        let mut c = self.cmd("trunk", &["build", "--release"]);
        c.env("CARGO_TARGET_DIR", self.wasm_target_dir());
        c.env(WASM_RUSTFLAGS.0, WASM_RUSTFLAGS.1);
        c
    }

    /// The binary alone (the library and the site already built).
    fn build_binary(&self) -> Result {
        self.step(
            "build tandem",
            "cargo",
            &[
                "build",
                "--release",
                "-p",
                "server",
                "--bin",
                "tandem",
                "--features",
                SERVER_FEATURES,
            ],
        )
    }
}

/// Text files over 1 KiB (wasm, JS, CSS, JSON, SVG, HTML): below that gzip saves too little.
fn collect_compressible(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result {
    const KINDS: [&str; 7] = ["wasm", "js", "mjs", "css", "json", "svg", "html"];
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        let meta = entry.metadata().map_err(|e| e.to_string())?;
        if meta.is_dir() {
            collect_compressible(&path, out)?;
        } else if meta.len() > 1024
            && path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| KINDS.contains(&e))
        {
            out.push(path);
        }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))
}
