//! `History`, the `HistoryService`: who wrote what. Authorship lives in two places: the spans
//! compaction stored (`document_authorship`) and the log not folded yet (each row's author,
//! dated by `document_times`); a blame reads both and lays them over the ids of the current
//! text (`collab::attribution`).

use std::collections::HashMap;

use app::{
    AppError, AppResult,
    history::ssr::HistoryService,
    types::{
        DocId, ProjectId, UserId,
        history::{
            Blame, BlameAuthor, BlameRun, LineRange, Timeline, VersionCursor, VersionId, Via,
        },
    },
};
use async_trait::async_trait;
use collab::{
    attribution::{self, Span},
    store::Author,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    db::entities::{document, document_authorship, document_snapshot, document_update},
    editor::{
        Editor,
        store::{self, times_through},
    },
    files::text::{CONTENT, diff_update, text_of},
};

pub mod timeline;

#[derive(Clone)]
pub struct History {
    db: DatabaseConnection,
    editor: Editor,
}

impl History {
    pub fn new(db: DatabaseConnection, editor: Editor) -> Self {
        Self { db, editor }
    }

    /// Every span known for the document: the log not folded yet, then what compaction stored
    /// (read in that order, a compaction in between moves spans from the first place to the
    /// second, where the second read finds them).
    async fn spans(&self, doc: i64) -> AppResult<Vec<Span>> {
        let folded: i64 = document_snapshot::Entity::find_by_id(doc)
            .select_only()
            .column(document_snapshot::Column::Seq)
            .into_tuple()
            .one(&self.db)
            .await?
            .unwrap_or(0);
        let logged = document_update::Entity::find()
            .filter(document_update::Column::DocumentId.eq(doc))
            .filter(document_update::Column::Seq.gt(folded))
            .order_by_asc(document_update::Column::Seq)
            .all(&self.db)
            .await?;
        let times = times_through(&self.db, doc, i64::MAX).await?;
        let mut spans = store::spans_of(&logged, &times);
        let stored = document_authorship::Entity::find()
            .filter(document_authorship::Column::DocumentId.eq(doc))
            .all(&self.db)
            .await?;
        spans.extend(stored.into_iter().map(|s| Span {
            client: s.client.cast_unsigned(),
            start: u32::try_from(s.clock_start).unwrap_or(u32::MAX),
            end: u32::try_from(s.clock_end).unwrap_or(u32::MAX),
            author: Author {
                user: s.author_id,
                via: u8::try_from(s.via).unwrap_or(0),
            },
            at_ms: s.at_ms,
        }));
        Ok(spans)
    }

    /// Not found unless `doc` is a document of `project`.
    async fn check_doc(&self, project: ProjectId, doc: DocId) -> AppResult<()> {
        document::Entity::find_by_id(doc.0)
            .filter(document::Column::ProjectId.eq(project.0))
            .one(&self.db)
            .await?
            .map(drop)
            .ok_or_else(|| AppError::NotFound("Document".into()))
    }
}

#[async_trait]
impl HistoryService for History {
    async fn blame(&self, project: ProjectId, doc: DocId) -> AppResult<Blame> {
        self.check_doc(project, doc).await?;
        let key = crate::editor::engine_id(doc)?;
        let state = self.editor.engine.state(key).await.map_err(|e| {
            tracing::warn!(doc = doc.0, error = %e, "cannot read a document for its blame");
            AppError::Unavailable("The document could not be read; try again.".into())
        })?;
        // The spans are read from the store: first everything in the text just read goes there.
        self.editor.durable(doc).await?;
        let mut spans = self.spans(doc.0).await?;
        // Decoding the text and walking its items is CPU work proportional to the file.
        let (pieces, spans, text_len) = crate::error::blocking(move || {
            let runs = attribution::id_runs(&state, CONTENT)?;
            attribution::sort(&mut spans);
            let text_len = runs.last().map_or(0, |r| r.start + r.len);
            Ok::<_, collab::doc::DocError>((attribution::attribute(&runs, &spans), spans, text_len))
        })
        .await?
        .map_err(|e| {
            tracing::error!(doc = doc.0, error = %e, "a live document does not decode");
            AppError::Internal
        })?;
        let mut keys: Vec<Author> = Vec::new();
        let mut index: HashMap<Author, u32> = HashMap::new();
        let mut runs: Vec<BlameRun> = Vec::with_capacity(pieces.len());
        for p in pieces {
            let (author, at) = p
                .span
                .and_then(|i| spans.get(i))
                .map_or((Author::default(), 0), |s| (s.author, s.at_ms));
            let next = u32::try_from(keys.len()).unwrap_or(u32::MAX);
            let i = *index.entry(author).or_insert_with(|| {
                keys.push(author);
                next
            });
            // Spans are split wherever the stored log was (per update, per compaction), and
            // that differs between a live document and one reloaded after a restart: adjacent
            // pieces of one author at one instant are one run, so the answer is the same.
            match runs.last_mut() {
                Some(last)
                    if last.author == i && last.at == at && last.start + last.len == p.start =>
                {
                    last.len += p.len;
                }
                _ => runs.push(BlameRun {
                    start: p.start,
                    len: p.len,
                    author: i,
                    at,
                }),
            }
        }
        let names = crate::db::user_names(&self.db, keys.iter().filter_map(|a| a.user)).await?;
        let authors = keys
            .iter()
            .map(|a| BlameAuthor {
                user: a.user.map(UserId),
                name: a
                    .user
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| "Unknown".to_owned()),
                via: Via::from_code(a.via),
            })
            .collect();
        Ok(Blame {
            authors,
            runs,
            text_len,
        })
    }

    async fn timeline(
        &self,
        project: ProjectId,
        doc: DocId,
        before: Option<VersionCursor>,
    ) -> AppResult<Timeline> {
        self.check_doc(project, doc).await?;
        // The newest entries come from the log: edits applied but not yet logged go there first.
        if before.is_none() {
            self.editor.durable(doc).await?;
        }
        let (raw, more) = timeline::page(&self.db, doc.0, before).await?;
        let names = crate::db::user_names(&self.db, timeline::people(&raw)).await?;
        Ok(timeline::entries(raw, more, &names))
    }

    async fn version_text(
        &self,
        project: ProjectId,
        doc: DocId,
        version: VersionId,
    ) -> AppResult<String> {
        self.check_doc(project, doc).await?;
        if version == timeline::CURRENT {
            // The text now is the live document's, edits not yet committed included.
            let state = self.editor.state(doc).await?;
            return crate::error::blocking(move || text_of(&state))
                .await?
                .map_err(|e| {
                    tracing::error!(doc = doc.0, error = %e, "a live document does not decode");
                    AppError::Internal
                });
        }
        timeline::text(&self.db, doc.0, version)
            .await
            .map_err(|e| timeline::internal(doc, e))
    }

    async fn restore(
        &self,
        project: ProjectId,
        doc: DocId,
        version: VersionId,
        lines: Option<LineRange>,
        by: UserId,
    ) -> AppResult<()> {
        self.editor.writable()?;
        self.check_doc(project, doc).await?;
        let old = timeline::text(&self.db, doc.0, version)
            .await
            .map_err(|e| timeline::internal(doc, e))?;
        let state = self.editor.state(doc).await?;
        // Diffing and re-encoding is CPU work proportional to the file.
        let update = crate::error::blocking(move || {
            let current = text_of(&state)?;
            let target = timeline::restored(&current, &old, lines);
            diff_update(&state, &target)
        })
        .await?
        .map_err(|e| {
            tracing::error!(doc = doc.0, error = %e, "a live document does not decode");
            AppError::Internal
        })?;
        let Some(update) = update else {
            return Ok(());
        };
        let key = crate::editor::engine_id(doc)?;
        self.editor
            .engine
            .write(key, update, crate::editor::author(Some(by), Via::Restore))
            .await
            .map_err(|e| {
                tracing::warn!(doc = doc.0, error = %e, "a restore could not be applied");
                AppError::Unavailable("The file could not be changed just now; try again.".into())
            })?;
        // "Restored" means saved: the timeline and who-wrote-this read it from the store.
        self.editor.durable(doc).await
    }

    async fn name_version(
        &self,
        project: ProjectId,
        doc: DocId,
        name: String,
        by: UserId,
    ) -> AppResult<()> {
        self.check_doc(project, doc).await?;
        let state = self.editor.state(doc).await?;
        let text = crate::error::blocking(move || text_of(&state))
            .await?
            .map_err(|e| {
                tracing::error!(doc = doc.0, error = %e, "a live document does not decode");
                AppError::Internal
            })?;
        timeline::name(&self.db, doc.0, &text, name, by).await
    }
}
