//! Project chat. The id is the chat's order; `(project, author, client_id)` is unique so a
//! resent message is found instead of stored twice; history pages walk `(project, id)`.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{fk, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    let big = |c: ChatMessages| ColumnDef::new(c).big_integer().not_null().to_owned();
    let opt_big = |c: ChatMessages| ColumnDef::new(c).big_integer().null().to_owned();
    vec![
        backend.build(
            &Table::create()
                .table(ChatMessages::Table)
                .if_not_exists()
                .col(id_col(ChatMessages::Id))
                .col(big(ChatMessages::ProjectId))
                .col(big(ChatMessages::AuthorId))
                .col(
                    ColumnDef::new(ChatMessages::ClientId)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(ChatMessages::Kind).string_len(8).not_null())
                .col(ColumnDef::new(ChatMessages::Body).text().not_null())
                .col(big(ChatMessages::CreatedAt))
                .col(opt_big(ChatMessages::EditedAt))
                .col(opt_big(ChatMessages::DeletedAt))
                .col(opt_big(ChatMessages::ReplyTo))
                .col(ColumnDef::new(ChatMessages::AiState).string_len(16).null())
                .col(ColumnDef::new(ChatMessages::AiError).text().null())
                .col(ColumnDef::new(ChatMessages::AiRequest).text().null())
                .foreign_key(&mut fk(
                    "fk_chat_project",
                    (ChatMessages::Table, ChatMessages::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_chat_author",
                    (ChatMessages::Table, ChatMessages::AuthorId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_chat_project_id")
                .table(ChatMessages::Table)
                .col(ChatMessages::ProjectId)
                .col(ChatMessages::Id)
                .if_not_exists(),
        ),
        backend.build(
            Index::create()
                .name("idx_chat_client_id")
                .table(ChatMessages::Table)
                .col(ChatMessages::ProjectId)
                .col(ChatMessages::AuthorId)
                .col(ChatMessages::ClientId)
                .unique()
                .if_not_exists(),
        ),
    ]
}
