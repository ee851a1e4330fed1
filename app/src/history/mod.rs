//! Who wrote what. `file_blame` answers, for the current text of a file, which account wrote
//! each stretch and when (through any number of compactions). Every member may look, viewers
//! included; the server checks the role and that the document is the project's.

use leptos::prelude::*;
use server_fn::codec::Json;

use crate::{
    error::AppError,
    types::{
        DocId, ProjectId,
        history::{Blame, LineRange, Timeline, VersionCursor, VersionId},
    },
};

#[cfg(feature = "browser")]
mod diff;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
use crate::{
    audit::ssr::record as audit,
    types::audit::{AuditAction as Act, AuditTarget as On},
};

mod view;

pub use view::HistoryPanel;

/// The current text of a document of the project, by author.
#[server(endpoint = "history/blame", input = Json)]
pub async fn file_blame(project: ProjectId, doc: DocId) -> Result<Blame, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::history()?.blame(project, doc).await
}

/// A page of a file's timeline, newest first. Viewers may look.
#[server(endpoint = "history/timeline", input = Json)]
pub async fn file_timeline(
    project: ProjectId,
    doc: DocId,
    before: Option<VersionCursor>,
) -> Result<Timeline, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::history()?.timeline(project, doc, before).await
}

/// The text of one version of a file. Viewers may look.
#[server(endpoint = "history/text", input = Json)]
pub async fn version_text(
    project: ProjectId,
    doc: DocId,
    version: VersionId,
) -> Result<String, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::history()?.version_text(project, doc, version).await
}

/// Restores a version (or some of its lines) as a new edit by the caller. Editors only.
#[server(endpoint = "history/restore", input = Json)]
pub async fn restore_version(
    project: ProjectId,
    doc: DocId,
    version: VersionId,
    lines: Option<LineRange>,
) -> Result<(), AppError> {
    let who = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    ssr::history()?
        .restore(project, doc, version, lines, who.user.id)
        .await?;
    let detail = match lines {
        Some(r) => format!("lines {}–{}", r.from, r.to),
        None => "the whole file".to_owned(),
    };
    audit(
        project,
        who.user.id,
        Act::VersionRestored,
        On::Doc(doc),
        detail,
    )
    .await;
    Ok(())
}

/// Keeps the file's current text as a named version. Editors only.
#[server(endpoint = "history/name", input = Json)]
pub async fn name_version(project: ProjectId, doc: DocId, name: String) -> Result<(), AppError> {
    let who = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let name = crate::validate::version_name(&name)?;
    ssr::history()?
        .name_version(project, doc, name.clone(), who.user.id)
        .await?;
    audit(project, who.user.id, Act::VersionNamed, On::Doc(doc), name).await;
    Ok(())
}

pub use crate::when::ago;

/// One coloured stretch of the editor's text: UTF-16 offsets, the author's colour (`None`:
/// nobody known) and the hover text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Shade {
    pub start: u32,
    pub len: u32,
    pub color: Option<usize>,
    pub label: String,
}

/// The blame as the editor draws it, with times relative to `now_ms` and each account in its
/// `color`.
pub fn shades(
    blame: &Blame,
    now_ms: i64,
    color: impl Fn(crate::types::UserId) -> usize,
) -> Vec<Shade> {
    blame
        .runs
        .iter()
        .filter_map(|r| {
            let author = blame.authors.get(r.author as usize)?;
            let who = match (author.user, author.via.label()) {
                (None, _) if r.at == 0 => {
                    return Some(Shade {
                        start: r.start,
                        len: r.len,
                        color: None,
                        label: "Written before Tandem kept authors".to_owned(),
                    });
                }
                (_, Some(how)) => format!("{} ({how})", author.name),
                (_, None) => author.name.clone(),
            };
            let label = if r.at == 0 {
                who
            } else {
                format!("{who}, {}", ago(r.at, now_ms))
            };
            Some(Shade {
                start: r.start,
                len: r.len,
                color: author.user.map(&color),
                label,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{
        UserId,
        history::{BlameAuthor, BlameRun, Via},
    };

    const DAY: i64 = 86_400_000;

    #[test]
    fn times_read_as_people_say_them() {
        let now = 1_000 * DAY;
        assert_eq!(ago(now - 5_000, now), "just now");
        assert_eq!(ago(now - 60_000, now), "1 minute ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 hours ago");
        assert_eq!(ago(now - 3 * DAY, now), "3 days ago");
        assert_eq!(ago(now - 65 * DAY, now), "2 months ago");
        assert_eq!(ago(now - 800 * DAY, now), "2 years ago");
        // A clock behind the server's is "just now", not "-3 seconds".
        assert_eq!(ago(now + 3_000, now), "just now");
    }

    #[test]
    fn shades_name_the_author_how_it_came_and_when() {
        let now = 10 * DAY;
        let blame = Blame {
            authors: vec![
                BlameAuthor {
                    user: Some(UserId(3)),
                    name: "ann".into(),
                    via: Via::Browser,
                },
                BlameAuthor {
                    user: None,
                    name: "Unknown".into(),
                    via: Via::Disk,
                },
                BlameAuthor {
                    user: None,
                    name: "Unknown".into(),
                    via: Via::Unknown,
                },
            ],
            runs: vec![
                BlameRun {
                    start: 0,
                    len: 4,
                    author: 0,
                    at: now - 3 * DAY,
                },
                BlameRun {
                    start: 4,
                    len: 2,
                    author: 1,
                    at: now - 60_000,
                },
                BlameRun {
                    start: 6,
                    len: 1,
                    author: 2,
                    at: 0,
                },
            ],
            text_len: 7,
        };
        let s = shades(&blame, now, |u| u.0 as usize + 1);
        assert_eq!(s[0].label, "ann, 3 days ago");
        assert_eq!(s[0].color, Some(4));
        assert_eq!(s[1].label, "Unknown (from disk), 1 minute ago");
        assert_eq!(s[2].label, "Written before Tandem kept authors");
        assert_eq!(s[2].color, None);
    }
}
