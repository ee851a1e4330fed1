//! Shared terminals: a shell in the project's sandbox (the runs' bubblewrap, cgroup and
//! rlimits, see `runs::sandbox`), on a pty, working in the project's working folder.
//!
//! - Output goes to every member on the project channel (coalesced like run output), and a
//!   bounded scrollback is kept for members who open the project or reload.
//! - The opener types, and may let other editors type (owners may manage any terminal);
//!   viewers never type. Input arrives on the tab socket (`ClientEvent::TermInput`) and is
//!   checked against the socket's live role and the terminal's typists.
//! - One size for everyone: the smallest view attached to the terminal, as tmux does.
//! - Losing edit access (demoted, removed, project deleted) takes typing away at once; a
//!   terminal whose opener lost it is closed. Idle terminals close after `--terminal-idle-secs`.
//!
//! Terminals live in their node's memory: a restart ends them (bubblewrap dies with the
//! server). Each open terminal also has a row in the database, so every node lists it, counts
//! it against the project's limit and routes keystrokes, sizes, grants and closes to the node
//! that runs it (`live::requests`, answered by `crate::remote`); the rows a dead node leaves
//! are swept by the others.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use app::{
    AppError, AppResult,
    live::events::ServerEvent,
    projects::ssr::Projects,
    terminals::{scrollback::Scrollback, ssr::TerminalService},
    types::{
        ProjectId, Role, TermId, UserId, UserInfo,
        terminals::{MAX_INPUT, TermInfo, TermReplay, Typist, clamp_size},
    },
};
use async_trait::async_trait;
use metrics::{counter, gauge};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};
use tokio::sync::{broadcast, mpsc};

mod drive;
pub mod pty;

use crate::{
    auth::revoke::AccessChange,
    db::entities::terminal,
    lease::Leases,
    live::{
        Hub, TabId, TerminalPort, View,
        requests::{self, Request},
    },
    runs::{Runs, sandbox::Job},
};

/// Keystroke events queued for a terminal whose shell is not reading them.
const INPUT_QUEUE: usize = 64;
/// The shell a terminal starts: bash where the system has it (line editing, job control),
/// else the POSIX shell. No rc files: the prompt comes from the environment.
const SHELL: &str = "if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc -i; \
                     fi; exec sh -i";
/// `/project $ ` in colour.
const PROMPT: &str = "\\[\\e[1;34m\\]\\w\\[\\e[0m\\] \\$ ";

/// The terminals service.
#[derive(Clone)]
pub struct Terminals(Arc<Inner>);

struct Inner {
    runs: Runs,
    hub: Hub,
    db: DatabaseConnection,
    /// With several nodes: one opens a project's terminal at a time, so the project's limit
    /// holds across them.
    leases: Option<Leases>,
    /// Terminals on other nodes each of this node's tabs shows, to detach when the tab goes.
    remote_views: Mutex<HashMap<(ProjectId, TabId), HashSet<TermId>>>,
    projects: Arc<dyn Projects>,
    idle: Duration,
    per_project: usize,
    per_server: usize,
    scrollback: usize,
    live: Mutex<HashMap<TermId, Arc<Term>>>,
    next: AtomicI64,
    /// Opens one at a time, so the per-project and per-server counts hold.
    opening: tokio::sync::Mutex<()>,
}

/// An open terminal as every member sees it.
pub struct Term {
    project: ProjectId,
    master: Arc<pty::Master>,
    state: Mutex<TermState>,
    input: mpsc::Sender<Vec<u8>>,
    close: mpsc::Sender<String>,
}

struct TermState {
    info: TermInfo,
    scrollback: Scrollback,
    /// The size each attached view (on any node) fits.
    views: HashMap<View, (u16, u16)>,
}

impl Term {
    /// Adds output to the scrollback and publishes it, under one lock so `at` offsets reach
    /// the project channel in order.
    fn output(&self, hub: &Hub, data: String) {
        counter!("tandem_terminal_output_bytes_total").increment(data.len() as u64);
        let mut s = crate::lock::lock(&self.state);
        let at = s.scrollback.received;
        s.scrollback.push(&data);
        hub.publish(
            self.project,
            &ServerEvent::TermOutput {
                term: s.info.id,
                at,
                data,
            },
        );
    }

    fn info(&self) -> TermInfo {
        crate::lock::lock(&self.state).info.clone()
    }

    fn replay(&self) -> TermReplay {
        let s = crate::lock::lock(&self.state);
        TermReplay {
            term: s.info.clone(),
            data: s.scrollback.data.clone(),
            truncated: s.scrollback.truncated,
            end: s.scrollback.received,
        }
    }

    /// Sets the shared size to the smallest attached view; publishes a change.
    fn fit(&self, hub: &Hub) {
        let changed = {
            let mut s = crate::lock::lock(&self.state);
            let smallest = s
                .views
                .values()
                .copied()
                .reduce(|(c, r), (c2, r2)| (c.min(c2), r.min(r2)));
            match smallest {
                Some((cols, rows)) if (cols, rows) != (s.info.cols, s.info.rows) => {
                    s.info.cols = cols;
                    s.info.rows = rows;
                    Some(s.info.clone())
                }
                _ => None,
            }
        };
        if let Some(info) = changed {
            if let Err(e) = self.master.resize(info.cols, info.rows) {
                tracing::debug!(error = %e, "cannot resize a terminal");
            }
            hub.publish(self.project, &ServerEvent::Terminal { term: info });
        }
    }

    /// `user` may no longer type here (announced when they could).
    fn take_typing(&self, hub: &Hub, user: UserId) {
        self.changed(hub, |i| {
            let before = i.typists.len();
            i.typists.retain(|x| x.user != user);
            i.typists.len() != before
        });
    }

    fn changed(&self, hub: &Hub, f: impl FnOnce(&mut TermInfo) -> bool) {
        let info = {
            let mut s = crate::lock::lock(&self.state);
            f(&mut s.info).then(|| s.info.clone())
        };
        if let Some(info) = info {
            hub.publish(self.project, &ServerEvent::Terminal { term: info });
        }
    }
}

/// Terminal ids are per process, and their output crosses nodes on the project channel: each
/// node numbers from its own block (20 bits of its id, then 32 of count), so two nodes' ids
/// never meet and stay exact in a browser's numbers (under 2^53).
fn first_id(block: u64) -> i64 {
    ((block as i64) << 32) | 1
}

/// The block of the node that opened `term`.
fn owner(term: TermId) -> u64 {
    (term.0 >> 32) as u64
}

/// Why the tab is told "closed".
const CLOSED: &str = "This terminal is closed.";

use crate::db::now_ms;

impl Terminals {
    pub fn new(runs: Runs, hub: Hub, projects: Arc<dyn Projects>, leases: Option<Leases>) -> Self {
        let block = hub.block();
        let a = runs.limits();
        let inner = Inner {
            idle: Duration::from_secs(a.terminal_idle_secs),
            per_project: a.terminals_per_project,
            per_server: a.terminals_per_server,
            scrollback: a.terminal_scrollback_kib << 10,
            db: runs.db().clone(),
            runs,
            hub,
            projects,
            leases,
            remote_views: Mutex::default(),
            live: Mutex::new(HashMap::new()),
            next: AtomicI64::new(first_id(block)),
            opening: tokio::sync::Mutex::new(()),
        };
        Terminals(Arc::new(inner))
    }

    pub fn open_count(&self) -> usize {
        crate::lock::lock(&self.0.live).len()
    }

    fn find(&self, project: ProjectId, term: TermId) -> Option<Arc<Term>> {
        crate::lock::lock(&self.0.live)
            .get(&term)
            .filter(|t| t.project == project)
            .cloned()
    }

    fn of_project(&self, project: ProjectId) -> Vec<Arc<Term>> {
        crate::lock::lock(&self.0.live)
            .values()
            .filter(|t| t.project == project)
            .cloned()
            .collect()
    }

    /// Applies access changes as they are announced, until the server stops: a member who
    /// can no longer edit loses typing everywhere in the project, and their own terminals
    /// close.
    pub async fn follow(self, mut changes: broadcast::Receiver<AccessChange>) {
        loop {
            match changes.recv().await {
                Ok(AccessChange::Role {
                    project,
                    user,
                    role,
                }) if role.is_none_or(|r| r < Role::Editor) => self.lost_edit(project, user),
                Ok(AccessChange::ProjectDeleted { project }) => {
                    for t in self.of_project(project) {
                        let _ = t.close.try_send("the project was deleted".to_owned());
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    // Input is checked against each socket's own live role as well, so a
                    // missed announcement leaves a stale name in a list, not a way in.
                    tracing::warn!(missed = n, "terminals missed access changes");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn lost_edit(&self, project: ProjectId, user: UserId) {
        for t in self.of_project(project) {
            let info = t.info();
            if info.opened_by == user {
                let why = format!("{} can no longer edit the project", info.opened_by_name);
                let _ = t.close.try_send(why);
            } else {
                t.take_typing(&self.0.hub, user);
            }
        }
    }

    /// Who may manage (grant typing, close) a terminal: its opener, and owners.
    fn manage(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        term: TermId,
    ) -> AppResult<Arc<Term>> {
        let t = self
            .find(project, term)
            .ok_or_else(|| AppError::NotFound("Open terminal".into()))?;
        let opener = t.info().opened_by;
        if opener != by.id && role != Role::Owner {
            return Err(AppError::Forbidden);
        }
        Ok(t)
    }

    async fn finish(&self, term: &Arc<Term>, reason: String) {
        let info = {
            let mut s = crate::lock::lock(&term.state);
            s.info.ended = Some(reason);
            s.views.clear();
            s.info.clone()
        };
        crate::lock::lock(&self.0.live).remove(&info.id);
        gauge!("tandem_terminals_active").set(self.open_count() as f64);
        if let Err(e) = terminal::Entity::delete_by_id(info.id.0)
            .exec(&self.0.db)
            .await
        {
            // The other nodes list it until they sweep rows of terminals nobody runs.
            tracing::warn!(term = info.id.0, error = %e, "cannot forget a closed terminal");
        }
        self.0
            .hub
            .publish(term.project, &ServerEvent::Terminal { term: info });
    }

    /// The node that runs `term`, when it is not this one.
    fn elsewhere(&self, term: TermId) -> Option<u64> {
        let node = owner(term);
        (node != self.0.hub.block()).then_some(node)
    }

    /// Keystrokes for a terminal of this node (from a tab here or on another node).
    pub(crate) fn input_here(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
        term: TermId,
        data: String,
    ) -> Result<(), String> {
        let t = self.find(project, term).ok_or_else(|| CLOSED.to_owned())?;
        if role < Role::Editor {
            return Err("Viewers watch terminals; they cannot type in them.".to_owned());
        }
        let info = t.info();
        if !info.may_type(user) {
            return Err(format!(
                "{} has not let you type in this terminal.",
                info.opened_by_name
            ));
        }
        if data.len() > MAX_INPUT {
            return Err(format!("At most {MAX_INPUT} bytes of input at once."));
        }
        t.input.try_send(data.into_bytes()).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                "The terminal is not reading its input; wait for it.".to_owned()
            }
            mpsc::error::TrySendError::Closed(_) => CLOSED.to_owned(),
        })
    }

    /// A view (on any node) shows a terminal of this node at `cols` × `rows`.
    pub(crate) fn attach_here(
        &self,
        project: ProjectId,
        view: View,
        term: TermId,
        cols: u16,
        rows: u16,
    ) {
        if let Some(t) = self.find(project, term) {
            crate::lock::lock(&t.state)
                .views
                .insert(view, clamp_size(cols, rows));
            t.fit(&self.0.hub);
        }
    }

    pub(crate) fn detach_here(&self, project: ProjectId, view: View, term: TermId) {
        if let Some(t) = self.find(project, term) {
            crate::lock::lock(&t.state).views.remove(&view);
            t.fit(&self.0.hub);
        }
    }

    /// This node's terminals of the project, with their scrollback.
    pub(crate) fn replays_here(&self, project: ProjectId) -> Vec<TermReplay> {
        self.of_project(project)
            .iter()
            .map(|t| t.replay())
            .collect()
    }

    pub(crate) async fn close_here(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        term: TermId,
    ) -> AppResult<()> {
        let t = self.manage(project, by, role, term)?;
        // Full: it is closing already.
        let _ = t.close.try_send(format!("closed by {}", by.name));
        Ok(())
    }

    /// Lets `user` type in a terminal of this node (`on`), or takes it away.
    pub(crate) async fn grant_here(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        term: TermId,
        user: UserId,
        on: bool,
    ) -> AppResult<TermInfo> {
        let t = self.manage(project, by, role, term)?;
        let opener = t.info().opened_by;
        if user == opener {
            return Err(AppError::invalid(
                "user",
                "The person who opened a terminal always types in it.",
            ));
        }
        if on {
            // One query for both the role and the name.
            let member = self
                .0
                .projects
                .members(project)
                .await?
                .into_iter()
                .find(|m| m.user.id == user)
                .ok_or_else(|| AppError::NotFound("Member".into()))?;
            if member.role < Role::Editor {
                return Err(AppError::invalid(
                    "user",
                    "Viewers watch terminals; make them an editor to let them type.",
                ));
            }
            let name = member.user.name;
            t.changed(&self.0.hub, |i| {
                let new = !i.typists.iter().any(|x| x.user == user);
                if new {
                    i.typists.push(Typist { user, name });
                }
                new
            });
        } else {
            t.take_typing(&self.0.hub, user);
        }
        tracing::info!(
            project = project.0,
            term = term.0,
            user = user.0,
            on,
            by = by.id.0,
            "terminal typing changed"
        );
        Ok(t.info())
    }

    /// Views of this node's terminals whose node is gone no longer hold their size down.
    pub(crate) fn forget_views(&self, gone: impl Fn(u64) -> bool) {
        let all: Vec<Arc<Term>> = crate::lock::lock(&self.0.live).values().cloned().collect();
        for t in all {
            let changed = {
                let mut s = crate::lock::lock(&t.state);
                let before = s.views.len();
                s.views.retain(|v, _| !gone(v.node));
                s.views.len() != before
            };
            if changed {
                t.fit(&self.0.hub);
            }
        }
    }

    /// Rows of terminals that nodes for which `gone` holds left behind: removed, and every
    /// tab told they ended.
    pub(crate) async fn sweep(&self, gone: impl Fn(u64) -> bool) -> Result<(), sea_orm::DbErr> {
        let mine = self.0.hub.block() as i64;
        let rows = terminal::Entity::find()
            .filter(terminal::Column::Node.ne(mine))
            .all(&self.0.db)
            .await?;
        for row in rows.into_iter().filter(|r| gone(r.node as u64)) {
            let deleted = terminal::Entity::delete_by_id(row.id)
                .exec(&self.0.db)
                .await?;
            // Another node may have swept it first: one announcement is enough.
            if deleted.rows_affected == 1 {
                let mut term = info_of(&row);
                term.ended = Some("the Tandem node running it stopped".to_owned());
                self.0
                    .hub
                    .publish(ProjectId(row.project_id), &ServerEvent::Terminal { term });
            }
        }
        Ok(())
    }

    /// Every row a previous process left (one node without a bus: nothing else runs any).
    pub(crate) async fn forget_all(&self) -> Result<(), sea_orm::DbErr> {
        terminal::Entity::delete_many().exec(&self.0.db).await?;
        Ok(())
    }

    /// Terminals of the project that run on other nodes, as those nodes replay them (or, for a
    /// node that does not answer, as the database knows them, without output).
    async fn replays_elsewhere(&self, project: ProjectId) -> AppResult<Vec<TermReplay>> {
        let rows = terminal::Entity::find()
            .filter(terminal::Column::ProjectId.eq(project.0))
            .filter(terminal::Column::Node.ne(self.0.hub.block() as i64))
            .all(&self.0.db)
            .await?;
        let mut by_node: HashMap<u64, Vec<terminal::Model>> = HashMap::new();
        for row in rows {
            by_node.entry(row.node as u64).or_default().push(row);
        }
        let mut all = Vec::new();
        for (node, rows) in by_node {
            let asked: AppResult<Vec<TermReplay>> =
                requests::ask(&self.0.hub, node, Request::Terminals { project }).await;
            match asked {
                Ok(replays) => all.extend(replays.into_iter().filter(|r| owner(r.term.id) == node)),
                Err(e) => {
                    tracing::debug!(node, error = %e, "a node did not replay its terminals");
                    all.extend(rows.iter().map(|r| TermReplay {
                        term: info_of(r),
                        data: String::new(),
                        truncated: true,
                        end: 0,
                    }));
                }
            }
        }
        Ok(all)
    }
}

/// A terminal as its row knows it (a node that does not answer; a swept row).
fn info_of(row: &terminal::Model) -> TermInfo {
    TermInfo {
        id: TermId(row.id),
        opened_by: UserId(row.opened_by),
        opened_by_name: row.opened_by_name.clone(),
        opened_at: row.opened_at,
        typists: vec![Typist {
            user: UserId(row.opened_by),
            name: row.opened_by_name.clone(),
        }],
        cols: 80,
        rows: 24,
        ended: None,
        // Not in the row: another node's terminal is listed without it.
        environment: None,
    }
}

#[async_trait]
impl TerminalPort for Terminals {
    /// Keystrokes from a tab: refused (with the reason the tab shows) unless the user, with
    /// `role` as the socket knows it now, may type in the terminal.
    async fn input(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
        term: TermId,
        data: String,
    ) -> Result<(), String> {
        let Some(node) = self.elsewhere(term) else {
            return self.input_here(project, user, role, term, data);
        };
        let request = Request::TermInput {
            project,
            user,
            role,
            term,
            data,
        };
        requests::ask::<()>(&self.0.hub, node, request)
            .await
            .map_err(|e| e.to_string())
    }

    /// A tab shows the terminal in a view of `cols` × `rows` (or resized it).
    async fn attach(&self, project: ProjectId, tab: TabId, term: TermId, cols: u16, rows: u16) {
        let view = self.0.hub.view(tab);
        let Some(node) = self.elsewhere(term) else {
            return self.attach_here(project, view, term, cols, rows);
        };
        crate::lock::lock(&self.0.remote_views)
            .entry((project, tab))
            .or_default()
            .insert(term);
        let request = Request::TermAttach {
            project,
            view,
            term,
            cols,
            rows,
        };
        if let Err(e) = requests::ask::<()>(&self.0.hub, node, request).await {
            tracing::debug!(term = term.0, error = %e, "cannot size a terminal on another node");
        }
    }

    async fn detach(&self, project: ProjectId, tab: TabId, term: TermId) {
        let view = self.0.hub.view(tab);
        let Some(node) = self.elsewhere(term) else {
            return self.detach_here(project, view, term);
        };
        if let Some(terms) = crate::lock::lock(&self.0.remote_views).get_mut(&(project, tab)) {
            terms.remove(&term);
        }
        let request = Request::TermDetach {
            project,
            view,
            term,
        };
        if let Err(e) = requests::ask::<()>(&self.0.hub, node, request).await {
            tracing::debug!(term = term.0, error = %e, "cannot detach from a terminal on another node");
        }
    }

    /// The tab is gone: its views of every terminal go with it.
    fn detach_tab(&self, project: ProjectId, tab: TabId) {
        let view = self.0.hub.view(tab);
        for t in self.of_project(project) {
            let had = crate::lock::lock(&t.state).views.remove(&view).is_some();
            if had {
                t.fit(&self.0.hub);
            }
        }
        let elsewhere = crate::lock::lock(&self.0.remote_views).remove(&(project, tab));
        if let (Some(terms), Ok(rt)) = (elsewhere, tokio::runtime::Handle::try_current()) {
            let this = self.clone();
            rt.spawn(async move {
                for term in terms {
                    this.detach(project, tab, term).await;
                }
            });
        }
    }
}

#[async_trait]
impl TerminalService for Terminals {
    async fn now(&self, project: ProjectId) -> AppResult<Vec<TermReplay>> {
        let mut all = self.replays_here(project);
        all.extend(self.replays_elsewhere(project).await?);
        all.sort_by_key(|r| r.term.id);
        Ok(all)
    }

    async fn open(
        &self,
        project: ProjectId,
        by: &UserInfo,
        cols: u16,
        rows: u16,
        environment: Option<String>,
    ) -> AppResult<TermInfo> {
        let runs = &self.0.runs;
        runs.writable()?;
        let sandbox = runs.sandbox()?.clone();
        let env = runs.environment(project, environment.as_deref()).await?;
        let _one_at_a_time = self.0.opening.lock().await;
        // Across nodes, one opens a project's terminal at a time (given back when this ends).
        let _lease = match &self.0.leases {
            Some(l) => Some(l.acquire(&format!("terminals.{}", project.0)).await?),
            None => None,
        };
        // The project's limit counts every node's terminals; the server's, this node's.
        let in_project = terminal::Entity::find()
            .filter(terminal::Column::ProjectId.eq(project.0))
            .count(&self.0.db)
            .await? as usize;
        let in_server = self.open_count();
        if in_project >= self.0.per_project {
            return Err(AppError::TooMany(format!(
                "This project already has {in_project} terminals open (the limit is {}); close one first.",
                self.0.per_project
            )));
        }
        if in_server >= self.0.per_server {
            return Err(AppError::TooMany(format!(
                "The server has {in_server} terminals open, its limit; try again when one closes."
            )));
        }
        let (work, network) = runs.prepare(project, by).await?;
        let group = runs.group()?;
        let (cols, rows) = clamp_size(cols, rows);
        let (master, slave) = pty::open(cols, rows).map_err(|e| {
            tracing::error!(error = %e, "cannot open a pty");
            AppError::Unavailable("The server could not open a terminal.".into())
        })?;
        let stdio = |f: &std::fs::File| {
            f.try_clone().map_err(|e| {
                tracing::error!(error = %e, "cannot share a pty");
                AppError::Unavailable("The server could not open a terminal.".into())
            })
        };
        let (stdin, stdout) = (stdio(&slave)?, stdio(&slave)?);
        let mut vars = env.vars.clone();
        let environment = (!env.name.is_empty()).then(|| env.name.clone());
        if let Some(name) = &environment {
            vars.push(("TANDEM_ENVIRONMENT".to_owned(), name.clone()));
        }
        vars.push(("PS1".to_owned(), PROMPT.to_owned()));
        let limits = runs.run_limits().clone();
        let mut cmd = sandbox.command(&Job {
            work: &work,
            cwd: "",
            shell: SHELL,
            env: &vars,
            network,
            group: group.as_ref(),
            limits: Some(&limits),
            tty: true,
        });
        cmd.stdin(stdin).stdout(stdout).stderr(slave);
        let child = cmd.spawn().map_err(|e| {
            tracing::error!(error = %e, "cannot start a terminal's sandbox");
            AppError::Unavailable("The server could not start a terminal.".into())
        })?;
        // The command holds the server's copies of the slave: without them, the master
        // reads the end of the terminal once the sandbox is gone.
        drop(cmd);
        let info = TermInfo {
            id: TermId(self.0.next.fetch_add(1, Ordering::Relaxed)),
            opened_by: by.id,
            opened_by_name: by.name.clone(),
            opened_at: now_ms(),
            typists: vec![Typist {
                user: by.id,
                name: by.name.clone(),
            }],
            cols,
            rows,
            ended: None,
            environment,
        };
        let (input_tx, input_rx) = mpsc::channel(INPUT_QUEUE);
        let (close_tx, close_rx) = mpsc::channel(1);
        let master = Arc::new(master);
        let term = Arc::new(Term {
            project,
            master: master.clone(),
            state: Mutex::new(TermState {
                info: info.clone(),
                scrollback: Scrollback::with_cap(self.0.scrollback),
                views: HashMap::new(),
            }),
            input: input_tx,
            close: close_tx,
        });
        crate::lock::lock(&self.0.live).insert(info.id, term.clone());
        let row = terminal::ActiveModel {
            id: Set(info.id.0),
            project_id: Set(project.0),
            node: Set(self.0.hub.block() as i64),
            opened_by: Set(by.id.0),
            opened_by_name: Set(by.name.clone()),
            opened_at: Set(info.opened_at),
        };
        if let Err(e) = terminal::Entity::insert(row).exec(&self.0.db).await {
            // It works for this node's tabs; the others do not list it.
            tracing::error!(term = info.id.0, error = %e, "cannot record an open terminal");
        }
        counter!("tandem_terminals_opened_total").increment(1);
        gauge!("tandem_terminals_active").set(self.open_count() as f64);
        self.0
            .hub
            .publish(project, &ServerEvent::Terminal { term: info.clone() });
        let drive = drive::Drive {
            child,
            group,
            master,
            term: term.clone(),
            hub: self.0.hub.clone(),
            input: input_rx,
            close: close_rx,
            idle: self.0.idle,
            rate: limits.output_bytes_per_sec,
            secrets: env.secrets,
        };
        let this = self.clone();
        tokio::spawn(async move {
            let reason = drive.run().await;
            this.finish(&term, reason).await;
        });
        tracing::info!(
            project = project.0,
            term = info.id.0,
            user = by.id.0,
            "terminal opened"
        );
        Ok(info)
    }

    async fn close(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        term: TermId,
    ) -> AppResult<()> {
        match self.elsewhere(term) {
            None => self.close_here(project, by, role, term).await,
            Some(node) => {
                let by = by.clone();
                let request = Request::TermClose {
                    project,
                    by,
                    role,
                    term,
                };
                requests::ask(&self.0.hub, node, request).await
            }
        }
    }

    async fn grant(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        term: TermId,
        user: UserId,
        on: bool,
    ) -> AppResult<TermInfo> {
        if let Some(node) = self.elsewhere(term) {
            let by = by.clone();
            let request = Request::TermGrant {
                project,
                by,
                role,
                term,
                user,
                on,
            };
            return requests::ask(&self.0.hub, node, request).await;
        }
        self.grant_here(project, by, role, term, user, on).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::ask::block;
    use collab::bus::NodeId;

    #[test]
    fn a_terminal_id_names_the_node_that_opened_it() {
        let (one, two) = (NodeId(0x1234_5678_9abc), NodeId(0x1234_5678_9abd));
        let (one, two) = (block(one), block(two));
        let first = TermId(first_id(one));
        assert_eq!(owner(first), one);
        assert_eq!(owner(TermId(first.0 + 41)), one);
        assert_ne!(owner(first), two);
        assert_eq!(owner(TermId(first_id(two))), two);
        // Exact in a browser's numbers.
        assert!(first_id(block(NodeId(u64::MAX))) < 1 << 53);
    }
}
