//! The console's users: the list (with live sessions and projects) and what an admin does to
//! an account. Every action ends the account's sessions where it should, through the same
//! revocations that close their sockets on every node.

use std::collections::HashMap;

use app::{
    AppError, AppResult,
    ops::{UserAction, UserRow},
    types::UserId,
};
use rand::Rng;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    auth::AccountService,
    db::entities::{member, session, user},
};

/// The most accounts the console lists (by name); a server with more shows the first ones.
pub const LIST_MAX: u64 = 500;
/// Length of a password made by "Reset password".
const NEW_PASSWORD_CHARS: usize = 16;

pub async fn list(db: &DatabaseConnection) -> Result<Vec<UserRow>, sea_orm::DbErr> {
    let users = user::Entity::find()
        .filter(user::Column::Name.not_like(format!("{}%", app::validate::DELETED_PREFIX)))
        .order_by_asc(user::Column::NameKey)
        .limit(LIST_MAX)
        .all(db)
        .await?;
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let sessions: HashMap<i64, i64> = session::Entity::find()
        .select_only()
        .column(session::Column::UserId)
        .column_as(Expr::col(session::Column::Id).count(), "n")
        .filter(session::Column::UserId.is_in(ids.clone()))
        .filter(session::Column::ExpiresAt.gt(crate::db::now()))
        .group_by(session::Column::UserId)
        .into_tuple::<(Option<i64>, i64)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(u, n)| Some((u?, n)))
        .collect();
    let projects: HashMap<i64, i64> = member::Entity::find()
        .select_only()
        .column(member::Column::UserId)
        .column_as(Expr::col(member::Column::ProjectId).count(), "n")
        .filter(member::Column::UserId.is_in(ids))
        .group_by(member::Column::UserId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let count =
        |m: &HashMap<i64, i64>, id| u64::try_from(m.get(&id).copied().unwrap_or(0)).unwrap_or(0);
    Ok(users
        .into_iter()
        .map(|u| UserRow {
            id: UserId(u.id),
            sessions: count(&sessions, u.id),
            projects: count(&projects, u.id),
            name: u.name,
            created_at: u.created_at,
            admin: u.is_admin,
            disabled: u.disabled,
        })
        .collect())
}

/// A password for "Reset password": letters and digits without look-alikes, shown once.
fn new_password() -> String {
    const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..NEW_PASSWORD_CHARS)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

pub async fn act(
    accounts: &AccountService,
    admin: &str,
    target: UserId,
    action: UserAction,
) -> AppResult<Option<String>> {
    use app::auth::ssr::Accounts;
    // The target must exist (and not be a deleted account's placeholder).
    let name = match accounts.user_row(target).await? {
        Some(u) if !u.name.starts_with(app::validate::DELETED_PREFIX) => u.name,
        _ => return Err(AppError::NotFound("User".into())),
    };
    tracing::warn!(admin, user = %name, ?action, "admin acted on an account");
    match action {
        UserAction::Disable => accounts.set_disabled(target, true).await.map(|()| None),
        UserAction::Enable => accounts.set_disabled(target, false).await.map(|()| None),
        UserAction::SignOut => {
            let n = accounts.end_other_sessions(target, None).await?;
            Ok(Some(format!(
                "{name} was signed out of {n} session{}.",
                if n == 1 { "" } else { "s" }
            )))
        }
        UserAction::ResetPassword => {
            let password = new_password();
            accounts.set_password(target, &password, None).await?;
            Ok(Some(format!(
                "{name}'s new password is {password} — give it to them privately; it is not shown again."
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_are_long_and_pass_the_rules() {
        let a = new_password();
        assert_eq!(a.chars().count(), NEW_PASSWORD_CHARS);
        assert!(app::validate::password(&a, "someone").is_ok());
        assert_ne!(a, new_password());
    }
}
