//! The team dashboard: who edited which file (the editor's counts, folded into one row per
//! person, file and burst of work rather than one per keystroke), and mentions of a member in
//! the chat with whether they have read them (kept on the server, so the unread count is the
//! same on every device).

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{big, fk, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            &Table::create()
                .table(EditActivity::Table)
                .if_not_exists()
                .col(id_col(EditActivity::Id))
                .col(big(EditActivity::ProjectId))
                // No foreign keys to users or files: the feed outlives both (it shows the
                // name the file had).
                .col(big(EditActivity::UserId))
                .col(big(EditActivity::FileId))
                .col(big(EditActivity::Updates))
                .col(big(EditActivity::FirstAt))
                .col(big(EditActivity::At))
                .foreign_key(&mut fk(
                    "fk_edit_activity_project",
                    (EditActivity::Table, EditActivity::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_edit_activity_project_at")
                .table(EditActivity::Table)
                .col(EditActivity::ProjectId)
                .col(EditActivity::At)
                .if_not_exists(),
        ),
        backend.build(
            Index::create()
                .name("idx_edit_activity_burst")
                .table(EditActivity::Table)
                .col(EditActivity::ProjectId)
                .col(EditActivity::UserId)
                .col(EditActivity::FileId)
                .col(EditActivity::At)
                .if_not_exists(),
        ),
        backend.build(
            &Table::create()
                .table(ChatMentions::Table)
                .if_not_exists()
                .col(id_col(ChatMentions::Id))
                .col(big(ChatMentions::UserId))
                .col(big(ChatMentions::ProjectId))
                .col(big(ChatMentions::MessageId))
                .col(big(ChatMentions::CreatedAt))
                .col(ColumnDef::new(ChatMentions::ReadAt).big_integer().null())
                .foreign_key(&mut fk(
                    "fk_chat_mention_message",
                    (ChatMentions::Table, ChatMentions::MessageId),
                    (ChatMessages::Table, ChatMessages::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_chat_mention_once")
                .table(ChatMentions::Table)
                .col(ChatMentions::MessageId)
                .col(ChatMentions::UserId)
                .unique()
                .if_not_exists(),
        ),
        backend.build(
            Index::create()
                .name("idx_chat_mention_user")
                .table(ChatMentions::Table)
                .col(ChatMentions::UserId)
                .col(ChatMentions::Id)
                .if_not_exists(),
        ),
    ]
}
