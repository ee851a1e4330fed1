//! One terminal's task: reads the pty and publishes output (coalesced like a run's, slowed past
//! the output rate: the pty fills and the program waits), writes keystrokes without ever
//! blocking the reads (a program that does not read its input must not stall its output),
//! closes the terminal when asked, when idle, or when the shell exits, and kills whatever the
//! shell left behind.

use std::{sync::Arc, time::Duration};

use tokio::{
    process::Child,
    sync::mpsc,
    time::{Instant, sleep_until},
};

use super::{Term, pty::Master};
use crate::{
    live::Hub,
    runs::{
        cgroup::Group,
        drive::{exit_code, kill_sandbox},
        output::{Decoded, FLUSH_BYTES, MASK_HOLD, Pace},
    },
};

/// Keystrokes held for the shell at most; past it, input waits in the channel (and the
/// sender is told the terminal is not reading).
const PENDING_INPUT: usize = 64 * 1024;
/// How long output is still read after the shell ended and its leftovers were killed.
const DRAIN: Duration = Duration::from_secs(2);

pub(super) struct Drive {
    pub(super) child: Child,
    pub(super) group: Option<Group>,
    pub(super) master: Arc<Master>,
    pub(super) term: Arc<Term>,
    pub(super) hub: Hub,
    pub(super) input: mpsc::Receiver<Vec<u8>>,
    pub(super) close: mpsc::Receiver<String>,
    pub(super) idle: Duration,
    /// Output bytes per second sent on at most.
    pub(super) rate: u64,
    /// Values masked on the screen: the secrets of the terminal's environment.
    pub(super) secrets: Vec<String>,
}

impl Drive {
    /// Runs the terminal until it closes; returns why, as members see it.
    pub(super) async fn run(mut self) -> String {
        let mut buf = vec![0u8; 16 * 1024];
        let mut text = Decoded::new(crate::envs::Masker::new(self.secrets.iter().cloned()));
        let mut release_at: Option<Instant> = None;
        let mut pending = String::new();
        let mut flush_at: Option<Instant> = None;
        let mut pace = Pace::default();
        let mut keys: Vec<u8> = Vec::new();
        let mut active = Instant::now();
        let (mut window, mut window_bytes) = (Instant::now(), 0u64);
        let mut reason: Option<String> = None;
        let mut exit: Option<std::process::ExitStatus> = None;
        let mut eof = false;
        let mut drain_until: Option<Instant> = None;
        let far = Instant::now() + Duration::from_secs(86_400 * 365);
        loop {
            if eof && exit.is_some() {
                break;
            }
            let throttled = window_bytes >= self.rate;
            tokio::select! {
                r = self.master.read(&mut buf), if !eof && !throttled => match r {
                    Ok(0) | Err(_) => {
                        eof = true;
                        pending.push_str(&text.finish());
                        flush_at.get_or_insert(Instant::now());
                    }
                    Ok(n) => {
                        if window.elapsed() >= Duration::from_secs(1) {
                            window = Instant::now();
                            window_bytes = 0;
                        }
                        window_bytes += n as u64;
                        active = Instant::now();
                        pending.push_str(&text.push(&buf[..n]));
                        release_at = text.holds().then(|| Instant::now() + MASK_HOLD);
                        flush_at.get_or_insert(pace.due());
                        if pending.len() >= FLUSH_BYTES {
                            self.publish(&mut pending);
                            pace.sent();
                            flush_at = None;
                        }
                    }
                },
                () = sleep_until(release_at.unwrap_or(far)), if release_at.is_some() => {
                    // The screen paused on what might have started a secret: it did not.
                    release_at = None;
                    pending.push_str(&text.release());
                    flush_at.get_or_insert(Instant::now());
                }
                () = sleep_until(window + Duration::from_secs(1)), if throttled => {
                    window = Instant::now();
                    window_bytes = 0;
                }
                () = sleep_until(flush_at.unwrap_or(far)), if flush_at.is_some() => {
                    self.publish(&mut pending);
                    pace.sent();
                    flush_at = None;
                }
                k = self.input.recv(), if keys.len() < PENDING_INPUT && exit.is_none() => {
                    if let Some(k) = k {
                        active = Instant::now();
                        keys.extend_from_slice(&k);
                    }
                }
                w = self.master.write(&keys), if !keys.is_empty() && exit.is_none() => match w {
                    Ok(n) => { keys.drain(..n.min(keys.len())); }
                    Err(e) => {
                        tracing::debug!(error = %e, "terminal input failed");
                        keys.clear();
                    }
                },
                why = self.close.recv(), if reason.is_none() && exit.is_none() => {
                    reason = Some(why.unwrap_or_else(|| "closed".to_owned()));
                    self.kill_all();
                }
                () = sleep_until(active + self.idle), if reason.is_none() && exit.is_none() => {
                    reason = Some(format!("closed after {} without input or output", idle_label(self.idle)));
                    self.kill_all();
                }
                status = self.child.wait(), if exit.is_none() => {
                    exit = Some(status.unwrap_or_default());
                    // The shell is done: whatever it left running goes with it.
                    self.kill_all();
                    drain_until = Some(Instant::now() + DRAIN);
                }
                () = sleep_until(drain_until.unwrap_or(far)), if drain_until.is_some() && !eof => {
                    // Something still holds the pty open after the kill: stop reading.
                    eof = true;
                }
            }
        }
        pending.push_str(&text.finish());
        self.publish(&mut pending);
        drop(self.group.take());
        reason.unwrap_or_else(|| match exit.and_then(exit_code) {
            Some(c) => format!("exit {c}"),
            None => "ended".to_owned(),
        })
    }

    fn publish(&self, pending: &mut String) {
        if !pending.is_empty() {
            self.term.output(&self.hub, std::mem::take(pending));
        }
    }

    /// SIGKILL to everything in the sandbox (a shell has nothing to clean up that a run's
    /// grace period would protect).
    fn kill_all(&self) {
        kill_sandbox(self.group.as_ref(), &self.child);
    }
}

/// "30 min", "45 s".
fn idle_label(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}
