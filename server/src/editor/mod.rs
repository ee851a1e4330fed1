//! Collaborative documents on the server: the sea-orm update log, the live-document engine,
//! access to a document (session or signed token, then the role on its project) and the
//! `/yjs/{doc}` websocket for any Yjs client.

use std::{path::Path, sync::Arc, time::Duration};

use app::{
    AppError, AppResult,
    editor::ssr::Documents,
    projects::ssr::Projects,
    types::{DocId, ProjectId, Role, UserId, history::Via},
};
use async_trait::async_trait;
use collab::{
    attribution::{self, LoggedUpdate},
    bus::{Bus, InProcessBus, NodeId, nats::NatsBus},
    engine::{Access, Budget, Engine, EngineConfig},
    store::Author,
};
use rand::RngCore;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set, SqlErr,
    TransactionTrait,
};

mod args;
pub mod edits;
pub use args::Args;
pub(crate) mod presence;
pub mod seen;
pub(crate) mod socket;
pub mod store;
pub mod token;
pub mod versions;
pub mod yjs;

/// The shared text's name in a file's document; the browser binding uses the same.
pub const CONTENT: &str = "content";

/// How long a reader of the store waits for a document's pending updates to be stored
/// ([`Editor::durable`]): a commit takes milliseconds; this is for a store in trouble.
pub const DURABLE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

use crate::{
    db::{entities::document, now, now_ms},
    error::{Result, ServerError},
};

/// Limits applied to every document websocket.
#[derive(Debug, Clone, Copy)]
pub struct SocketLimits {
    pub max_message_bytes: usize,
    pub messages_per_sec: u32,
    pub idle_timeout: Duration,
    /// The largest message the server may send: a slow reader's merged backlog.
    pub max_backlog_bytes: usize,
}

#[derive(Clone)]
pub struct Editor {
    pub engine: Engine,
    /// The bus between nodes (in-process on a single node) and this node's id on it; the
    /// project channel shares them.
    pub bus: Arc<dyn Bus>,
    pub node: NodeId,
    db: DatabaseConnection,
    secret: Arc<[u8]>,
    pub limits: SocketLimits,
    /// Free-standing documents (opened by name over `/yjs`) one project may hold.
    max_named: u64,
    /// Who edited which document since the dashboard's feed last looked.
    pub edits: edits::EditTally,
}

/// How a document is named in `/yjs/{doc}`: its id, or a name for a free-standing document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocRef {
    Id(DocId),
    Name(String),
}

impl DocRef {
    pub fn parse(raw: &str) -> AppResult<Self> {
        if let Ok(id) = raw.parse::<i64>() {
            return Ok(Self::Id(DocId(id)));
        }
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if ok {
            Ok(Self::Name(raw.to_owned()))
        } else {
            Err(AppError::invalid(
                "doc",
                "Document names use letters, digits and - _ . : (up to 128).",
            ))
        }
    }
}

impl Editor {
    pub async fn new(args: &Args, data_dir: &Path, db: DatabaseConnection) -> Result<Self> {
        let secret = load_secret(args, data_dir).await?;
        let mut node = [0u8; 8];
        rand::rng().fill_bytes(&mut node);
        let node = NodeId(u64::from_le_bytes(node));
        let bus: Arc<dyn Bus> = match &args.bus {
            Some(url) => {
                let bus = NatsBus::connect(url, &args.bus_prefix, node)
                    .await
                    .map_err(|e| ServerError::Usage(format!("--bus: {e}")))?;
                tracing::info!(
                    url,
                    node = node.0,
                    "documents shared with other nodes over NATS"
                );
                Arc::new(bus)
            }
            None => Arc::new(InProcessBus::default()),
        };
        let edits = edits::EditTally::default();
        let engine = Engine::new(
            Arc::new(
                store::DbDocStore::new(db.clone())
                    .shared(args.bus.is_some())
                    .counting(edits.clone()),
            ),
            bus.clone(),
            node,
            EngineConfig {
                compact_after: args.compact_after_updates.max(1),
                commit_delay: Duration::from_millis(args.commit_delay_ms),
                max_awareness_bytes: args.max_awareness_bytes,
                max_doc_bytes: Some(args.max_doc_bytes).filter(|&n| n > 0),
                outbound: Budget {
                    soft: args.ws_backlog_merge_bytes,
                    hard: args.ws_backlog_max_bytes.max(args.ws_backlog_merge_bytes),
                },
                ..EngineConfig::default()
            },
        );
        Ok(Self {
            engine,
            bus,
            node,
            db,
            secret: secret.into(),
            limits: SocketLimits {
                max_message_bytes: args.ws_max_message_bytes,
                messages_per_sec: args.ws_max_messages_per_sec,
                idle_timeout: Duration::from_secs(args.ws_idle_timeout_secs),
                max_backlog_bytes: args.ws_backlog_max_bytes,
            },
            max_named: args.max_named_docs_per_project,
            edits,
        })
    }

    /// `Unavailable` while the server is in maintenance (its engine frozen): what user-made
    /// changes outside the documents' sockets (file changes, restores, runs) ask first.
    pub fn writable(&self) -> AppResult<()> {
        if self.engine.is_frozen() {
            return Err(crate::ops::in_maintenance());
        }
        Ok(())
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// Records in the background that `user` has seen `docs` as they are now (a tab opened or
    /// closed them); a failure only costs a "changed" mark.
    pub fn seen(&self, user: UserId, docs: Vec<i64>) {
        // A socket dropped while the runtime shuts down has nowhere to run this: skipped.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let db = self.db.clone();
        runtime.spawn(async move {
            if let Err(e) = seen::mark(&db, user, &docs).await {
                tracing::debug!(error = %e, "could not record what a person saw");
            }
        });
    }

    /// A document's whole current state (see `Engine::state`), as a user-facing result.
    pub async fn state(&self, doc: DocId) -> AppResult<Vec<u8>> {
        self.engine.state(engine_id(doc)?).await.map_err(|e| {
            tracing::error!(doc = doc.0, error = %e, "cannot read a document");
            AppError::Internal
        })
    }

    /// Waits (at most [`DURABLE_WAIT`]) until every update applied to `doc` so far is in the
    /// store, for readers of the store that must agree with the live text. Past the bound (a
    /// store failing and retrying) it goes on with what is stored, and says so in the log:
    /// the newest edits then read as not yet attributed rather than the request hanging.
    pub async fn durable(&self, doc: DocId) -> AppResult<()> {
        let key = engine_id(doc)?;
        match tokio::time::timeout(DURABLE_WAIT, self.engine.durable(key)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(doc = doc.0, error = %e, "updates of a document were not stored")
            }
            Err(_) => tracing::warn!(
                doc = doc.0,
                "a document's latest updates are still not stored; reading what is"
            ),
        }
        Ok(())
    }

    /// Finds the document, or creates a named free-standing one in `project` (editors only).
    /// Returns the document and its project.
    pub async fn resolve(
        &self,
        doc: &DocRef,
        project: Option<ProjectId>,
        user: UserId,
        projects: &dyn Projects,
    ) -> AppResult<(collab::DocId, ProjectId, Role)> {
        let found = match doc {
            DocRef::Id(id) => document::Entity::find_by_id(id.0).one(&self.db).await?,
            DocRef::Name(name) => {
                let Some(project) = project else {
                    return Err(AppError::invalid(
                        "project",
                        "Name the project (?project=ID) for a named document.",
                    ));
                };
                document::Entity::find()
                    .filter(document::Column::ProjectId.eq(project.0))
                    .filter(document::Column::Name.eq(name.as_str()))
                    .one(&self.db)
                    .await?
            }
        };
        let (doc_id, project_id) = match (found, doc) {
            (Some(row), _) => (DocId(row.id), ProjectId(row.project_id)),
            (None, DocRef::Id(_)) => return Err(AppError::NotFound("Document".into())),
            (None, DocRef::Name(name)) => {
                let project = project
                    .ok_or_else(|| crate::error::bug("a named document without its project"))?;
                let role = projects
                    .role_of(project, user)
                    .await?
                    .ok_or(AppError::Forbidden)?;
                if role < Role::Editor {
                    return Err(AppError::Forbidden);
                }
                self.check_named_room(project).await?;
                (self.create(project, user, Some(name)).await?, project)
            }
        };
        if project.is_some_and(|p| p != project_id) {
            return Err(AppError::Forbidden);
        }
        let role = projects
            .role_of(project_id, user)
            .await?
            .ok_or(AppError::Forbidden)?;
        Ok((engine_id(doc_id)?, project_id, role))
    }

    /// Refuses a new named document in a project that has `--max-named-docs-per-project`.
    /// Two racing creations may both pass: the limit is one of size, not an exact count.
    async fn check_named_room(&self, project: ProjectId) -> AppResult<()> {
        let named = document::Entity::find()
            .filter(document::Column::ProjectId.eq(project.0))
            .filter(document::Column::Name.is_not_null())
            .count(&self.db)
            .await?;
        if named >= self.max_named {
            crate::limits::refused("max-named-docs-per-project");
            return Err(AppError::TooMany(format!(
                "A project holds at most {} named documents on this server.",
                self.max_named
            )));
        }
        Ok(())
    }

    /// A file's new document, starting from `snapshot` (a whole state as one v1 update).
    pub async fn create_with(
        &self,
        project: ProjectId,
        by: UserId,
        snapshot: Option<Vec<u8>>,
    ) -> AppResult<DocId> {
        let txn = self.db.begin().await?;
        let doc = self.insert_doc(&txn, project, by, snapshot).await?;
        txn.commit().await?;
        Ok(doc)
    }

    /// [`Self::create_with`] inside a caller's transaction.
    pub async fn insert_doc(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        project: ProjectId,
        by: UserId,
        snapshot: Option<Vec<u8>>,
    ) -> AppResult<DocId> {
        let row = document::ActiveModel {
            project_id: Set(project.0),
            name: Set(None),
            created_by: Set(by.0),
            created_at: Set(now()),
            last_seq: Set(0),
            ..Default::default()
        };
        let made = document::Entity::insert(row).exec(db).await?;
        if let Some(snapshot) = snapshot {
            // The first text is its creator's.
            let created = LoggedUpdate {
                data: &snapshot,
                author: Author {
                    user: Some(by.0),
                    via: Via::Created.code(),
                },
                at_ms: now_ms(),
            };
            let spans = attribution::spans_of([created], 0);
            store::save_spans(db, made.last_insert_id, &spans).await?;
            store::save_snapshot(db, made.last_insert_id, 0, snapshot).await?;
        }
        Ok(DocId(made.last_insert_id))
    }

    pub async fn create(
        &self,
        project: ProjectId,
        by: UserId,
        name: Option<&str>,
    ) -> AppResult<DocId> {
        let row = document::ActiveModel {
            project_id: Set(project.0),
            name: Set(name.map(str::to_owned)),
            created_by: Set(by.0),
            created_at: Set(now()),
            last_seq: Set(0),
            ..Default::default()
        };
        match document::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await
        {
            Ok(d) => Ok(DocId(d.id)),
            // Two clients created the same named document at once: use the winner's.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                let name = name.unwrap_or_default();
                document::Entity::find()
                    .filter(document::Column::ProjectId.eq(project.0))
                    .filter(document::Column::Name.eq(name))
                    .one(&self.db)
                    .await?
                    .map(|d| DocId(d.id))
                    .ok_or_else(|| {
                        crate::error::bug("a named document lost its unique-name race and vanished")
                    })
            }
            Err(e) => Err(crate::error::ServerError::from(e).into()),
        }
    }
}

/// How long a token minted in the UI ("Copy Yjs link") stays valid.
const UI_TOKEN_TTL_SECS: i64 = 3600;

#[async_trait]
impl Documents for Editor {
    async fn mint_token(&self, user: UserId, project: ProjectId, doc: DocId) -> AppResult<String> {
        let row = document::Entity::find_by_id(doc.0).one(&self.db).await?;
        if row.is_none_or(|d| d.project_id != project.0) {
            return Err(AppError::NotFound("Document".into()));
        }
        let claims = token::Claims {
            u: user.0,
            p: project.0,
            d: engine_id(doc)?.0,
            exp: now() + UI_TOKEN_TTL_SECS,
        };
        Ok(token::sign(&self.secret, &claims))
    }
}

/// The engine's key for a document id read from the database. Stored ids are positive, so a
/// failure is a bug (logged), never something a user did.
pub fn engine_id(doc: DocId) -> AppResult<collab::DocId> {
    collab::DocId::try_from(doc).map_err(|e| {
        tracing::error!(error = %e, "a stored document id does not fit the engine");
        AppError::Internal
    })
}

pub fn access_for(role: Role) -> Access {
    if role >= Role::Editor {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    }
}

/// The configured secret, or one generated once and kept (owner-readable only) in the data dir.
async fn load_secret(args: &Args, data_dir: &Path) -> Result<Vec<u8>> {
    if let Some(s) = &args.secret {
        return checked_secret(s);
    }
    let path = data_dir.join("secret");
    if let Ok(existing) = tokio::fs::read(&path).await
        && existing.len() >= 32
    {
        return Ok(existing);
    }
    let mut secret = vec![0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    write_private(&path, &secret).await?;
    Ok(secret)
}

/// Shortest secret accepted: it is the HMAC key of every document token, so a short or empty
/// one lets anyone forge tokens.
pub const MIN_SECRET_BYTES: usize = 32;

fn checked_secret(s: &str) -> Result<Vec<u8>> {
    if s.len() < MIN_SECRET_BYTES {
        return Err(crate::error::ServerError::Usage(format!(
            "TANDEM_SECRET must be at least {MIN_SECRET_BYTES} bytes (it signs document tokens); \
             make one with `openssl rand -hex 32`, or leave it unset to keep a generated one in the data folder"
        )));
    }
    Ok(s.as_bytes().to_vec())
}

/// Writes a file only its owner can read, with that mode from the moment it exists (a
/// `chmod` afterwards would leave a window in which others could open it).
async fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
    file.sync_all().await?;
    Ok(())
}

/// Whom the engine logs a connection's or the server's updates as.
pub fn author(user: Option<UserId>, via: Via) -> Author {
    Author {
        user: user.map(|u| u.0),
        via: via.code(),
    }
}
