//! The live-document flags: socket limits, compaction, group commit and the token secret.

use clap::Args as ClapArgs;

#[derive(ClapArgs, Debug, Clone)]
// Each feature's flags are a group named for the feature: four structs all called `Args` would
// share one group id, which clap's debug assertions refuse.
#[group(id = "editor_args")]
pub struct Args {
    /// Secret for signing Yjs access tokens. Defaults to a random one kept in
    /// `<data-dir>/secret`; set it explicitly when several nodes share a database.
    #[arg(long, env = "TANDEM_SECRET", hide_env_values = true, global = true)]
    pub secret: Option<String>,

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

    /// Largest awareness state (cursor and name) one client may publish, in bytes.
    #[arg(
        long,
        env = "TANDEM_MAX_AWARENESS_BYTES",
        default_value_t = 8 * 1024,
        global = true
    )]
    pub max_awareness_bytes: usize,

    /// Websockets (`/ws` tabs and `/yjs` clients together) one account may hold open.
    #[arg(
        long,
        env = "TANDEM_MAX_SOCKETS_PER_USER",
        default_value_t = 32,
        global = true
    )]
    pub max_sockets_per_user: usize,

    /// Bytes one document (a file's text with its edit history, as stored) may take; an edit
    /// that would go past it is refused with a message (deleting always works). 0: no limit.
    #[arg(
        long,
        env = "TANDEM_MAX_DOC_BYTES",
        default_value_t = 16 << 20,
        global = true
    )]
    pub max_doc_bytes: u64,

    /// Free-standing documents (opened by name over `/yjs`, not files) one project may hold.
    #[arg(
        long,
        env = "TANDEM_MAX_NAMED_DOCS_PER_PROJECT",
        default_value_t = 100,
        global = true
    )]
    pub max_named_docs_per_project: u64,

    /// Bytes queued for one slow reader of a document before the updates waiting for it are
    /// merged into one (it catches up in one message instead of being disconnected).
    #[arg(
        long,
        env = "TANDEM_WS_BACKLOG_MERGE_BYTES",
        default_value_t = 1 << 20,
        global = true
    )]
    pub ws_backlog_merge_bytes: usize,

    /// Bytes a reader's merged backlog may reach before it is disconnected (1013) and resyncs
    /// on reconnect. At least twice `--max-doc-bytes`, so any document fits in one catch-up.
    #[arg(
        long,
        env = "TANDEM_WS_BACKLOG_MAX_BYTES",
        default_value_t = 32 << 20,
        global = true
    )]
    pub ws_backlog_max_bytes: usize,

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

    /// Link this node with the other Tandem nodes that share its database, over NATS
    /// (`nats://host:4222`): edits and cursors in a document open on several nodes reach every
    /// node's clients. Every node needs the same `--secret`. Without it, one process is the
    /// whole server (the in-process bus).
    #[arg(long, env = "TANDEM_BUS", global = true)]
    pub bus: Option<String>,

    /// Subject prefix on the bus, so several deployments can share one NATS server.
    #[arg(
        long,
        env = "TANDEM_BUS_PREFIX",
        default_value = "tandem",
        global = true
    )]
    pub bus_prefix: String,
}
