//! Project settings (rename, members, invites, delete) and the invite acceptance page.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::*;
use crate::{
    browser::go_to,
    ui::{ErrorPage, TopBar, loading, project_id_param},
};

#[component]
pub(crate) fn ProjectSettings() -> impl IntoView {
    let project = project_id_param();
    let rename = ServerAction::<RenameProject>::new();
    let invite = ServerAction::<InviteMember>::new();
    let set_role = ServerAction::<SetMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let create_link = ServerAction::<CreateInviteLink>::new();
    let revoke_link = ServerAction::<RevokeInviteLink>::new();
    let delete = ServerAction::<DeleteProject>::new();
    // Made here, above the page's Suspense (see `SectionData`).
    let ai = crate::projects::ai::ai_data(project);
    let envs = crate::projects::envs::envs_data(project);

    let data = Resource::new(
        move || {
            (
                project(),
                rename.version().get(),
                invite.version().get(),
                set_role.version().get(),
                remove.version().get(),
            )
        },
        |(p, ..)| async move {
            match p {
                Some(p) => load_workspace(p).await,
                None => Err(AppError::NotFound("Project".into())),
            }
        },
    );
    let links = Resource::new(
        move || {
            (
                project(),
                create_link.version().get(),
                revoke_link.version().get(),
            )
        },
        |(p, ..)| async move {
            match p {
                Some(p) => invite_links(p).await,
                None => Ok(Vec::new()),
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            go_to("/");
        }
    });
    // Leaving a project (removing yourself) takes you back to the dashboard.
    let leaving = RwSignal::new(false);
    Effect::new(move |_| {
        if leaving.get() && matches!(remove.value().get(), Some(Ok(()))) {
            go_to("/");
        }
    });

    view! {
        <TopBar/>
        <main class="page settings">
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    let ws = match data.await {
                        Ok(ws) => ws,
                        Err(e) => return view! { <ErrorPage error=e/> }.into_any(),
                    };
                    let pid = ws.project.id;
                    let my_role = ws.project.role;
                    let me = ws.me.id;
                    let is_owner = my_role == Role::Owner;
                    let name = ws.project.name.clone();
                    let name_for_delete = name.clone();
                    view! {
                        <p><a href=format!("/p/{pid}")>"← Back to the editor"</a></p>
                        <h1>{format!("Settings · {}", ws.project.name)}</h1>

                        <NameSection pid=pid name=name may_rename={my_role >= Role::Editor} rename=rename/>
                        <MembersSection pid=pid me=me is_owner=is_owner members=ws.members set_role=set_role
                            remove=remove leaving=leaving/>
                        <crate::projects::ai::AiSection project=pid is_owner=is_owner loaded=ai/>
                        <crate::projects::envs::EnvsSection project=pid loaded=envs/>
                        {is_owner.then(|| view! {
                            <p><a href=format!("/p/{pid}/audit") data-test="audit-link">"Audit log: who did what in this project →"</a></p>
                            <InviteSection pid=pid invite=invite/>
                            <InviteLinksSection pid=pid links=links create_link=create_link revoke_link=revoke_link/>
                            <DeleteSection pid=pid name=name_for_delete delete=delete/>
                        })}
                    }.into_any()
                })}
            </Suspense>
        </main>
    }
}

/// Renaming (editors and owners).
#[component]
fn NameSection(
    pid: ProjectId,
    name: String,
    may_rename: bool,
    rename: ServerAction<RenameProject>,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Name"</h2>
            {if may_rename {
                view! {
                    <ActionForm action=rename attr:class="row-form" attr:data-test="rename-project">
                        <input type="hidden" name="project" value=pid.to_string()/>
                        <input name="name" value=name required
                            maxlength=crate::validate::PROJECT_NAME_MAX.to_string()/>
                        <button type="submit">"Rename"</button>
                    </ActionForm>
                    <p class="form-error" role="alert">{move || rename.value().get().and_then(Result::err).map(|e| e.to_string())}</p>
                }.into_any()
            } else {
                view! { <p class="muted">"Viewers cannot rename the project."</p> }.into_any()
            }}
        </section>
    }
}

/// The member list; owners change roles and remove, everyone may leave.
#[component]
fn MembersSection(
    pid: ProjectId,
    me: UserId,
    is_owner: bool,
    members: Vec<Member>,
    set_role: ServerAction<SetMemberRole>,
    remove: ServerAction<RemoveMember>,
    /// Set when the user removes themselves, so the page leaves once that succeeds.
    leaving: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Members"</h2>
            <table class="members" data-test="members">
                <thead><tr><th>"User"</th><th>"Role"</th><th>"Joined"</th><th></th></tr></thead>
                <tbody>
                    {members.into_iter().map(|m| {
                        let uid = m.user.id;
                        let role_cell = if is_owner {
                            view! {
                                <select aria-label=format!("Role of {}", m.user.name)
                                    on:change=move |ev| {
                                        if let Some(role) = Role::parse(&event_target_value(&ev)) {
                                            set_role.dispatch(SetMemberRole { project: pid, user: uid, role });
                                        }
                                    }>
                                    {Role::ALL.into_iter().map(|r| view! {
                                        <option value=r.as_str() selected=r == m.role>{r.label()}</option>
                                    }).collect_view()}
                                </select>
                            }.into_any()
                        } else {
                            view! { <span class="badge">{m.role.label()}</span> }.into_any()
                        };
                        let action_cell = if uid == me {
                            view! { <ConfirmButton label="Leave" confirm="Really leave?" on_confirm=move || { leaving.set(true); remove.dispatch(RemoveMember { project: pid, user: uid }); }/> }.into_any()
                        } else if is_owner {
                            view! { <ConfirmButton label="Remove" confirm="Confirm remove" on_confirm=move || { remove.dispatch(RemoveMember { project: pid, user: uid }); }/> }.into_any()
                        } else {
                            ().into_any()
                        };
                        view! {
                            <tr>
                                <td>{m.user.name.clone()}{(uid == me).then_some(" (you)")}</td>
                                <td>{role_cell}</td>
                                <td class="muted">{m.joined_at.get(..10).unwrap_or_default().to_owned()}</td>
                                <td>{action_cell}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="form-error" role="alert">
                {move || set_role.value().get().and_then(Result::err).or_else(|| remove.value().get().and_then(Result::err)).map(|e| e.to_string())}
            </p>
        </section>
    }
}

/// Adding a member by username (owners).
#[component]
fn InviteSection(pid: ProjectId, invite: ServerAction<InviteMember>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Invite by username"</h2>
            <ActionForm action=invite attr:class="row-form" attr:data-test="invite-member">
                <input type="hidden" name="project" value=pid.to_string()/>
                <input name="username" placeholder="Username" required autocomplete="off"/>
                <RoleSelect name="role"/>
                <button type="submit">"Add member"</button>
            </ActionForm>
            <p class="form-error" role="alert">{move || invite.value().get().and_then(Result::err).map(|e| e.to_string())}</p>
            <p class="form-ok" role="status">{move || invite.value().get().and_then(Result::ok).map(|m| format!("{} joined as {}.", m.user.name, m.role.label()))}</p>
        </section>
    }
}

/// Invite links with a role and an expiry, and revoking them (owners).
#[component]
fn InviteLinksSection(
    pid: ProjectId,
    links: Resource<Result<Vec<InviteLink>, AppError>>,
    create_link: ServerAction<CreateInviteLink>,
    revoke_link: ServerAction<RevokeInviteLink>,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Invite links"</h2>
            <ActionForm action=create_link attr:class="row-form" attr:data-test="create-link">
                <input type="hidden" name="project" value=pid.to_string()/>
                <RoleSelect name="role"/>
                <select name="hours" aria-label="Expires after">
                    <option value="1">"1 hour"</option>
                    <option value="24" selected>"1 day"</option>
                    <option value="168">"7 days"</option>
                    <option value="720">"30 days"</option>
                </select>
                <button type="submit">"Create link"</button>
            </ActionForm>
            <p class="form-error" role="alert">{move || create_link.value().get().and_then(Result::err).map(|e| e.to_string())}</p>
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match links.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No active invite links."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="invite-links" data-test="invite-links">
                                {list.into_iter().map(|l| {
                                    let id = l.id;
                                    view! {
                                        <li>
                                            <input readonly class="invite-url" value=invite_url(&l.token) aria-label="Invite link"/>
                                            <span class="badge">{l.role.label()}</span>
                                            <span class="muted">{format!("expires {}", l.expires_at.replace('T', " ").get(..16).unwrap_or_default())}</span>
                                            <button type="button" class="link" on:click=move |_| { revoke_link.dispatch(RevokeInviteLink { project: pid, invite: id }); }>"Revoke"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Deleting the project, confirmed by typing its name (owners).
#[component]
fn DeleteSection(
    pid: ProjectId,
    name: String,
    delete: ServerAction<DeleteProject>,
) -> impl IntoView {
    view! {
        <section class="card danger">
            <h2>"Delete project"</h2>
            <p>"This deletes the project for every member. Type its name to confirm."</p>
            <ActionForm action=delete attr:class="row-form" attr:data-test="delete-project">
                <input type="hidden" name="project" value=pid.to_string()/>
                <input name="confirm" placeholder=name required autocomplete="off"/>
                <button type="submit" class="danger">"Delete project"</button>
            </ActionForm>
            <p class="form-error" role="alert">{move || delete.value().get().and_then(Result::err).map(|e| e.to_string())}</p>
        </section>
    }
}

/// The absolute link a teammate opens; on the server (SSR) a relative one is rendered first.
fn invite_url(token: &str) -> String {
    let path = format!("/invite/{token}");
    #[cfg(feature = "browser")]
    if let Some(origin) = web_sys::window().and_then(|w| w.location().origin().ok()) {
        return format!("{origin}{path}");
    }
    path
}

#[component]
fn RoleSelect(name: &'static str) -> impl IntoView {
    view! {
        <select name=name aria-label="Role">
            <option value="viewer">"Viewer"</option>
            <option value="editor" selected>"Editor"</option>
            <option value="owner">"Owner"</option>
        </select>
    }
}

/// A destructive button that asks once more in place instead of a native dialog.
#[component]
pub(crate) fn ConfirmButton(
    label: &'static str,
    confirm: &'static str,
    on_confirm: impl Fn() + Send + Sync + 'static,
    /// The button's `data-test`.
    #[prop(optional)]
    test: &'static str,
) -> impl IntoView {
    let armed = RwSignal::new(false);
    view! {
        <button type="button" class=move || if armed.get() { "danger" } else { "link" } data-test=test
            on:click=move |_| {
                if armed.get_untracked() {
                    armed.set(false);
                    on_confirm();
                } else {
                    armed.set(true);
                }
            }>
            {move || if armed.get() { confirm } else { label }}
        </button>
    }
}

#[component]
pub(crate) fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let accept = ServerAction::<AcceptInvite>::new();
    let preview = Resource::new(token, preview_invite);
    Effect::new(move |_| {
        if let Some(Ok(p)) = accept.value().get() {
            go_to(&format!("/p/{p}"));
        }
    });
    view! {
        <TopBar/>
        <main class="page invite">
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(p) => view! {
                            <div class="card">
                                <h1>{format!("Join {}", p.project_name)}</h1>
                                <p>{format!("{} invited you as {}. The link expires {}.", p.invited_by, p.role.label(), p.expires_at.replace('T', " ").get(..16).unwrap_or_default())}</p>
                                {p.current_role.map(|r| view! { <p class="notice">{format!("You are already a member ({}).", r.label())}</p> })}
                                <ActionForm action=accept>
                                    <input type="hidden" name="token" value=token()/>
                                    <button type="submit" class="primary">"Accept invite"</button>
                                </ActionForm>
                                <p class="form-error" role="alert">{move || accept.value().get().and_then(Result::err).map(|e| e.to_string())}</p>
                            </div>
                        }.into_any(),
                        Err(e) => view! { <ErrorPage error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
