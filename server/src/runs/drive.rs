//! One run's task: reads the sandbox's stdout and stderr, coalesces and publishes output,
//! takes Stop and stdin lines, enforces the wall clock, the output limits and the process
//! limit, and when the program ends kills whatever it left behind and says why it ended.

use std::{sync::Arc, time::Duration};

use app::types::runs::{OutputChunk, RunSample, StopReason, Stream};
use rustix::process::Signal;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    process::{Child, ChildStdin},
    sync::mpsc,
    time::{Instant, sleep_until},
};

use super::{
    Live,
    cgroup::Group,
    output::{Decoded, MASK_HOLD, Pace, Pending},
    sandbox::Limits,
};
use crate::live::Hub;

/// What members ask of a running run.
pub(super) enum Control {
    Stop { by: String },
    Stdin(String),
}

/// How often the process limit is looked at.
const PIDS_POLL: Duration = Duration::from_millis(100);
/// How often a running run's CPU and memory are sampled and published.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How long output is still read after the program and its leftovers are killed.
const DRAIN: Duration = Duration::from_secs(2);

pub(super) struct Drive {
    pub(super) child: Child,
    pub(super) group: Option<Group>,
    pub(super) limits: Limits,
    /// Wall-clock limit of this run (the configuration's, at most the server's).
    pub(super) wall: Duration,
    pub(super) live: Arc<Live>,
    pub(super) hub: Hub,
    pub(super) control: mpsc::Receiver<Control>,
    /// Values masked in the output: the secrets of the run's environment.
    pub(super) secrets: Vec<String>,
}

/// How the run ended: its exit status (128 + signal when killed) and why, when not by
/// itself.
pub(super) struct Ended {
    pub(super) exit_code: Option<i32>,
    pub(super) reason: Option<StopReason>,
}

enum Read {
    Data(Stream, usize),
    Eof(Stream),
}

async fn read_some(
    pipe: &mut Option<impl AsyncRead + Unpin>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match pipe {
        Some(p) => p.read(buf).await,
        None => std::future::pending().await,
    }
}

impl Drive {
    pub(super) async fn run(mut self) -> Ended {
        let mut stdout = self.child.stdout.take();
        let mut stderr = self.child.stderr.take();
        let mut stdin: Option<ChildStdin> = self.child.stdin.take();
        let (mut out_buf, mut err_buf) = (vec![0u8; 8192], vec![0u8; 8192]);
        let masker = || crate::envs::Masker::new(self.secrets.iter().cloned());
        let (mut out_text, mut err_text) = (Decoded::new(masker()), Decoded::new(masker()));
        // Typed input is echoed masked too (someone pasting a secret into a prompt).
        let mut stdin_mask = masker();
        let mut release_at: Option<Instant> = None;
        let mut pending = Pending::default();
        let mut flush_at: Option<Instant> = None;
        let mut pace = Pace::default();
        let started = Instant::now();
        let wall_at = started + self.wall;
        let mut kill_at: Option<Instant> = None;
        let mut reason: Option<StopReason> = None;
        let mut total: u64 = 0;
        let (mut window, mut window_bytes) = (Instant::now(), 0u64);
        let mut exit: Option<std::process::ExitStatus> = None;
        let mut drain_until: Option<Instant> = None;
        let mut pids_tick = tokio::time::interval(PIDS_POLL);
        let mut sample_tick = tokio::time::interval(SAMPLE_EVERY);
        // CPU ticks and when they were read: the next sample's CPU is the difference.
        let mut last_cpu: Option<(u64, Instant)> = None;
        let limits = self.limits.clone();
        loop {
            if stdout.is_none() && stderr.is_none() && exit.is_some() {
                break;
            }
            // Past the rate, stop reading until the window ends: the pipe fills and the
            // program waits, nothing is lost.
            let throttled = window_bytes >= limits.output_bytes_per_sec;
            let resume = window + Duration::from_secs(1);
            let read = async {
                if throttled {
                    sleep_until(resume).await;
                    return None;
                }
                tokio::select! {
                    r = read_some(&mut stdout, &mut out_buf) => Some(match r {
                        Ok(0) | Err(_) => Read::Eof(Stream::Stdout),
                        Ok(n) => Read::Data(Stream::Stdout, n),
                    }),
                    r = read_some(&mut stderr, &mut err_buf) => Some(match r {
                        Ok(0) | Err(_) => Read::Eof(Stream::Stderr),
                        Ok(n) => Read::Data(Stream::Stderr, n),
                    }),
                }
            };
            tokio::select! {
                r = read => match r {
                    None => {
                        window = Instant::now();
                        window_bytes = 0;
                    }
                    Some(Read::Data(stream, n)) => {
                        let text = match stream {
                            Stream::Stdout => out_text.push(&out_buf[..n]),
                            _ => err_text.push(&err_buf[..n]),
                        };
                        if window.elapsed() >= Duration::from_secs(1) {
                            window = Instant::now();
                            window_bytes = 0;
                        }
                        window_bytes += n as u64;
                        total += n as u64;
                        pending.push(stream, text);
                        release_at = (out_text.holds() || err_text.holds()).then(|| Instant::now() + MASK_HOLD);
                        flush_at.get_or_insert(pace.due());
                        if pending.full() {
                            self.publish(pending.take());
                            pace.sent();
                            flush_at = None;
                        }
                        if total > limits.output_bytes && reason.is_none() {
                            reason = Some(StopReason::OutputLimit { mib: limits.output_bytes >> 20 });
                            self.kill_all();
                        }
                    }
                    Some(Read::Eof(stream)) => {
                        let rest = match stream {
                            Stream::Stdout => { stdout = None; out_text.finish() }
                            _ => { stderr = None; err_text.finish() }
                        };
                        pending.push(stream, rest);
                        flush_at.get_or_insert(Instant::now());
                    }
                },
                () = async { sleep_until(release_at.unwrap_or(wall_at)).await }, if release_at.is_some() => {
                    // Output paused on what might have started a secret: it did not.
                    release_at = None;
                    pending.push(Stream::Stdout, out_text.release());
                    pending.push(Stream::Stderr, err_text.release());
                    flush_at.get_or_insert(Instant::now());
                }
                () = async { sleep_until(flush_at.unwrap_or(wall_at)).await }, if flush_at.is_some() => {
                    self.publish(pending.take());
                    pace.sent();
                    flush_at = None;
                }
                c = self.control.recv(), if exit.is_none() => match c {
                    Some(Control::Stop { by }) => {
                        if reason.is_none() {
                            reason = Some(StopReason::StoppedBy { name: by });
                        }
                        self.terminate();
                        kill_at.get_or_insert(Instant::now() + limits.stop_grace);
                    }
                    Some(Control::Stdin(line)) => {
                        let mut bytes = line.into_bytes();
                        bytes.push(b'\n');
                        let ok = match &mut stdin {
                            Some(s) => s.write_all(&bytes).await.is_ok() && s.flush().await.is_ok(),
                            None => false,
                        };
                        if !ok {
                            stdin = None;
                        }
                        let mut echo = stdin_mask.push(&String::from_utf8_lossy(&bytes));
                        echo.push_str(&stdin_mask.release());
                        pending.push(Stream::Stdin, echo);
                        flush_at.get_or_insert(Instant::now());
                    }
                    None => {}
                },
                () = async { sleep_until(kill_at.unwrap_or(wall_at)).await }, if kill_at.is_some() => {
                    kill_at = None;
                    self.kill_all();
                }
                () = sleep_until(wall_at), if exit.is_none() && reason.is_none() => {
                    reason = Some(StopReason::TimeLimit { secs: self.wall.as_secs() });
                    self.kill_all();
                }
                _ = sample_tick.tick(), if exit.is_none() && self.group.is_some() => {
                    self.sample(&mut last_cpu);
                }
                _ = pids_tick.tick(), if exit.is_none() && reason.is_none() => {
                    if self.group.as_ref().is_some_and(Group::pids_exhausted) {
                        reason = Some(StopReason::ProcessLimit { max: limits.max_processes });
                        self.kill_all();
                    }
                }
                status = self.child.wait(), if exit.is_none() => {
                    exit = Some(status.unwrap_or_default());
                    // The program is done: whatever it left running goes with it.
                    self.kill_all();
                    drain_until = Some(Instant::now() + DRAIN);
                }
                () = async { sleep_until(drain_until.unwrap_or(wall_at)).await }, if drain_until.is_some() => {
                    // Something still holds the pipes open after the kill: stop reading.
                    if stdout.take().is_some() {
                        pending.push(Stream::Stdout, out_text.finish());
                    }
                    if stderr.take().is_some() {
                        pending.push(Stream::Stderr, err_text.finish());
                    }
                }
            }
        }
        if !pending.is_empty() {
            self.publish(pending.take());
        }
        let code = exit.and_then(exit_code);
        if reason.is_none() {
            reason = self.limit_hit(code);
        }
        drop(self.group.take());
        Ended {
            exit_code: code,
            reason,
        }
    }

    /// Why a run that ended by itself ended, when a limit did it.
    fn limit_hit(&self, code: Option<i32>) -> Option<StopReason> {
        let l = &self.limits;
        if let Some(g) = &self.group
            && g.oom_killed()
        {
            return Some(StopReason::MemoryLimit {
                mib: l.memory_bytes >> 20,
            });
        }
        match code {
            Some(c) if c == 128 + Signal::XCPU.as_raw() => {
                Some(StopReason::CpuLimit { secs: l.cpu_secs })
            }
            Some(c) if c == 128 + Signal::XFSZ.as_raw() => Some(StopReason::FileSizeLimit {
                mib: l.file_bytes >> 20,
            }),
            // A refused fork is reported even when the program then exits 0: a fork bomb's
            // shell prints "Cannot fork" and returns, and the user should learn why.
            _ if self.group.as_ref().is_some_and(Group::pids_exhausted) => {
                Some(StopReason::ProcessLimit {
                    max: l.max_processes,
                })
            }
            _ => None,
        }
    }

    /// Reads the group's use and publishes CPU over the time since the last reading (the
    /// first reading only starts the clock) and memory now.
    fn sample(&self, last: &mut Option<(u64, Instant)>) {
        let Some(usage) = self.group.as_ref().and_then(Group::usage) else {
            return;
        };
        let now = Instant::now();
        let previous = last.replace((usage.cpu_ticks, now));
        let Some((ticks, then)) = previous else {
            return;
        };
        self.live
            .sample(&self.hub, sample_of(usage, ticks, now - then));
    }

    fn publish(&self, chunks: Vec<OutputChunk>) {
        if chunks.is_empty() {
            return;
        }
        self.live.output(&self.hub, chunks);
    }

    /// SIGTERM to every process of the sandbox but bubblewrap's own (which would take the
    /// sandbox down at once): the program gets its chance to clean up.
    fn terminate(&self) {
        match &self.group {
            Some(g) => {
                // Skipped: bubblewrap (its end ends the sandbox at once) and the shell it
                // starts (which sets the limits, then waits for the command: were it to die
                // first, the command would go with it, grace period or not).
                let comm = |pid: i32| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default()
                };
                let parent = |pid: i32| {
                    std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .ok()
                        .and_then(|s| {
                            let after = s.rsplit_once(')')?.1.to_owned();
                            after.split_whitespace().nth(1)?.parse::<i32>().ok()
                        })
                };
                for pid in g.processes() {
                    let wrapper = parent(pid).is_some_and(|p| comm(p).trim() == "bwrap");
                    if comm(pid).trim() == "bwrap" || wrapper {
                        continue;
                    }
                    super::cgroup::send(pid, Signal::TERM);
                }
            }
            // Without a cgroup the sandbox's processes are not known one by one: ending
            // bubblewrap ends its PID namespace, and everything in it, at once.
            None => self.kill_all(),
        }
    }

    /// SIGKILL to everything in the sandbox.
    fn kill_all(&self) {
        kill_sandbox(self.group.as_ref(), &self.child);
    }
}

/// SIGKILL to everything in a sandbox: its cgroup, and bubblewrap (our child, not yet
/// reaped, so the pid is still its), whose end takes the PID namespace down with it.
pub(crate) fn kill_sandbox(group: Option<&Group>, child: &Child) {
    if let Some(g) = group {
        g.signal(Signal::KILL);
    }
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        super::cgroup::send(pid, Signal::KILL);
    }
}

/// A sample from `usage` and the CPU ticks `elapsed` before it. A process that ended
/// between two readings takes its time with it (unless its parent waited for it), so CPU
/// never goes below zero.
fn sample_of(usage: super::cgroup::Usage, ticks_before: u64, elapsed: Duration) -> RunSample {
    let ticks = usage.cpu_ticks.saturating_sub(ticks_before);
    let secs = elapsed.as_secs_f64().max(0.001);
    let per_mille = ticks as f64 * 1000.0 / super::cgroup::TICKS_PER_SEC as f64 / secs;
    RunSample {
        at: crate::db::now_ms(),
        cpu: per_mille.round().clamp(0.0, f64::from(u32::MAX)) as u32,
        memory: usage.memory,
    }
}

/// Exit status as a shell reports it: the code, or 128 + the signal that killed it.
pub(crate) fn exit_code(status: std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_the_share_of_one_core_since_the_last_reading() {
        let usage = |cpu_ticks| super::super::cgroup::Usage {
            memory: 5 << 20,
            cpu_ticks,
        };
        // 50 ticks in half a second: one core busy.
        let s = sample_of(usage(150), 100, Duration::from_millis(500));
        assert_eq!(s.cpu, 1000);
        assert_eq!(s.memory, 5 << 20);
        // Two cores busy for a second; a reading that went backwards is zero, not negative.
        assert_eq!(sample_of(usage(300), 100, Duration::from_secs(1)).cpu, 2000);
        assert_eq!(sample_of(usage(90), 100, Duration::from_secs(1)).cpu, 0);
    }
}
