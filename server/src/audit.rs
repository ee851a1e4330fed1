//! The project audit log: `Audit` appends entries (the `AuditService` every feature records
//! through), reads them back filtered a page at a time, exports them as CSV or JSON
//! (`/api/projects/{id}/audit`), and forgets entries older than the retention period.
//!
//! Append-only through the application: there is an insert and reads, no update, and the only
//! delete is the retention sweep (by age, never one entry).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use app::{
    AppResult,
    audit::ssr::AuditService,
    types::{
        ProjectId, Role, UserId,
        audit::{AuditAction, AuditEntry, AuditFilter, AuditPage, AuditTarget},
    },
};
use async_trait::async_trait;
use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, Set,
};
use serde::Deserialize;
use tower_sessions::Session;

use crate::{
    auth::Membership,
    db::{
        entities::{audit_entry, file, user},
        now_ms,
    },
};

/// Entries per page of the log page.
pub const PAGE: u64 = 100;
/// Rows per database read while exporting.
const EXPORT_BATCH: u64 = 1000;
/// Longest target or detail stored (a path, a command line).
const TEXT_MAX: usize = 500;

/// A person opening a project again within this long is not recorded again.
const OPENED_QUIET_MS: i64 = 30 * 60_000;
/// Openings remembered for that; past it the memory starts over (an extra entry at worst).
const OPENED_REMEMBERED: usize = 10_000;

#[derive(Clone)]
pub struct Audit {
    db: DatabaseConnection,
    /// Entries older than this many days go (0: kept for ever).
    retention_days: u32,
    /// When this node last recorded each (person, project) opening.
    opened: Arc<Mutex<HashMap<(UserId, ProjectId), i64>>>,
}

fn cut(mut s: String) -> String {
    if s.len() > TEXT_MAX {
        let mut end = TEXT_MAX;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

impl Audit {
    pub fn new(db: DatabaseConnection, retention_days: u32) -> Self {
        Self {
            db,
            retention_days,
            opened: Arc::default(),
        }
    }

    /// Records that `user` opened `project` (a tab connected), once per half hour per person:
    /// reloads and reconnects are not sign-ins.
    pub async fn opened(&self, project: ProjectId, user: UserId) {
        let now = now_ms();
        {
            let mut seen = crate::lock::lock(&self.opened);
            if seen
                .get(&(user, project))
                .is_some_and(|&at| now - at < OPENED_QUIET_MS)
            {
                return;
            }
            if seen.len() >= OPENED_REMEMBERED {
                seen.clear();
            }
            seen.insert((user, project), now);
        }
        self.record(
            project,
            Some(user),
            AuditAction::ProjectOpened,
            AuditTarget::None,
            String::new(),
        )
        .await;
    }

    async fn name_of(&self, user: UserId) -> AppResult<Option<String>> {
        Ok(user::Entity::find_by_id(user.0)
            .select_only()
            .column(user::Column::Name)
            .into_tuple()
            .one(&self.db)
            .await?)
    }

    /// The target as the log names it: a person's name, a file's path.
    async fn describe(&self, target: AuditTarget) -> AppResult<String> {
        let file_row = match target {
            AuditTarget::None => return Ok(String::new()),
            AuditTarget::Text(t) => return Ok(t),
            AuditTarget::User(u) => {
                return Ok(self
                    .name_of(u)
                    .await?
                    .unwrap_or_else(|| format!("user {u}")));
            }
            AuditTarget::File(f) => file::Entity::find_by_id(f.0).one(&self.db).await?,
            AuditTarget::Doc(d) => {
                file::Entity::find()
                    .filter(file::Column::DocumentId.eq(d.0))
                    .one(&self.db)
                    .await?
            }
        };
        let Some(mut row) = file_row else {
            return Ok("a file no longer there".to_owned());
        };
        // The path through the folders (bounded: folders nest at most a few dozen deep).
        let mut path = row.name.clone();
        for _ in 0..64 {
            let Some(parent) = row.parent_id else { break };
            let Some(up) = file::Entity::find_by_id(parent).one(&self.db).await? else {
                break;
            };
            path = format!("{}/{path}", up.name);
            row = up;
        }
        Ok(path)
    }

    async fn insert(
        &self,
        project: ProjectId,
        actor: Option<UserId>,
        action: AuditAction,
        target: AuditTarget,
        detail: String,
    ) -> AppResult<()> {
        let actor_name = match actor {
            Some(u) => self
                .name_of(u)
                .await?
                .unwrap_or_else(|| format!("user {u}")),
            None => "Tandem".to_owned(),
        };
        let target = self.describe(target).await?;
        audit_entry::Entity::insert(audit_entry::ActiveModel {
            project_id: Set(project.0),
            at_ms: Set(now_ms()),
            actor_id: Set(actor.map(|a| a.0)),
            actor_name: Set(actor_name),
            action: Set(action.code().to_owned()),
            target: Set(cut(target)),
            detail: Set(cut(detail)),
            ..Default::default()
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    fn filtered(project: ProjectId, f: &AuditFilter) -> Select<audit_entry::Entity> {
        use audit_entry::Column as C;
        let mut c = Condition::all().add(C::ProjectId.eq(project.0));
        if let Some(a) = f.actor {
            c = c.add(C::ActorId.eq(a.0));
        }
        if let Some(a) = f.action {
            c = c.add(C::Action.eq(a.code()));
        }
        if let Some(t) = f.from {
            c = c.add(C::AtMs.gte(t));
        }
        if let Some(t) = f.to {
            c = c.add(C::AtMs.lt(t));
        }
        audit_entry::Entity::find().filter(c)
    }

    /// Deletes entries past the retention period; returns how many.
    pub async fn sweep(&self) -> AppResult<u64> {
        if self.retention_days == 0 {
            return Ok(0);
        }
        let cutoff = now_ms() - i64::from(self.retention_days) * 86_400_000;
        let gone = audit_entry::Entity::delete_many()
            .filter(audit_entry::Column::AtMs.lt(cutoff))
            .exec(&self.db)
            .await?;
        Ok(gone.rows_affected)
    }
}

fn entry(m: audit_entry::Model) -> AuditEntry {
    AuditEntry {
        id: m.id,
        at: m.at_ms,
        actor: m.actor_id.map(UserId),
        actor_name: m.actor_name,
        action: AuditAction::parse(&m.action),
        target: m.target,
        detail: m.detail,
    }
}

#[async_trait]
impl AuditService for Audit {
    async fn record(
        &self,
        project: ProjectId,
        actor: Option<UserId>,
        action: AuditAction,
        target: AuditTarget,
        detail: String,
    ) {
        if let Err(e) = self.insert(project, actor, action, target, detail).await {
            tracing::error!(project = project.0, action = action.code(), error = %e, "an audit entry could not be written");
        }
    }

    async fn list(
        &self,
        project: ProjectId,
        filter: AuditFilter,
        before: Option<i64>,
    ) -> AppResult<AuditPage> {
        let mut q = Self::filtered(project, &filter);
        if let Some(b) = before {
            q = q.filter(audit_entry::Column::Id.lt(b));
        }
        let mut rows = q
            .order_by_desc(audit_entry::Column::Id)
            .limit(PAGE + 1)
            .all(&self.db)
            .await?;
        let more = (rows.len() as u64 > PAGE).then(|| {
            rows.truncate(PAGE as usize);
            rows.last().map(|r| r.id)
        });
        Ok(AuditPage {
            entries: rows.into_iter().map(entry).collect(),
            more: more.flatten(),
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
    actor: Option<i64>,
    action: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

/// A CSV field: quoted when it holds a separator, a quote or a line break; a leading
/// `= + - @` is neutralised so a spreadsheet does not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv_line(e: &AuditEntry) -> String {
    let fields = [
        e.id.to_string(),
        app::audit::format_ms(e.at),
        e.actor.map(|a| a.to_string()).unwrap_or_default(),
        e.actor_name.clone(),
        e.action.code().to_owned(),
        e.target.clone(),
        e.detail.clone(),
    ];
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// `GET /api/projects/{id}/audit?format=csv|json&actor=&action=&from=&to=`: the whole
/// filtered log, oldest first, streamed a batch at a time. Owners only.
pub async fn export(
    State(audit): State<Audit>,
    State(membership): State<Membership>,
    session: Session,
    Path(project): Path<ProjectId>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let result: AppResult<Response> = async {
        membership.member_of(&session, project, Role::Owner).await?;
        let json = match q.format.as_deref() {
            None | Some("csv") => false,
            Some("json") => true,
            Some(_) => {
                return Err(app::AppError::invalid("format", "Export as csv or json."));
            }
        };
        let filter = AuditFilter {
            actor: q.actor.map(UserId),
            action: q.action.as_deref().map(AuditAction::parse),
            from: q.from,
            to: q.to,
        };
        // (after this id, first batch)
        let start = (0i64, true);
        let stream = futures_util::stream::try_unfold(start, move |(after, first)| {
            let audit = audit.clone();
            let filter = filter.clone();
            async move {
                if after < 0 {
                    return Ok::<_, std::io::Error>(None);
                }
                let rows = Audit::filtered(project, &filter)
                    .filter(audit_entry::Column::Id.gt(after))
                    .order_by_asc(audit_entry::Column::Id)
                    .limit(EXPORT_BATCH)
                    .all(&audit.db)
                    .await
                    .map_err(std::io::Error::other)?;
                let last = rows.last().map(|r| r.id);
                let done = (rows.len() as u64) < EXPORT_BATCH;
                let mut out = String::new();
                if first {
                    out.push_str(if json {
                        "["
                    } else {
                        "id,time,actor_id,actor,action,target,detail\r\n"
                    });
                }
                for (i, m) in rows.into_iter().enumerate() {
                    let e = entry(m);
                    if json {
                        if !(first && i == 0) {
                            out.push(',');
                        }
                        out.push_str(&serde_json::to_string(&e).map_err(std::io::Error::other)?);
                    } else {
                        out.push_str(&csv_line(&e));
                    }
                }
                if done && json {
                    out.push(']');
                }
                let next = if done { -1 } else { last.unwrap_or(-1) };
                Ok(Some((bytes::Bytes::from(out), (next, false))))
            }
        });
        let (mime, ext) = if json {
            ("application/json", "json")
        } else {
            ("text/csv; charset=utf-8", "csv")
        };
        Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                (
                    header::CONTENT_DISPOSITION,
                    // ASCII only (a number and an extension): no encoding needed.
                    HeaderValue::from_str(&format!(
                        "attachment; filename=\"audit-{project}.{ext}\""
                    ))
                    .map_err(|_| crate::error::bug("an ASCII header value"))?,
                ),
            ],
            Body::from_stream(stream),
        )
            .into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-rm"), "'-rm");
        assert_eq!(cut("é".repeat(400)).chars().count(), 251);
    }
}
