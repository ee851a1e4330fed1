//! The Run panel's state for one tab: the runs it shows with their output, the configurations
//! on offer, the history. The shell creates it and feeds it project events.

use std::collections::HashMap;

use leptos::{prelude::*, task::spawn_local};

mod panel;
mod usage;

pub use panel::RunPanel;

use super::{
    get_run_record, list_run_configs,
    model::{Applied, Output},
    run_history, run_stdin, runs_now, set_run_network, start_run, stop_run,
};
use crate::{
    files::Files,
    live::events::ServerEvent,
    types::{
        FileId, ProjectId, Role, RunId,
        runs::{
            ConfigSource, MAX_SAMPLES, OutputChunk, RunConfigs, RunInfo, RunRecord, RunSample,
            RunTarget, Stream,
        },
    },
};

/// Runs of this session a tab keeps in its list (finished ones beyond it go to the history).
const KEEP_RUNS: usize = 10;

#[derive(Clone, Copy)]
pub struct RunState {
    project: ProjectId,
    role: RwSignal<Role>,
    files: Files,
    /// Runs seen since the tab opened (running and finished), oldest first.
    runs: RwSignal<Vec<RunInfo>>,
    outputs: RwSignal<HashMap<RunId, Output>>,
    /// CPU and memory of each run, one sample a second while it runs.
    stats: RwSignal<HashMap<RunId, Vec<RunSample>>>,
    selected: RwSignal<Option<RunId>>,
    configs: RwSignal<RunConfigs>,
    /// The configuration picked in the picker (by name).
    choice: RwSignal<Option<String>>,
    /// The environment runs and new terminals start in (by name), remembered per project in
    /// this browser.
    pub env: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    history: RwSignal<Option<Vec<RunInfo>>>,
    /// A finished run from the history shown in the output area.
    record: RwSignal<Option<(RunRecord, Output)>>,
    /// The panel is expanded.
    pub open: RwSignal<bool>,
    busy: RwSignal<bool>,
    /// Output events not yet shown: applied together once per animation frame, so a program
    /// printing as fast as it may costs the page one update a frame, not one an event.
    incoming: StoredValue<Vec<(RunId, u64, Vec<OutputChunk>)>>,
}

impl RunState {
    pub fn new(project: ProjectId, role: RwSignal<Role>, files: Files) -> Self {
        let s = Self {
            project,
            role,
            files,
            runs: RwSignal::new(Vec::new()),
            outputs: RwSignal::new(HashMap::new()),
            stats: RwSignal::new(HashMap::new()),
            selected: RwSignal::new(None),
            configs: RwSignal::new(RunConfigs::default()),
            choice: RwSignal::new(None),
            env: RwSignal::new(None),
            error: RwSignal::new(None),
            history: RwSignal::new(None),
            record: RwSignal::new(None),
            open: RwSignal::new(false),
            busy: RwSignal::new(false),
            incoming: StoredValue::new(Vec::new()),
        };
        // Browser only (effects do not run on the server): what is running now, then the
        // configurations for whichever file is active.
        Effect::new(move |prev: Option<()>| {
            if prev.is_none() {
                s.refresh();
                s.env.set(
                    crate::browser::storage()
                        .and_then(|st| st.get_item(&s.env_key()).ok().flatten())
                        .filter(|e| !e.is_empty()),
                );
            }
        });
        Effect::new(move |prev: Option<Option<String>>| {
            let env = s.env.get();
            if prev.is_some()
                && let Some(st) = crate::browser::storage()
            {
                let _ = st.set_item(&s.env_key(), env.as_deref().unwrap_or(""));
            }
            env
        });
        Effect::new(move |_| {
            let file = s.files.tabs.active.get();
            spawn_local(async move {
                if let Ok(c) = list_run_configs(s.project, file).await {
                    s.configs.set(c);
                }
            });
        });
        s
    }

    fn env_key(&self) -> String {
        format!("tandem.env.{}", self.project)
    }

    /// The chosen environment, if the project still has it.
    pub fn environment(&self) -> Option<String> {
        let chosen = self.env.get_untracked()?;
        self.configs
            .with_untracked(|c| c.environments.contains(&chosen))
            .then_some(chosen)
    }

    /// The project's environments, for the picker.
    pub fn environments(&self) -> Vec<String> {
        self.configs.with(|c| c.environments.clone())
    }

    pub fn can_run(&self) -> bool {
        self.role.get() >= Role::Editor
    }

    /// Fetches the running runs with their output so far (on open, after a resync or a gap).
    pub fn refresh(&self) {
        let s = *self;
        spawn_local(async move {
            let Ok(now) = runs_now(s.project).await else {
                return;
            };
            for r in now {
                // Answers may cross live events (and each other): a replay never replaces
                // output that already reaches further.
                s.outputs.update(|o| {
                    if o.get(&r.run.id).is_none_or(|have| have.received < r.end) {
                        o.insert(r.run.id, Output::from_replay(&r));
                    }
                });
                s.stats.update(|st| {
                    if st
                        .get(&r.run.id)
                        .is_none_or(|have| have.len() < r.samples.len())
                    {
                        st.insert(r.run.id, r.samples.clone());
                    }
                });
                s.upsert(r.run.clone());
                if s.selected.get_untracked().is_none() {
                    s.selected.set(Some(r.run.id));
                    s.open.set(true);
                }
            }
        });
    }

    fn upsert(&self, run: RunInfo) {
        self.runs.update(|runs| {
            match runs.iter_mut().find(|r| r.id == run.id) {
                Some(r) => *r = run,
                None => runs.push(run),
            }
            while runs.len() > KEEP_RUNS {
                let old = runs.remove(0);
                self.outputs.update(|o| {
                    o.remove(&old.id);
                });
                self.stats.update(|st| {
                    st.remove(&old.id);
                });
            }
        });
    }

    pub fn on_event(&self, e: ServerEvent) {
        match e {
            ServerEvent::Run { run } => {
                let id = run.id;
                let new = self.runs.with_untracked(|r| !r.iter().any(|x| x.id == id));
                if new {
                    self.outputs.update(|o| {
                        o.entry(id).or_default();
                    });
                    // A new run takes the panel (the output of who started it, for everyone).
                    self.selected.set(Some(id));
                    self.record.set(None);
                    self.open.set(true);
                }
                self.upsert(run);
                if self.history.get_untracked().is_some() {
                    self.load_history();
                }
            }
            ServerEvent::RunOutput { run, at, chunks } => {
                let first = self.incoming.with_value(Vec::is_empty);
                self.incoming.update_value(|q| q.push((run, at, chunks)));
                if first {
                    let s = *self;
                    request_animation_frame(move || s.show_incoming());
                }
            }
            ServerEvent::RunStats { run, sample } => self.stats.update(|st| {
                let samples = st.entry(run).or_default();
                if samples.len() >= MAX_SAMPLES {
                    samples.remove(0);
                }
                samples.push(sample);
            }),
            ServerEvent::Resync => self.refresh(),
            _ => {}
        }
    }

    /// Applies the output that arrived since the last frame, in one update.
    fn show_incoming(&self) {
        let Some(events) = self.incoming.try_update_value(std::mem::take) else {
            return;
        };
        let mut gap = false;
        self.outputs.update(|o| {
            for (run, at, chunks) in &events {
                match o.get_mut(run).map(|out| out.apply(*at, chunks)) {
                    Some(Applied::Appended | Applied::Duplicate) => {}
                    Some(Applied::Gap) | None => gap = true,
                }
            }
        });
        if gap {
            self.refresh();
        }
    }

    /// The configuration the Run button starts.
    fn chosen(&self) -> Option<crate::types::runs::RunConfig> {
        let configs = self.configs.get_untracked().configs;
        let choice = self.choice.get_untracked();
        configs
            .iter()
            .find(|c| Some(&c.name) == choice.as_ref())
            .or(configs.first())
            .cloned()
    }

    pub fn start(&self, restart: bool) {
        if !self.can_run() || self.busy.get_untracked() {
            return;
        }
        let s = *self;
        let file = self.files.tabs.active.get_untracked();
        s.busy.set(true);
        s.error.set(None);
        s.open.set(true);
        spawn_local(async move {
            // The configurations may be stale (tandem.toml just edited): ask again.
            if let Ok(c) = list_run_configs(s.project, file).await {
                s.configs.set(c);
            }
            let target = match s.chosen() {
                Some(c) if c.source == ConfigSource::File => RunTarget::Config { name: c.name },
                _ => RunTarget::Detect { file },
            };
            match start_run(s.project, target, restart, s.environment()).await {
                Ok(run) => {
                    s.selected.set(Some(run.id));
                    s.record.set(None);
                }
                Err(e) => s.error.set(Some(e.to_string())),
            }
            s.busy.set(false);
        });
    }

    pub fn stop(&self) {
        let Some(id) = self.selected.get_untracked() else {
            return;
        };
        let s = *self;
        spawn_local(async move {
            if let Err(e) = stop_run(s.project, id).await {
                s.error.set(Some(e.to_string()));
            }
        });
    }

    fn send_stdin(&self, line: String) {
        let Some(id) = self.selected.get_untracked() else {
            return;
        };
        let s = *self;
        spawn_local(async move {
            if let Err(e) = run_stdin(s.project, id, line).await {
                s.error.set(Some(e.to_string()));
            }
        });
    }

    fn load_history(&self) {
        let s = *self;
        spawn_local(async move {
            match run_history(s.project).await {
                Ok(h) => s.history.set(Some(h)),
                Err(e) => s.error.set(Some(e.to_string())),
            }
        });
    }

    fn show_record(&self, id: RunId) {
        let s = *self;
        spawn_local(async move {
            match get_run_record(s.project, id).await {
                Ok(r) => {
                    let out = Output::from_text(&r.tail);
                    s.record.set(Some((r, out)));
                }
                Err(e) => s.error.set(Some(e.to_string())),
            }
        });
    }

    fn set_network(&self, on: bool) {
        let s = *self;
        spawn_local(async move {
            match set_run_network(s.project, on).await {
                Ok(()) => s.configs.update(|c| c.network = on),
                Err(e) => s.error.set(Some(e.to_string())),
            }
        });
    }

    /// For Fix with AI on the selected run: where its output says the error is, and the end
    /// of its output; an error in the panel when the output names no file of the project.
    fn failure(&self) -> Option<(FileId, u32, String)> {
        let id = self.selected.get_untracked()?;
        let text: String = self.outputs.with_untracked(|o| {
            o.get(&id)
                .map(|out| {
                    out.blocks
                        .iter()
                        .filter(|b| b.stream != Stream::Stdin)
                        .flat_map(|b| b.spans.iter().map(|s| s.text.as_str()))
                        .collect()
                })
                .unwrap_or_default()
        });
        let paths: HashMap<String, FileId> = self
            .files
            .tree
            .with_untracked(|t| t.files().into_iter().map(|(id, p)| (p, id)).collect());
        let place = super::links::error_place(&text, &paths, "");
        if place.is_none() {
            self.error.set(Some(
                "The output names no file of this project to fix; select the lines in the \
                 editor and use AI: Fix instead."
                    .into(),
            ));
        }
        let skip = text
            .chars()
            .count()
            .saturating_sub(crate::suggestions::MAX_OUTPUT_CHARS);
        place.map(|(file, line)| (file, line, text.chars().skip(skip).collect()))
    }

    /// The selected run ended in failure (not stopped by someone, not still running).
    fn failed(&self) -> bool {
        self.selected_run()
            .is_some_and(|r| !r.running() && r.reason.is_none() && r.exit_code != Some(0))
    }

    fn selected_run(&self) -> Option<RunInfo> {
        let id = self.selected.get()?;
        self.runs.with(|r| r.iter().find(|x| x.id == id).cloned())
    }
}
