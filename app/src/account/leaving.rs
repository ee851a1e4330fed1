//! Leaving every project before an account is deleted: projects the user owns with someone
//! else, or only joined, are left; each project they own alone is handed over or deleted, as
//! they chose. Everything is decided before anything changes, so a missing or wrong choice
//! changes nothing.

use crate::{
    error::{AppError, AppResult},
    projects::ssr::Projects,
    types::{Leaving, Member, ProjectId, Role, SoleOwned, UserId},
};

/// The user's projects that have no other owner, with their other members.
pub async fn sole_owned(projects: &dyn Projects, user: UserId) -> AppResult<Vec<SoleOwned>> {
    let mut out = Vec::new();
    for p in projects.list_for(user).await? {
        if p.role != Role::Owner {
            continue;
        }
        let others = others(projects, p.id, user).await?;
        if !others.iter().any(|m| m.role == Role::Owner) {
            out.push(SoleOwned {
                id: p.id,
                name: p.name,
                members: others,
            });
        }
    }
    Ok(out)
}

async fn others(
    projects: &dyn Projects,
    project: ProjectId,
    user: UserId,
) -> AppResult<Vec<Member>> {
    let mut members = projects.members(project).await?;
    members.retain(|m| m.user.id != user);
    Ok(members)
}

enum Step {
    Leave,
    Delete,
    HandOver(UserId),
}

/// Takes `user` out of every project, applying `choices` to those they own alone.
pub async fn leave_all(
    projects: &dyn Projects,
    user: UserId,
    choices: &[(ProjectId, Leaving)],
) -> AppResult<()> {
    let sole = sole_owned(projects, user).await?;
    let mut plan: Vec<(ProjectId, Step)> = Vec::new();
    for p in projects.list_for(user).await? {
        let Some(owned) = sole.iter().find(|s| s.id == p.id) else {
            plan.push((p.id, Step::Leave));
            continue;
        };
        let choice = choices.iter().find(|(id, _)| *id == p.id).map(|(_, c)| *c);
        let step = match choice {
            None => {
                return Err(AppError::invalid(
                    "choices",
                    format!(
                        "Choose what becomes of “{}”: delete it or hand it over.",
                        p.name
                    ),
                ));
            }
            Some(Leaving::Delete) => Step::Delete,
            Some(Leaving::HandOver(to)) if owned.members.iter().any(|m| m.user.id == to) => {
                Step::HandOver(to)
            }
            Some(Leaving::HandOver(_)) => {
                return Err(AppError::invalid(
                    "choices",
                    format!("“{}” can only be handed to one of its members.", p.name),
                ));
            }
        };
        plan.push((p.id, step));
    }
    for (project, step) in plan {
        match step {
            Step::Leave => projects.remove_member(project, user).await?,
            Step::Delete => projects.delete(project).await?,
            Step::HandOver(to) => {
                projects.set_role(project, to, Role::Owner).await?;
                projects.remove_member(project, user).await?;
            }
        }
    }
    Ok(())
}
