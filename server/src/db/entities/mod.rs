//! sea-orm entities, one file per table.

pub mod access_change;
pub mod ai_usage;
pub mod audit_entry;
pub mod chat_message;
pub mod document;
pub mod document_authorship;
pub mod document_seen;
pub mod document_snapshot;
pub mod document_time;
pub mod document_update;
pub mod document_version;
pub mod file;
pub mod file_blob;
pub mod invite;
pub mod lease;
pub mod member;
pub mod project;
pub mod project_ai;
pub mod purged_file;
pub mod rate_count;
pub mod run;
pub mod run_settings;
pub mod session;
pub mod suggestion;
pub mod terminal;
pub mod user;
