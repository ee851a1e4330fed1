//! Zip in and out, and single-file downloads:
//! - `GET /api/projects/{id}/export.zip[?folder=ID]`: the project (or a folder) as a zip of
//!   the files' live text and binary files' bytes (viewers may download).
//! - `POST /api/projects/import` (multipart: `name`, `file`): a new project from a zip, with
//!   limits on upload size, unpacked size, file count and depth; `..`, absolute paths and
//!   names the tree refuses are rejected with the offending entry named, before anything is
//!   created.
//! - `GET /api/projects/{id}/files/{file}/raw`: one file's content as an attachment.

use std::{
    collections::HashMap,
    io::{Read, Seek, Write},
    path::PathBuf,
};

use app::{
    AppError, AppResult,
    audit::ssr::AuditService,
    files::{FileKind, MAX_TEXT_BYTES, names},
    types::{
        DocId, FileId, ProjectId, Role, UserId,
        audit::{AuditAction, AuditTarget},
    },
};
use axum::{
    body::Body,
    extract::{Multipart, Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use sea_orm::{EntityTrait, TransactionTrait};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;
use tower_sessions::Session;

use super::{
    Files,
    text::{initial_state, text_of},
    tree::{NewEntry, snapshot},
};
use crate::{auth::Membership, db::entities::file_blob, error::ServerError};

/// Limits on an uploaded zip.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    /// The upload itself.
    pub max_upload_bytes: usize,
    /// All files unpacked together.
    pub max_unpacked_bytes: u64,
    /// One file unpacked: the most an import holds in memory at once.
    pub max_file_bytes: u64,
    pub max_files: usize,
}

/// Where an entry's bytes are.
#[derive(Debug, PartialEq, Eq)]
pub enum Data {
    /// In memory (a file read from a mirrored directory).
    Bytes(Vec<u8>),
    /// Inflated into a scratch file of `len` bytes, read when its row is made: an import holds
    /// one file in memory at a time, not the whole archive.
    Spooled { path: PathBuf, len: u64 },
}

impl Data {
    async fn load(&self) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        Ok(match self {
            Self::Bytes(b) => b.as_slice().into(),
            Self::Spooled { path, .. } => tokio::fs::read(path).await?.into(),
        })
    }
}

/// One file of an archive, checked.
#[derive(Debug, PartialEq, Eq)]
pub struct Unpacked {
    /// Path components, each a valid name.
    pub path: Vec<String>,
    pub data: Data,
    /// A folder (kept even when empty).
    pub is_dir: bool,
}

/// What an unpacked archive adds to a project: rows (files and every folder on their paths)
/// and bytes.
pub fn footprint(files: &[Unpacked]) -> (u64, u64) {
    let mut folders: std::collections::HashSet<&[String]> = std::collections::HashSet::new();
    let mut rows = 0u64;
    let mut bytes = 0u64;
    for f in files {
        let parents = if f.is_dir {
            f.path.len() + 1
        } else {
            f.path.len()
        };
        for depth in 1..parents {
            folders.insert(&f.path[..depth]);
        }
        if !f.is_dir {
            rows += 1;
            bytes += match &f.data {
                Data::Bytes(b) => b.len() as u64,
                Data::Spooled { len, .. } => *len,
            };
        }
    }
    (rows + folders.len() as u64, bytes)
}

/// Splits and checks an archive path: relative, no `..`, every part a valid tree name, not
/// too deep. The error names the entry.
pub fn check_path(raw: &str) -> Result<Vec<String>, String> {
    if raw.starts_with('/')
        || raw.starts_with('\\')
        || raw.get(1..3) == Some(":\\")
        || raw.get(1..3) == Some(":/")
    {
        return Err(format!("“{raw}” is an absolute path."));
    }
    let parts: Vec<String> = raw
        .split(['/', '\\'])
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if parts.is_empty() {
        return Err("An entry has an empty name.".into());
    }
    if parts.iter().any(|p| p == "..") {
        return Err(format!("“{raw}” points outside the project (..)."));
    }
    if parts.len() > names::MAX_DEPTH {
        return Err(format!(
            "“{raw}” is nested more than {} deep.",
            names::MAX_DEPTH
        ));
    }
    for p in &parts {
        names::check_name(p).map_err(|e| format!("“{raw}”: {e}"))?;
    }
    Ok(parts)
}

/// Reads every file of a zip within the limits, inflating each into a file under `scratch`.
/// Sizes are enforced on the bytes actually inflated, not on what the archive claims, so a zip
/// bomb stops at the limit; and nothing but one copy buffer is held in memory.
pub fn unpack(
    zip: impl Read + std::io::Seek,
    limits: &ImportLimits,
    scratch: &std::path::Path,
) -> Result<Vec<Unpacked>, String> {
    let mut archive =
        zip::ZipArchive::new(zip).map_err(|e| format!("This is not a readable zip file: {e}"))?;
    if archive.len() > limits.max_files * 2 {
        return Err(format!("The zip has more than {} files.", limits.max_files));
    }
    let mut out = Vec::new();
    let mut total: u64 = 0;
    let mut files = 0usize;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("The zip is damaged: {e}"))?;
        let name = entry.name().to_owned();
        if entry.is_symlink() {
            return Err(format!(
                "“{name}” is a symbolic link; links are not imported."
            ));
        }
        let path = check_path(&name)?;
        if entry.is_dir() {
            out.push(Unpacked {
                path,
                data: Data::Bytes(Vec::new()),
                is_dir: true,
            });
            continue;
        }
        if files == limits.max_files {
            return Err(format!("The zip has more than {} files.", limits.max_files));
        }
        files += 1;
        let room = limits
            .max_unpacked_bytes
            .saturating_sub(total)
            .min(limits.max_file_bytes);
        let spool = scratch.join(files.to_string());
        let mut file = std::fs::File::create(&spool)
            .map_err(|e| format!("“{name}” could not be unpacked: {e}"))?;
        let len = std::io::copy(&mut (&mut entry).take(room + 1), &mut file)
            .map_err(|e| format!("“{name}” could not be unpacked: {e}"))?;
        if len > limits.max_file_bytes {
            return Err(format!(
                "“{name}” unpacks to more than {} MB, the most one file may hold.",
                limits.max_file_bytes >> 20
            ));
        }
        total += len;
        if total > limits.max_unpacked_bytes {
            return Err(format!(
                "The zip unpacks to more than {} MB.",
                limits.max_unpacked_bytes >> 20
            ));
        }
        out.push(Unpacked {
            path,
            data: Data::Spooled { path: spool, len },
            is_dir: false,
        });
    }
    // Case-insensitive clashes and a file where a folder is needed are refused, as in the tree.
    let mut seen: HashMap<Vec<String>, bool> = HashMap::new();
    for u in &out {
        let keys: Vec<String> = u.path.iter().map(|p| names::clash_key(p)).collect();
        for depth in 1..keys.len() {
            if seen.insert(keys[..depth].to_vec(), true) == Some(false) {
                return Err(format!(
                    "“{}” is both a file and a folder.",
                    u.path[..depth].join("/")
                ));
            }
        }
        match seen.insert(keys, u.is_dir) {
            Some(true) if u.is_dir => {}
            Some(_) => {
                return Err(format!(
                    "“{}” appears twice (names differ only in case?).",
                    u.path.join("/")
                ));
            }
            None => {}
        }
    }
    Ok(out)
}

/// Text the editor can take: UTF-8, no NUL bytes, not too large.
pub fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.len() > MAX_TEXT_BYTES || bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

impl super::Files {
    /// Creates the files and folders of an unpacked archive (or a scan of a directory) in
    /// one transaction, reusing folders the tree already has, and announces them. Returns the
    /// rows made, with their paths.
    pub async fn create_all(
        &self,
        project: ProjectId,
        by: UserId,
        files: Vec<Unpacked>,
    ) -> AppResult<Vec<(String, crate::db::entities::file::Model)>> {
        let tree = &self.tree;
        let _guard = tree.lock(project).await?;
        let existing = snapshot(&tree.db, project).await?;
        // Live folders by their path of clash keys.
        let mut folders: HashMap<Vec<String>, FileId> = existing
            .live()
            .filter(|(r, _)| r.kind == FileKind::Folder.as_str())
            .map(|(r, path)| {
                (
                    path.split('/').map(names::clash_key).collect(),
                    FileId(r.id),
                )
            })
            .collect();
        let txn = tree.db.begin().await?;
        let mut made = Vec::new();
        for f in &files {
            let depth_of_parent = if f.is_dir {
                f.path.len() + 1
            } else {
                f.path.len()
            };
            let mut parent = None;
            for depth in 1..depth_of_parent {
                let key: Vec<String> = f.path[..depth]
                    .iter()
                    .map(|p| names::clash_key(p))
                    .collect();
                parent = Some(match folders.get(&key) {
                    Some(id) => *id,
                    None => {
                        let row = tree
                            .insert(
                                &txn,
                                project,
                                by,
                                NewEntry::folder(parent, &f.path[depth - 1]),
                            )
                            .await?;
                        folders.insert(key, FileId(row.id));
                        made.push((f.path[..depth].join("/"), row.clone()));
                        FileId(row.id)
                    }
                });
            }
            if f.is_dir {
                continue;
            }
            let name = f.path.last().map(String::as_str).unwrap_or_default();
            let bytes = f.data.load().await.map_err(|e| {
                tracing::error!(error = %e, "an unpacked file could not be read back");
                AppError::Internal
            })?;
            let (kind, doc, size) = match as_text(&bytes) {
                Some(text) => {
                    let state = tokio::task::block_in_place(|| initial_state(text));
                    let doc = tree
                        .editor
                        .insert_doc(&txn, project, by, Some(state))
                        .await?;
                    (FileKind::File, Some(doc), None)
                }
                None => (FileKind::Blob, None, Some(bytes.len() as i64)),
            };
            let row = tree
                .insert(
                    &txn,
                    project,
                    by,
                    NewEntry {
                        parent,
                        name,
                        kind,
                        doc,
                        size,
                    },
                )
                .await?;
            if kind == FileKind::Blob {
                file_blob::Entity::insert(file_blob::ActiveModel {
                    file_id: sea_orm::Set(row.id),
                    data: sea_orm::Set(bytes.into_owned()),
                })
                .exec(&txn)
                .await?;
            }
            made.push((f.path.join("/"), row));
        }
        txn.commit().await?;
        // Announce in slices so no single event is huge.
        let rows: Vec<_> = made.iter().map(|(_, r)| r.clone()).collect();
        for chunk in rows.chunks(500) {
            tree.announce(project, chunk);
        }
        Ok(made)
    }

    /// The bytes of a file: a text file's live text, or a binary file's stored bytes.
    pub async fn content(&self, project: ProjectId, id: FileId) -> AppResult<(String, Vec<u8>)> {
        let row = self.tree.row(project, id).await?;
        match row.document_id {
            Some(doc) => {
                let state = self.tree.read_state(DocId(doc)).await?;
                let text = text_of(&state).map_err(|e| {
                    tracing::error!(doc, error = %e, "stored document does not decode");
                    AppError::Internal
                })?;
                Ok((row.name, text.into_bytes()))
            }
            None if row.kind == FileKind::Blob.as_str() => {
                let blob = file_blob::Entity::find_by_id(id.0)
                    .one(&self.tree.db)
                    .await?;
                Ok((row.name, blob.map(|b| b.data).unwrap_or_default()))
            }
            None => Err(AppError::invalid("file", "Folders download as a zip.")),
        }
    }

    /// The scratch folder, made if it is missing.
    async fn scratch_dir(&self) -> AppResult<&std::path::Path> {
        tokio::fs::create_dir_all(&self.scratch)
            .await
            .map_err(ServerError::from)?;
        Ok(&self.scratch)
    }

    /// A folder of its own under the scratch folder for one import, removed when dropped.
    async fn scratch(&self) -> AppResult<tempfile::TempDir> {
        let dir = self.scratch_dir().await?.to_owned();
        Ok(crate::error::blocking(move || tempfile::tempdir_in(dir))
            .await?
            .map_err(ServerError::from)?)
    }

    /// The live files under `folder` (or the whole project) as a zip in an unnamed scratch
    /// file. The files are read here and compressed on the blocking pool as they come (a few
    /// in flight), so neither the project's text nor the zip is held in memory.
    pub async fn export(
        &self,
        project: ProjectId,
        folder: Option<FileId>,
    ) -> AppResult<std::fs::File> {
        let tree = snapshot(&self.tree.db, project).await?;
        if let Some(f) = folder
            && !tree
                .rows
                .get(&f)
                .is_some_and(|r| r.kind == FileKind::Folder.as_str() && tree.is_live(f))
        {
            return Err(AppError::NotFound("Folder".into()));
        }
        let base = folder.and_then(|f| tree.path(f)).map(|p| format!("{p}/"));
        let mut ids: Vec<(String, FileId, bool)> = tree
            .live()
            .filter(|(_, path)| base.as_ref().is_none_or(|b| path.starts_with(b.as_str())))
            .map(|(r, path)| (path, FileId(r.id), r.kind == FileKind::Folder.as_str()))
            .collect();
        ids.sort();
        // Texts in bulk, as search reads them (one store query per few hundred files).
        let docs: Vec<DocId> = ids
            .iter()
            .filter_map(|(_, id, _)| tree.rows.get(id)?.document_id.map(DocId))
            .collect();
        let texts = self.tree.texts(&self.texts, project, &docs, None).await?;
        let file = tempfile::tempfile_in(self.scratch_dir().await?).map_err(ServerError::from)?;
        // (path, its bytes; none for a folder)
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, Option<Vec<u8>>)>(4);
        let writer = tokio::task::spawn_blocking(move || {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true);
            let mut out = zip::ZipWriter::new(file);
            while let Some((path, bytes)) = rx.blocking_recv() {
                match bytes {
                    None => out.add_directory(path, options)?,
                    Some(bytes) => {
                        out.start_file(path, options)?;
                        out.write_all(&bytes)?;
                    }
                }
            }
            let mut file = out.finish()?;
            file.rewind()?;
            Ok::<_, zip::result::ZipError>(file)
        });
        for (path, id, is_folder) in ids {
            let bytes = if is_folder {
                None
            } else {
                let text = tree
                    .rows
                    .get(&id)
                    .and_then(|r| r.document_id)
                    .and_then(|d| texts.get(&DocId(d)));
                Some(match text {
                    Some(t) => t.as_bytes().to_vec(),
                    None => self.content(project, id).await?.1,
                })
            };
            if tx.send((path, bytes)).await.is_err() {
                break; // the writer stopped; its error is below
            }
        }
        drop(tx);
        writer.await.map_err(ServerError::from)?.map_err(|e| {
            tracing::error!(error = %e, "zip export failed");
            AppError::Internal
        })
    }
}

/// `attachment; filename*=UTF-8''…`: any name, safely quoted.
fn attachment(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    folder: Option<FileId>,
}

pub async fn export_zip(
    State(files): State<Files>,
    State(membership): State<Membership>,
    State(audit): State<crate::audit::Audit>,
    session: Session,
    Path(project): Path<ProjectId>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let result: AppResult<Response> = async {
        let (user, _) = membership
            .member_of(&session, project, Role::Viewer)
            .await?;
        let name = membership.projects.summary(project, user.id).await?.name;
        let _slot = files.archives.take().await?;
        let zip = tokio::fs::File::from_std(files.export(project, q.folder).await?);
        let len = zip.metadata().await.map_err(ServerError::from)?.len();
        let on = q.folder.map_or(AuditTarget::None, AuditTarget::File);
        audit
            .record(
                project,
                Some(user.id),
                AuditAction::Exported,
                on,
                format!("{len} bytes"),
            )
            .await;
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/zip"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    attachment(&format!("{name}.zip")),
                ),
                (header::CONTENT_LENGTH, HeaderValue::from(len)),
            ],
            // The unnamed scratch file is gone once the body is sent (or dropped).
            Body::from_stream(ReaderStream::new(zip)),
        )
            .into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn raw_file(
    State(files): State<Files>,
    State(membership): State<Membership>,
    session: Session,
    Path((project, file)): Path<(ProjectId, FileId)>,
) -> Response {
    let result: AppResult<Response> = async {
        membership
            .member_of(&session, project, Role::Viewer)
            .await?;
        let (name, bytes) = files.content(project, file).await?;
        Ok((
            [
                // Never rendered by the browser as a page: no HTML injection through a file.
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::CONTENT_DISPOSITION, attachment(&name)),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            bytes,
        )
            .into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The page shown when an import is refused (the form posts without JavaScript).
fn refused_page(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Import refused · Tandem</title>\
             <link rel=\"stylesheet\" href=\"/pkg/tandem.css\"></head><body><main class=\"page\">\
             <h1>Import refused</h1><p class=\"error\" role=\"alert\" data-test=\"import-error\">{escaped}</p>\
             <p><a href=\"/\">Back to your projects</a></p></main></body></html>"
        )),
    )
        .into_response()
}

pub async fn import_zip(
    State(files): State<Files>,
    State(membership): State<Membership>,
    State(audit): State<crate::audit::Audit>,
    session: Session,
    form: Multipart,
) -> Response {
    let result: AppResult<i64> = async {
        let user = app::auth::ssr::user_id_in(&session)
            .await?
            .ok_or(AppError::NotSignedIn)?;
        // Removed with everything in it when the import ends, whichever way.
        let scratch = files.scratch().await?;
        let (name, upload) = receive(form, scratch.path()).await?;
        // Only the unpacking and the writing take a slot: a slow upload holds none.
        let _slot = files.archives.take().await?;
        let limits = files.import;
        let dir = scratch.path().to_owned();
        let unpacked = crate::error::blocking(move || unpack(upload, &limits, &dir))
            .await?
            .map_err(|m| AppError::invalid("file", m))?;
        app::validate::project_name(&name)?;
        let (entries, bytes) = footprint(&unpacked);
        files
            .tree
            .quota
            .check(super::quota::Usage::default(), entries, bytes)?;
        let project = membership.projects.create(user, &name).await?;
        let detail = format!("{entries} entries, {bytes} bytes");
        files.create_all(project.id, user, unpacked).await?;
        audit
            .record(
                project.id,
                Some(user),
                AuditAction::Imported,
                AuditTarget::None,
                detail,
            )
            .await;
        Ok(project.id.0)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/p/{id}")).into_response(),
        Err(AppError::NotSignedIn) => Redirect::to("/login?next=/").into_response(),
        Err(e) => refused_page(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            &e.to_string(),
        ),
    }
}

/// Reads the import form: the project's name and the zip, written to a scratch file as it
/// arrives (the router caps its size), so the upload is never held in memory.
async fn receive(
    mut form: Multipart,
    scratch: &std::path::Path,
) -> AppResult<(String, std::fs::File)> {
    let failed = |e: axum::extract::multipart::MultipartError| {
        AppError::invalid("file", format!("The upload failed: {}", e.body_text()))
    };
    let mut name = String::new();
    let mut upload = None;
    while let Some(mut field) = form.next_field().await.map_err(failed)? {
        match field.name() {
            Some("name") => name = field.text().await.unwrap_or_default().trim().to_owned(),
            Some("file") => {
                if name.is_empty() {
                    name = field
                        .file_name()
                        .map(|f| f.trim_end_matches(".zip").to_owned())
                        .unwrap_or_default();
                }
                let file = tempfile::tempfile_in(scratch).map_err(ServerError::from)?;
                let mut out = tokio::fs::File::from_std(file);
                let mut len = 0;
                while let Some(chunk) = field.chunk().await.map_err(failed)? {
                    len += chunk.len();
                    out.write_all(&chunk).await.map_err(ServerError::from)?;
                }
                out.flush().await.map_err(ServerError::from)?;
                let mut file = out.into_std().await;
                file.rewind().map_err(ServerError::from)?;
                upload = (len > 0).then_some(file);
            }
            _ => {}
        }
    }
    let upload = upload.ok_or_else(|| AppError::invalid("file", "Choose a zip file to import."))?;
    Ok((name, upload))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// Unpacks `zip` into a fresh scratch folder (kept alive with the result).
    fn unpack_in(
        zip: &[u8],
        limits: &ImportLimits,
    ) -> Result<(Vec<Unpacked>, tempfile::TempDir), String> {
        let dir = tempfile::tempdir().expect("scratch");
        let files = unpack(Cursor::new(zip), limits, dir.path())?;
        Ok((files, dir))
    }

    fn read(u: &Unpacked) -> Vec<u8> {
        match &u.data {
            Data::Bytes(b) => b.clone(),
            Data::Spooled { path, .. } => std::fs::read(path).expect("spooled file"),
        }
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("start");
            w.write_all(bytes).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    const LIMITS: ImportLimits = ImportLimits {
        max_upload_bytes: 1 << 20,
        max_unpacked_bytes: 1 << 20,
        max_file_bytes: 512 << 10,
        max_files: 10,
    };

    #[test]
    fn paths_are_checked() {
        assert_eq!(
            check_path("src/main.rs"),
            Ok(vec!["src".into(), "main.rs".into()])
        );
        assert_eq!(check_path("a\\b.txt"), Ok(vec!["a".into(), "b.txt".into()]));
        for bad in [
            "../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "C:\\x",
            "a/con.txt",
            "",
            "a/b\0c",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
        let deep = vec!["d"; names::MAX_DEPTH + 1].join("/");
        assert!(check_path(&deep).is_err());
    }

    #[test]
    fn unpacks_within_limits() {
        let z = zip_of(&[("p/a.txt", b"hello"), ("p/img.bin", &[0, 1, 2])]);
        let (files, _dir) = unpack_in(&z, &LIMITS).expect("unpacks");
        assert_eq!(files.len(), 2);
        assert_eq!(as_text(&read(&files[0])), Some("hello"));
        assert_eq!(as_text(&read(&files[1])), None);
        assert_eq!(footprint(&files), (3, 8), "two files and their folder");
    }

    #[test]
    fn refuses_slips_bombs_and_clashes() {
        let slip = zip_of(&[("../evil.sh", b"x")]);
        assert!(
            unpack_in(&slip, &LIMITS)
                .expect_err("refused")
                .contains("..")
        );
        // 8 MB of zeros compresses to a few kB; inflating stops at the limit of one file
        // (512 kB), and at the total (1 MB) for files under it.
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file(
            "bomb.txt",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .expect("start");
        w.write_all(&vec![b'0'; 8 << 20]).expect("write");
        let bomb = w.finish().expect("finish").into_inner();
        assert!(bomb.len() < 100_000);
        assert!(
            unpack_in(&bomb, &LIMITS)
                .expect_err("refused")
                .contains("the most one file may hold")
        );
        let quarter = vec![b'q'; 300 << 10];
        let four = zip_of(&[
            ("1", &quarter),
            ("2", &quarter),
            ("3", &quarter),
            ("4", &quarter),
        ]);
        assert!(
            unpack_in(&four, &LIMITS)
                .expect_err("refused")
                .contains("The zip unpacks to more than 1 MB")
        );
        let many: Vec<(String, &[u8])> = (0..11).map(|i| (format!("f{i}"), &b"x"[..])).collect();
        let many = zip_of(
            &many
                .iter()
                .map(|(n, b)| (n.as_str(), *b))
                .collect::<Vec<_>>(),
        );
        assert!(
            unpack_in(&many, &LIMITS)
                .expect_err("refused")
                .contains("more than 10")
        );
        let clash = zip_of(&[("A.txt", b"1"), ("a.TXT", b"2")]);
        assert!(unpack_in(&clash, &LIMITS).is_err());
        let both = zip_of(&[("x", b"1"), ("x/y", b"2")]);
        assert!(unpack_in(&both, &LIMITS).is_err());
        assert!(unpack_in(b"not a zip", &LIMITS).is_err());
    }
}
