//! AI in the editor: shared suggestions (a proposed change to some lines, undecided until an
//! editor accepts or rejects it), the AI use each project made per day (requests, tokens,
//! time), and each project's AI switches (owners turn completions or the assistant off).

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{fk, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    let big = |c: Suggestions| ColumnDef::new(c).big_integer().not_null().to_owned();
    let text = |c: Suggestions| ColumnDef::new(c).text().not_null().to_owned();
    let usage = |c: AiUsage| ColumnDef::new(c).big_integer().not_null().to_owned();
    vec![
        backend.build(
            &Table::create()
                .table(Suggestions::Table)
                .if_not_exists()
                .col(id_col(Suggestions::Id))
                .col(big(Suggestions::ProjectId))
                .col(big(Suggestions::FileId))
                .col(big(Suggestions::DocumentId))
                .col(big(Suggestions::AuthorId))
                .col(
                    ColumnDef::new(Suggestions::Action)
                        .string_len(16)
                        .not_null(),
                )
                .col(ColumnDef::new(Suggestions::Instruction).text().null())
                .col(ColumnDef::new(Suggestions::StartAnchor).binary().not_null())
                .col(ColumnDef::new(Suggestions::EndAnchor).binary().not_null())
                .col(big(Suggestions::FirstLine))
                .col(big(Suggestions::LastLine))
                .col(text(Suggestions::Original))
                .col(text(Suggestions::Replacement))
                .col(ColumnDef::new(Suggestions::State).string_len(16).not_null())
                .col(ColumnDef::new(Suggestions::Error).text().null())
                .col(ColumnDef::new(Suggestions::DecidedBy).big_integer().null())
                .col(big(Suggestions::CreatedAt))
                .col(ColumnDef::new(Suggestions::DecidedAt).big_integer().null())
                .foreign_key(&mut fk(
                    "fk_suggestion_project",
                    (Suggestions::Table, Suggestions::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_suggestion_author",
                    (Suggestions::Table, Suggestions::AuthorId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_suggestion_project_state")
                .table(Suggestions::Table)
                .col(Suggestions::ProjectId)
                .col(Suggestions::State)
                .if_not_exists(),
        ),
        backend.build(
            &Table::create()
                .table(AiUsage::Table)
                .if_not_exists()
                .col(usage(AiUsage::ProjectId))
                .col(usage(AiUsage::Day))
                .col(ColumnDef::new(AiUsage::Kind).string_len(16).not_null())
                .col(usage(AiUsage::Requests))
                .col(usage(AiUsage::Failures))
                .col(usage(AiUsage::PromptTokens))
                .col(usage(AiUsage::CompletionTokens))
                .col(usage(AiUsage::LatencyMs))
                .primary_key(
                    Index::create()
                        .col(AiUsage::ProjectId)
                        .col(AiUsage::Day)
                        .col(AiUsage::Kind),
                )
                .foreign_key(&mut fk(
                    "fk_ai_usage_project",
                    (AiUsage::Table, AiUsage::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            &Table::create()
                .table(ProjectAi::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(ProjectAi::ProjectId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(ProjectAi::Completions).boolean().not_null())
                .col(ColumnDef::new(ProjectAi::Assistant).boolean().not_null())
                .col(
                    ColumnDef::new(ProjectAi::UpdatedBy)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ProjectAi::UpdatedAt)
                        .big_integer()
                        .not_null(),
                )
                .foreign_key(&mut fk(
                    "fk_project_ai_project",
                    (ProjectAi::Table, ProjectAi::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        ),
    ]
}
