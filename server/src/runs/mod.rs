//! Runs: a project's code run in the server's sandbox, its output live for every member.
//!
//! - `configs`: `tandem.toml` and detection from the open file;
//! - `sandbox` and `cgroup`: bubblewrap, cgroups and rlimits;
//! - `drive`: one task per run (output, Stop, stdin, limits);
//! - `output`: coalescing and the replay for members who arrive mid-run;
//! - `history`: the runs' rows (history, how each ended, the network setting).
//!
//! A run works in the project's working folder: a disk-backed project's own directory, or
//! `<data-dir>/work/<project>` kept in step with the tree by the disk mirror. Pending edits are
//! written there before the run starts, and files the run writes come back into the tree
//! (build output the project ignores stays out).
//!
//! A run lives in the node that started it; its row names that node, so every node lists it,
//! counts it against the project's limit, and routes Stop and stdin to it (`live::requests`,
//! answered by `crate::remote`).

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use app::{
    AppError, AppResult,
    live::events::ServerEvent,
    runs::ssr::RunService,
    types::{
        FileId, ProjectId, RunId, UserInfo,
        runs::{
            MAX_SAMPLES, OutputChunk, RunConfig, RunConfigs, RunInfo, RunRecord, RunReplay,
            RunSample, RunTarget, StopReason,
        },
    },
};
use async_trait::async_trait;
use metrics::{counter, gauge, histogram};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use tokio::sync::mpsc;

mod args;
pub mod cgroup;
pub mod configs;
pub(crate) mod drive;
pub(crate) mod history;
mod nodes;
pub mod output;
pub mod sandbox;

pub use args::Args;
use drive::{Control, Drive};
use output::Replay;
use sandbox::{Job, Limits, Sandbox};

use crate::{
    db::entities::run,
    envs::{Envs, Resolved},
    files::Files,
    lease::Leases,
    live::Hub,
    live::requests::{self, Request},
};

/// Bytes of output kept with a finished run in the history.
const TAIL_BYTES: usize = 8 * 1024;
/// Stdin lines queued for a run that is not reading them.
const STDIN_QUEUE: usize = 64;

/// The runs service.
#[derive(Clone)]
pub struct Runs(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    hub: Hub,
    files: Files,
    /// The project environments runs and terminals are started in.
    envs: Envs,
    sandbox: Result<Sandbox, String>,
    args: Args,
    limits: Limits,
    /// `<data-dir>/work`: working folders of projects that live in the database.
    work: PathBuf,
    flush_delay: Duration,
    /// With several nodes: one starts a project's run at a time, so its limit holds across
    /// them.
    leases: Option<Leases>,
    live: Mutex<HashMap<RunId, Arc<Live>>>,
    /// Starts one at a time, so the per-project and per-server counts hold.
    starting: tokio::sync::Mutex<()>,
}

/// A running run as every member sees it.
pub struct Live {
    project: ProjectId,
    state: Mutex<LiveState>,
    control: mpsc::Sender<Control>,
}

struct LiveState {
    info: RunInfo,
    replay: Replay,
    /// Bytes of output so far: the next event's `at`.
    end: u64,
    /// CPU and memory every second, the latest [`MAX_SAMPLES`].
    samples: std::collections::VecDeque<RunSample>,
}

impl Live {
    /// Adds output to the replay and publishes it; under one lock, so `at` offsets reach the
    /// project channel in order.
    fn output(&self, hub: &Hub, chunks: Vec<OutputChunk>) {
        let bytes: u64 = chunks.iter().map(|c| c.text.len() as u64).sum();
        counter!("tandem_run_output_bytes_total").increment(bytes);
        let mut s = crate::lock::lock(&self.state);
        let at = s.end;
        s.end += bytes;
        s.replay.extend(&chunks);
        hub.publish(
            self.project,
            &ServerEvent::RunOutput {
                run: s.info.id,
                at,
                chunks,
            },
        );
    }

    fn replay(&self) -> RunReplay {
        let s = crate::lock::lock(&self.state);
        RunReplay {
            run: s.info.clone(),
            chunks: s.replay.chunks(),
            truncated: s.replay.truncated,
            end: s.end,
            samples: s.samples.iter().copied().collect(),
        }
    }

    /// Keeps a sample of the run's use for late joiners and publishes it.
    fn sample(&self, hub: &Hub, sample: RunSample) {
        let mut s = crate::lock::lock(&self.state);
        if s.samples.len() >= MAX_SAMPLES {
            s.samples.pop_front();
        }
        s.samples.push_back(sample);
        hub.publish(
            self.project,
            &ServerEvent::RunStats {
                run: s.info.id,
                sample,
            },
        );
    }
}

use crate::db::now_ms;

impl Runs {
    /// Sets up the sandbox (or finds why there can be none). What a previous process left
    /// running is closed by `crate::remote::start`.
    pub async fn new(
        db: DatabaseConnection,
        hub: Hub,
        // The files runs work on, and the environments they may run in.
        (files, envs): (Files, Envs),
        args: &Args,
        data_dir: &std::path::Path,
        flush_delay: Duration,
        leases: Option<Leases>,
    ) -> crate::error::Result<Self> {
        let sandbox = if args.runs_off {
            Err("runs are turned off on this server (--runs-off)".to_owned())
        } else {
            Sandbox::probe(&args.run_ro_bind, data_dir).await
        };
        match &sandbox {
            Ok(s) => tracing::info!(
                sandbox = %s.describe(),
                time_limit_s = args.run_time_limit,
                memory_mib = args.run_memory_mib,
                processes = args.run_max_processes,
                cpu_s = args.run_cpu_secs,
                file_mib = args.run_file_mib,
                open_files = args.run_open_files,
                output_mib = args.run_output_mib,
                "runs enabled"
            ),
            Err(why) => tracing::warn!(%why, "runs disabled"),
        }
        let work = data_dir.join("work");
        let runs = Runs(Arc::new(Inner {
            db,
            hub,
            files,
            envs,
            sandbox,
            args: args.clone(),
            limits: args.limits(),
            work,
            flush_delay,
            leases,
            live: Mutex::new(HashMap::new()),
            starting: tokio::sync::Mutex::new(()),
        }));
        runs.remove_orphan_folders().await;
        Ok(runs)
    }

    /// Whether runs can start here, and what isolates them; or why not.
    pub fn describe(&self) -> Result<String, String> {
        self.0
            .sandbox
            .as_ref()
            .map(Sandbox::describe)
            .map_err(Clone::clone)
    }

    pub fn limits(&self) -> &Args {
        &self.0.args
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.0.db
    }

    /// What a run or a terminal in the environment named `name` gets (nothing without one).
    pub(crate) async fn environment(
        &self,
        project: ProjectId,
        name: Option<&str>,
    ) -> AppResult<Resolved> {
        match name {
            Some(name) => self.0.envs.resolve(project, name).await,
            None => Ok(Resolved::default()),
        }
    }

    pub fn running(&self) -> usize {
        crate::lock::lock(&self.0.live).len()
    }

    /// New runs and terminals wait while the server is in maintenance.
    pub(crate) fn writable(&self) -> AppResult<()> {
        self.0.files.tree.editor.writable()
    }

    pub(crate) fn sandbox(&self) -> AppResult<&Sandbox> {
        self.0
            .sandbox
            .as_ref()
            .map_err(|why| AppError::Unavailable(format!("Run is disabled on this server: {why}.")))
    }

    fn find(&self, project: ProjectId, run: RunId) -> AppResult<Arc<Live>> {
        crate::lock::lock(&self.0.live)
            .get(&run)
            .filter(|l| l.project == project)
            .cloned()
            .ok_or_else(|| AppError::NotFound("Running run".into()))
    }

    /// The limits every run and terminal gets.
    pub(crate) fn run_limits(&self) -> &Limits {
        &self.0.limits
    }

    /// The project's working folder with every pending edit written to it, and whether the
    /// project lets its sandboxes use the network.
    pub(crate) async fn prepare(
        &self,
        project: ProjectId,
        by: &UserInfo,
    ) -> AppResult<(PathBuf, bool)> {
        let work = self.workdir(project, by).await?;
        self.0.files.disks().flush(project).await;
        Ok((work, self.network(project).await?))
    }

    /// A cgroup with the memory and process limits, where the host allows one.
    pub(crate) fn group(&self) -> AppResult<Option<cgroup::Group>> {
        let Some(h) = &self.sandbox()?.cgroups else {
            return Ok(None);
        };
        h.group(self.0.limits.memory_bytes, self.0.limits.max_processes)
            .map(Some)
            .map_err(|e| {
                tracing::error!(error = %e, "cannot make a sandbox's cgroup");
                AppError::Unavailable("The server could not set up the sandbox's limits.".into())
            })
    }

    /// The project's live paths (relative, `/`-separated) by entry.
    async fn paths(&self, project: ProjectId) -> AppResult<HashMap<FileId, String>> {
        let tree = crate::files::tree::snapshot(&self.0.db, project).await?;
        Ok(tree.live().map(|(r, p)| (FileId(r.id), p)).collect())
    }

    async fn read_configs(
        &self,
        project: ProjectId,
        file: Option<FileId>,
    ) -> AppResult<(Vec<RunConfig>, Vec<String>)> {
        let paths = self.paths(project).await?;
        let mut configs = Vec::new();
        let mut problems = Vec::new();
        if let Some((&id, _)) = paths.iter().find(|(_, p)| *p == configs::FILE) {
            let (_, bytes) = self.0.files.content(project, id).await?;
            (configs, problems) = configs::parse(&String::from_utf8_lossy(&bytes));
        }
        if configs.is_empty() {
            configs.extend(detect_in(&paths, file));
        }
        Ok((configs, problems))
    }

    /// The project's working folder, made and filled from the tree on first use.
    async fn workdir(&self, project: ProjectId, by: &UserInfo) -> AppResult<PathBuf> {
        let disks = self.0.files.disks();
        if let Some(root) = disks.root(project) {
            return Ok(root);
        }
        disks
            .bind_work(
                &self.0.files,
                project,
                by.id,
                &self.0.work.join(project.0.to_string()),
                self.0.args.run_keep.clone(),
                self.0.flush_delay,
            )
            .await
    }

    /// Stops a run and waits (a bounded time) until it has ended.
    async fn stop_and_wait(&self, live: &Arc<Live>, by: &str) {
        let id = crate::lock::lock(&live.state).info.id;
        let _ = live.control.send(Control::Stop { by: by.to_owned() }).await;
        let deadline =
            tokio::time::Instant::now() + self.0.limits.stop_grace + Duration::from_secs(5);
        while crate::lock::lock(&self.0.live).contains_key(&id)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn launch(
        &self,
        project: ProjectId,
        by: &UserInfo,
        config: RunConfig,
        restart: bool,
        env: Resolved,
    ) -> AppResult<RunInfo> {
        let sandbox = self.sandbox()?.clone();
        let _one_at_a_time = self.0.starting.lock().await;
        // Across nodes, one starts a project's run at a time (given back when this ends).
        let _lease = match &self.0.leases {
            Some(l) => Some(l.acquire(&format!("runs.{}", project.0)).await?),
            None => None,
        };
        // Every node's runs of the project, from their rows.
        let going = self.going(project).await?;
        if let Some(same) = going.iter().find(|r| r.name == config.name) {
            if !restart {
                return Err(AppError::Conflict(format!(
                    "“{}” is already running: stop it or restart it.",
                    config.name
                )));
            }
            self.stop_anywhere(project, by, RunId(same.id), true)
                .await?;
        }
        let in_project =
            going.len() - usize::from(restart && going.iter().any(|r| r.name == config.name));
        let in_server = self.running();
        if in_project >= self.0.args.runs_per_project {
            return Err(AppError::TooMany(format!(
                "This project already has {in_project} runs going (the limit is {}); stop one first.",
                self.0.args.runs_per_project
            )));
        }
        if in_server >= self.0.args.runs_per_server {
            return Err(AppError::TooMany(format!(
                "The server is running {in_server} programs, its limit; try again when one ends."
            )));
        }
        let (work, network) = self.prepare(project, by).await?;
        if !config.cwd.is_empty() && !work.join(&config.cwd).is_dir() {
            return Err(AppError::invalid(
                "cwd",
                format!(
                    "The working folder “{}” does not exist in the project.",
                    config.cwd
                ),
            ));
        }
        let wall = config.time_limit.map_or(self.0.limits.wall, |s| {
            Duration::from_secs(s).min(self.0.limits.wall)
        });
        let started_at = now_ms();
        let environment = (!env.name.is_empty()).then(|| env.name.clone());
        let row = run::ActiveModel {
            project_id: Set(project.0),
            name: Set(config.name.clone()),
            command: Set(config.command.clone()),
            started_by: Set(by.id.0),
            started_by_name: Set(by.name.clone()),
            started_at: Set(started_at),
            tail: Set(String::new()),
            node: Set(Some(self.0.hub.block() as i64)),
            environment: Set(environment.clone()),
            ..Default::default()
        }
        .insert(&self.0.db)
        .await?;
        let info = RunInfo {
            id: RunId(row.id),
            name: config.name.clone(),
            command: config.command.clone(),
            started_by: by.id,
            started_by_name: by.name.clone(),
            started_at,
            ended_at: None,
            exit_code: None,
            reason: None,
            environment,
        };
        let Ok(group) = self.group() else {
            return self
                .failed(project, info, "the server could not set up its limits")
                .await;
        };
        // The environment's variables win over the configuration's of the same name.
        let mut vars = config.env.clone();
        vars.retain(|(k, _)| !env.vars.iter().any(|(n, _)| n == k));
        vars.extend(env.vars.iter().cloned());
        if let Some(name) = &info.environment {
            vars.push(("TANDEM_ENVIRONMENT".to_owned(), name.clone()));
        }
        let mut cmd = sandbox.command(&Job {
            work: &work,
            cwd: &config.cwd,
            shell: &configs::shell_line(&config),
            env: &vars,
            network,
            group: group.as_ref(),
            limits: Some(&self.0.limits),
            tty: false,
        });
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot start a sandbox");
                return self.failed(project, info, &e.to_string()).await;
            }
        };
        let (tx, rx) = mpsc::channel(STDIN_QUEUE);
        let live = Arc::new(Live {
            project,
            state: Mutex::new(LiveState {
                info: info.clone(),
                replay: Replay::new(self.0.limits.replay_bytes),
                end: 0,
                samples: std::collections::VecDeque::new(),
            }),
            control: tx,
        });
        crate::lock::lock(&self.0.live).insert(info.id, live.clone());
        counter!("tandem_runs_started_total").increment(1);
        gauge!("tandem_runs_active").set(self.running() as f64);
        self.0
            .hub
            .publish(project, &ServerEvent::Run { run: info.clone() });
        let drive = Drive {
            child,
            group,
            limits: self.0.limits.clone(),
            wall,
            live: live.clone(),
            hub: self.0.hub.clone(),
            control: rx,
            secrets: env.secrets,
        };
        let this = self.clone();
        tokio::spawn(async move {
            let ended = drive.run().await;
            this.finish(&live, ended).await;
        });
        Ok(info)
    }

    /// A run the sandbox could not start: recorded as failed, told to everyone.
    async fn failed(
        &self,
        project: ProjectId,
        mut info: RunInfo,
        message: &str,
    ) -> AppResult<RunInfo> {
        info.ended_at = Some(now_ms());
        info.reason = Some(StopReason::Failed {
            message: message.to_owned(),
        });
        self.record_end(project, &info, String::new()).await;
        self.0
            .hub
            .publish(project, &ServerEvent::Run { run: info.clone() });
        Ok(info)
    }

    async fn finish(&self, live: &Arc<Live>, ended: drive::Ended) {
        let (info, tail) = {
            let mut s = crate::lock::lock(&live.state);
            s.info.ended_at = Some(now_ms());
            s.info.exit_code = ended.exit_code;
            s.info.reason = ended.reason;
            (s.info.clone(), s.replay.tail(TAIL_BYTES))
        };
        crate::lock::lock(&self.0.live).remove(&info.id);
        gauge!("tandem_runs_active").set(self.running() as f64);
        let outcome = match &info.reason {
            None if info.exit_code == Some(0) => "success",
            None => "failure",
            Some(StopReason::StoppedBy { .. }) => "stopped",
            Some(StopReason::Failed { .. }) => "error",
            Some(_) => "limit",
        };
        counter!("tandem_runs_finished_total", "outcome" => outcome).increment(1);
        if let Some(r) = &info.reason
            && outcome == "limit"
        {
            let limit = serde_json::to_value(r)
                .ok()
                .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_owned))
                .unwrap_or_default();
            counter!("tandem_run_limit_kills_total", "limit" => limit).increment(1);
        }
        if let Some(end) = info.ended_at {
            histogram!("tandem_run_duration_seconds")
                .record((end - info.started_at).max(0) as f64 / 1000.0);
        }
        self.record_end(live.project, &info, tail).await;
        self.0
            .hub
            .publish(live.project, &ServerEvent::Run { run: info });
    }
}

/// What detection offers for `file` among the project's `paths` (id -> path).
fn detect_in(paths: &HashMap<FileId, String>, file: Option<FileId>) -> Option<RunConfig> {
    let root: HashSet<String> = paths
        .values()
        .filter(|p| !p.contains('/'))
        .cloned()
        .collect();
    let open = file.and_then(|f| paths.get(&f)).map(String::as_str);
    configs::detect(open, &root)
}

#[async_trait]
impl RunService for Runs {
    async fn configs(&self, project: ProjectId, file: Option<FileId>) -> AppResult<RunConfigs> {
        let (configs, problems) = self.read_configs(project, file).await?;
        Ok(RunConfigs {
            configs,
            problems,
            disabled: self.0.sandbox.as_ref().err().cloned(),
            network: self.network(project).await?,
            environments: self.0.envs.names(project).await?,
        })
    }

    async fn start(
        &self,
        project: ProjectId,
        by: &UserInfo,
        target: RunTarget,
        restart: bool,
        environment: Option<String>,
    ) -> AppResult<RunInfo> {
        self.writable()?;
        self.sandbox()?;
        // Looked up first: a missing environment (or a secret that does not open) is said
        // before anything starts.
        let env = self.environment(project, environment.as_deref()).await?;
        let (configs, problems) = match &target {
            RunTarget::Config { .. } => self.read_configs(project, None).await?,
            RunTarget::Detect { file } => {
                let paths = self.paths(project).await?;
                (detect_in(&paths, *file).into_iter().collect(), Vec::new())
            }
        };
        let config = match &target {
            RunTarget::Config { name } => configs.into_iter().find(|c| c.name == *name),
            RunTarget::Detect { .. } => configs.into_iter().next(),
        };
        let Some(config) = config else {
            let why = match (&target, problems.first()) {
                (_, Some(p)) => p.clone(),
                (RunTarget::Config { name }, None) => {
                    format!("There is no run named “{name}” in {}.", configs::FILE)
                }
                (RunTarget::Detect { .. }, None) => format!(
                    "Tandem does not know how to run this file: add a [[run]] to {} at the \
                     project's root.",
                    configs::FILE
                ),
            };
            return Err(AppError::invalid("run", why));
        };
        self.launch(project, by, config, restart, env).await
    }

    async fn stop(&self, project: ProjectId, by: &UserInfo, run: RunId) -> AppResult<()> {
        self.stop_anywhere(project, by, run, false).await
    }

    async fn stdin(
        &self,
        project: ProjectId,
        by: &UserInfo,
        run: RunId,
        line: String,
    ) -> AppResult<()> {
        if self.find(project, run).is_err()
            && let Some(node) = self.elsewhere(project, run).await?
        {
            let by = by.clone();
            let request = Request::RunStdin {
                project,
                by,
                run,
                line,
            };
            return requests::ask(&self.0.hub, node, request).await;
        }
        self.stdin_here(project, run, line)
    }

    async fn now(&self, project: ProjectId) -> AppResult<Vec<RunReplay>> {
        let mut replays = self.replays_here(project);
        replays.extend(self.replays_elsewhere(project).await?);
        replays.sort_by_key(|r| r.run.id);
        Ok(replays)
    }

    async fn record(&self, project: ProjectId, id: RunId) -> AppResult<RunRecord> {
        if let Ok(live) = self.find(project, id) {
            let s = crate::lock::lock(&live.state);
            return Ok(RunRecord {
                run: s.info.clone(),
                tail: s.replay.tail(TAIL_BYTES),
            });
        }
        self.stored(project, id).await
    }

    async fn history(&self, project: ProjectId) -> AppResult<Vec<RunInfo>> {
        self.list(project).await
    }

    async fn set_network(&self, project: ProjectId, by: &UserInfo, on: bool) -> AppResult<()> {
        self.store_network(project, by, on).await
    }
}
