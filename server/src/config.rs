//! All of Tandem's configuration in one struct: command-line flags, each with an environment
//! variable, so scripts, containers and tests configure the server the same way.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

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
    #[arg(
        long,
        env = "TANDEM_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: PathBuf,

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

    /// Mark cookies `Secure` (send only over HTTPS). Turn on behind TLS.
    #[arg(long, env = "TANDEM_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,

    /// Log a session out after this many minutes without a request.
    #[arg(long, env = "TANDEM_SESSION_IDLE_MINUTES", default_value_t = 7 * 24 * 60, global = true)]
    pub session_idle_minutes: u32,

    /// Failed logins allowed per account within the login window before it is locked for the
    /// rest of the window.
    #[arg(
        long,
        env = "TANDEM_LOGIN_MAX_FAILURES",
        default_value_t = 5,
        global = true
    )]
    pub login_max_failures: u32,

    /// Failed logins allowed per client IP within the login window.
    #[arg(
        long,
        env = "TANDEM_LOGIN_MAX_FAILURES_PER_IP",
        default_value_t = 30,
        global = true
    )]
    pub login_max_failures_per_ip: u32,

    /// Length of the login rate-limit window, in seconds.
    #[arg(long, env = "TANDEM_LOGIN_WINDOW_SECS", default_value_t = 15 * 60, global = true)]
    pub login_window_secs: u64,

    /// Secret for signing Yjs access tokens. Defaults to a random one kept in
    /// `<data-dir>/secret`; set it explicitly when several nodes share a database.
    #[arg(long, env = "TANDEM_SECRET", hide_env_values = true, global = true)]
    pub secret: Option<String>,

    /// Largest zip upload accepted by "Import from zip", in bytes.
    #[arg(long, env = "TANDEM_IMPORT_MAX_UPLOAD_BYTES", default_value_t = 100 << 20, global = true)]
    pub import_max_upload_bytes: usize,

    /// Largest total size an imported zip may unpack to, in bytes (zip bombs stop here).
    #[arg(long, env = "TANDEM_IMPORT_MAX_UNPACKED_BYTES", default_value_t = 500 << 20, global = true)]
    pub import_max_unpacked_bytes: u64,

    /// Most files an imported zip may hold.
    #[arg(
        long,
        env = "TANDEM_IMPORT_MAX_FILES",
        default_value_t = 20_000,
        global = true
    )]
    pub import_max_files: usize,

    /// A directory on this machine to serve as a disk-backed project (repeatable, or
    /// comma-separated in the environment). Its files are imported, browser edits are written
    /// back, and changes made on disk appear live. The project is created on first start.
    #[arg(
        long = "dir",
        env = "TANDEM_DIRS",
        value_delimiter = ',',
        global = true
    )]
    pub dirs: Vec<PathBuf>,

    /// Accounts that may open folders on this server as projects from the web UI (repeatable).
    /// They can read and change any folder the server process can.
    #[arg(
        long = "admin",
        env = "TANDEM_ADMINS",
        value_delimiter = ',',
        global = true
    )]
    pub admins: Vec<String>,

    /// The account that owns projects created for `--dir` (default: the first account).
    #[arg(long, env = "TANDEM_DIR_OWNER", global = true)]
    pub dir_owner: Option<String>,

    /// Names skipped in disk-backed projects, besides `.gitignore`d paths and `.git`.
    #[arg(
        long,
        env = "TANDEM_DIR_IGNORE",
        value_delimiter = ',',
        default_value = "node_modules,target",
        global = true
    )]
    pub dir_ignore: Vec<String>,

    /// Milliseconds between an edit and writing the file to disk (edits in between are
    /// written together).
    #[arg(
        long,
        env = "TANDEM_DIR_FLUSH_MS",
        default_value_t = 200,
        global = true
    )]
    pub dir_flush_ms: u64,

    /// Largest websocket message accepted, in bytes; a bigger one closes the connection.
    #[arg(long, env = "TANDEM_WS_MAX_MESSAGE_BYTES", default_value_t = 2 * 1024 * 1024, global = true)]
    pub ws_max_message_bytes: usize,

    /// Sustained websocket messages per second allowed per connection (bursts of twice that).
    #[arg(
        long,
        env = "TANDEM_WS_MAX_MESSAGES_PER_SEC",
        default_value_t = 200,
        global = true
    )]
    pub ws_max_messages_per_sec: u32,

    /// Close a websocket that sent nothing (not even a pong) for this many seconds.
    #[arg(
        long,
        env = "TANDEM_WS_IDLE_TIMEOUT_SECS",
        default_value_t = 45,
        global = true
    )]
    pub ws_idle_timeout_secs: u64,

    /// Fold a document's update log into a snapshot after this many logged updates.
    #[arg(
        long,
        env = "TANDEM_COMPACT_AFTER_UPDATES",
        default_value_t = 1000,
        global = true
    )]
    pub compact_after_updates: u64,

    /// Milliseconds the first update of a batch waits for others before it is committed.
    /// Batches also form while the previous commit is being written, so 0 still groups
    /// updates under load.
    #[arg(
        long,
        env = "TANDEM_COMMIT_DELAY_MS",
        default_value_t = 0,
        global = true
    )]
    pub commit_delay_ms: u64,

    /// Largest chat message, in bytes (after trimming).
    #[arg(long, env = "TANDEM_CHAT_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024, global = true)]
    pub chat_max_message_bytes: usize,

    /// Chat messages one user may send per minute (a minute's worth may come at once).
    #[arg(
        long,
        env = "TANDEM_CHAT_MESSAGES_PER_MINUTE",
        default_value_t = 60,
        global = true
    )]
    pub chat_messages_per_minute: u32,

    /// Base URL of an OpenAI-compatible chat-completions API for the assistant, e.g.
    /// `https://api.openai.com/v1` or Ollama's `http://127.0.0.1:11434/v1`. Without it the AI
    /// commands explain how to configure one.
    #[arg(long, env = "TANDEM_AI_BASE_URL", global = true)]
    pub ai_base_url: Option<String>,

    /// Model name the provider knows, e.g. `gpt-4o-mini` or `qwen2.5-coder:7b`.
    #[arg(long, env = "TANDEM_AI_MODEL", global = true)]
    pub ai_model: Option<String>,

    /// API key sent as a bearer token (stays on the server).
    #[arg(long, env = "TANDEM_AI_API_KEY", hide_env_values = true, global = true)]
    pub ai_api_key: Option<String>,

    /// Seconds to wait for the provider to start answering, and between two pieces of it.
    #[arg(
        long,
        env = "TANDEM_AI_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub ai_timeout_secs: u64,

    /// Most tokens in one answer.
    #[arg(
        long,
        env = "TANDEM_AI_MAX_TOKENS",
        default_value_t = 1024,
        global = true
    )]
    pub ai_max_tokens: u32,

    /// Characters of the open file (around the cursor) sent with a question.
    #[arg(
        long,
        env = "TANDEM_AI_CONTEXT_CHARS",
        default_value_t = 12_000,
        global = true
    )]
    pub ai_context_chars: usize,

    /// AI requests (questions and regenerations) one user may make per minute.
    #[arg(
        long,
        env = "TANDEM_AI_REQUESTS_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub ai_requests_per_minute: u32,

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
    pub fn import_limits(&self) -> crate::files::archive::ImportLimits {
        crate::files::archive::ImportLimits {
            max_upload_bytes: self.import_max_upload_bytes,
            max_unpacked_bytes: self.import_max_unpacked_bytes,
            max_files: self.import_max_files,
        }
    }

    /// Chat limits and the AI provider; an error when the AI flags are incomplete.
    pub fn chat(&self) -> Result<crate::chat::ChatSettings, String> {
        let ai = match (&self.ai_base_url, &self.ai_model) {
            (None, None) => None,
            (Some(_), None) => return Err("--ai-base-url needs --ai-model as well".into()),
            (None, Some(_)) => return Err("--ai-model needs --ai-base-url as well".into()),
            (Some(base), Some(model)) => Some(crate::chat::ai::AiConfig {
                base_url: base.clone(),
                model: model.clone(),
                api_key: self.ai_api_key.clone().filter(|k| !k.is_empty()),
                timeout: Duration::from_secs(self.ai_timeout_secs.max(1)),
                max_tokens: self.ai_max_tokens.max(1),
                context_chars: self.ai_context_chars.max(200),
            }),
        };
        Ok(crate::chat::ChatSettings {
            max_message_bytes: self.chat_max_message_bytes.max(1),
            messages_per_minute: self.chat_messages_per_minute,
            ai_requests_per_minute: self.ai_requests_per_minute,
            ai,
        })
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tandem.db").display()
            ),
        }
    }

    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(u64::from(self.session_idle_minutes) * 60)
    }

    pub fn login_window(&self) -> Duration {
        Duration::from_secs(self.login_window_secs)
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
