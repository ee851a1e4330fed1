//! Mentions of members in the chat, kept per person with whether they read them: the team
//! dashboard's unread count is the same after a reload and on another device. A message names
//! its mentions when it is sent or edited (an edit can add one, never take one back: the person
//! was told already).

use app::types::{MessageId, ProjectId, UserId};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, sea_query::OnConflict,
};

use crate::db::{entities::chat_mention as row, now};

/// Records that `message` of `project` names `users` (the author is left out by the caller).
pub async fn record(
    db: &impl ConnectionTrait,
    project: ProjectId,
    message: MessageId,
    users: &[UserId],
) -> Result<(), DbErr> {
    if users.is_empty() {
        return Ok(());
    }
    let at = now();
    let rows = users.iter().map(|u| row::ActiveModel {
        user_id: Set(u.0),
        project_id: Set(project.0),
        message_id: Set(message.0),
        created_at: Set(at),
        read_at: Set(None),
        ..Default::default()
    });
    row::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([row::Column::MessageId, row::Column::UserId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// How many mentions of `user` in `projects` are unread.
pub async fn unread(db: &DatabaseConnection, user: UserId, projects: &[i64]) -> Result<u64, DbErr> {
    row::Entity::find()
        .filter(row::Column::UserId.eq(user.0))
        .filter(row::Column::ReadAt.is_null())
        .filter(row::Column::ProjectId.is_in(projects.iter().copied()))
        .count(db)
        .await
}

/// The newest `n` mentions of `user` in `projects`, newest first.
pub async fn recent(
    db: &DatabaseConnection,
    user: UserId,
    projects: &[i64],
    n: u64,
) -> Result<Vec<row::Model>, DbErr> {
    row::Entity::find()
        .filter(row::Column::UserId.eq(user.0))
        .filter(row::Column::ProjectId.is_in(projects.iter().copied()))
        .order_by_desc(row::Column::Id)
        .limit(n)
        .all(db)
        .await
}

/// Marks `user`'s mentions read: one message's, or all of them; how many changed.
pub async fn mark_read(
    db: &DatabaseConnection,
    user: UserId,
    message: Option<MessageId>,
) -> Result<u64, DbErr> {
    let mut q = row::Entity::update_many()
        .col_expr(row::Column::ReadAt, sea_orm::sea_query::Expr::value(now()))
        .filter(row::Column::UserId.eq(user.0))
        .filter(row::Column::ReadAt.is_null());
    if let Some(m) = message {
        q = q.filter(row::Column::MessageId.eq(m.0));
    }
    Ok(q.exec(db).await?.rows_affected)
}
