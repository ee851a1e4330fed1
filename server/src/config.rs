//! All of Tandem's configuration in one struct: command-line flags, each with an environment
//! variable, so scripts, containers and tests configure the server the same way. Each feature
//! owns its flags (`auth::Args`, `editor::Args`, `files::Args`, `chat::Args`), flattened here;
//! this module imports those types and nothing of their internals.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "tandem",
    version,
    about = "Tandem: a self-hosted, browser-based collaborative IDE.",
    long_about = "Tandem serves a collaborative IDE over HTTP. Run without a subcommand (or with \
                  `serve`) to start the server; the other subcommands administer the database."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Start the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Mint a short-lived token for `/yjs/{doc}?token=…` (for scripts and Yjs clients).
    Token {
        /// The user the token acts as; their role on the project applies.
        #[arg(long)]
        user: String,
        /// Project id.
        #[arg(long)]
        project: i64,
        /// Document id, or a name for a free-standing document (created on first use).
        #[arg(long)]
        doc: String,
        /// Lifetime, e.g. `30m`, `1h`, `2d`.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input (first line).
    Add { name: String },
    /// Set an account's password (read from standard input, first line) and sign it out
    /// everywhere: every session ends and its open sockets close, on running servers too.
    Password { name: String },
    /// Let an account open folders of this server as projects (it can then read and change
    /// anything the server process can); `--off` takes that away.
    Admin {
        name: String,
        #[arg(long)]
        off: bool,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum ProjectCommand {
    /// Create a project owned by an existing user.
    Add {
        name: String,
        #[arg(long)]
        owner: String,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "TANDEM_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,

    /// Directory for Tandem's own data (the SQLite database by default).
    #[arg(long, env = "TANDEM_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    /// Defaults to an SQLite file `tandem.db` in the data directory.
    #[arg(long, env = "TANDEM_DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Directory holding the built site (`pkg/` with the wasm, js and css, plus public assets).
    /// A release binary carries its site inside itself and needs none; set this to serve
    /// another build. Without either, `target/site` (what cargo-leptos builds).
    #[arg(long, env = "TANDEM_SITE_ROOT", global = true)]
    pub site_root: Option<PathBuf>,

    /// Log output format.
    #[arg(
        long,
        env = "TANDEM_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,

    /// Log filter in `tracing` EnvFilter syntax, e.g. `info,server=debug`.
    #[arg(long, env = "TANDEM_LOG", default_value = "info", global = true)]
    pub log_filter: String,

    #[command(flatten)]
    pub auth: crate::auth::Args,

    #[command(flatten)]
    pub editor: crate::editor::Args,

    #[command(flatten)]
    pub files: crate::files::Args,

    #[command(flatten)]
    pub chat: crate::chat::Args,

    #[command(flatten)]
    pub assist: crate::assist::Args,

    #[command(flatten)]
    pub runs: crate::runs::Args,

    #[command(flatten)]
    pub ops: crate::ops::Args,

    /// The key that seals project secrets at rest: 64 hexadecimal digits (32 bytes). Without
    /// it, `secrets.key` in the data directory (made on first start, mode 0600). Every node
    /// of a cluster needs the same key; secrets sealed with another key do not open.
    #[arg(
        long,
        env = "TANDEM_SECRETS_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secrets_key: Option<String>,

    /// Days a project's audit log keeps its entries (0: for ever).
    #[arg(
        long,
        env = "TANDEM_AUDIT_RETENTION_DAYS",
        default_value_t = 365,
        global = true
    )]
    pub audit_retention_days: u32,

    /// How often the editor's edit counts are written into the team dashboard's feed (ms).
    #[arg(
        long,
        env = "TANDEM_FEED_FLUSH_MS",
        default_value_t = 5_000,
        global = true
    )]
    pub feed_flush_ms: u64,

    /// Seconds to let in-flight requests finish after SIGINT/SIGTERM.
    #[arg(
        long,
        env = "TANDEM_SHUTDOWN_GRACE_SECS",
        default_value_t = 10,
        global = true
    )]
    pub shutdown_grace_secs: u64,
}

impl Config {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tandem.db").display()
            ),
        }
    }

    /// The folder Leptos serves static files from when they are not embedded.
    pub fn site_dir(&self) -> PathBuf {
        self.site_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("target/site"))
    }

    /// Defaults for tests and embedding: everything as the CLI would default it.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Cli::parse_from(["tandem"]).config;
        config.data_dir = data_dir.into();
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn sqlite_in_data_dir_by_default() {
        let config = Config::for_data_dir("/tmp/x");
        assert_eq!(config.database_url(), "sqlite:///tmp/x/tandem.db?mode=rwc");
        assert_eq!(config.bind.to_string(), "127.0.0.1:3000");
    }
}
