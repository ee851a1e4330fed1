//! The operations console's flags: how often each node samples its health, and the
//! thresholds that open an alert.

use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// How often each node samples its health for the console and checks the alert
    /// thresholds, in seconds.
    #[arg(
        long,
        env = "TANDEM_OPS_SAMPLE_SECS",
        default_value_t = 10,
        global = true
    )]
    pub ops_sample_secs: u64,

    /// Alert when a document commit's mean time over a sample passes this (milliseconds).
    #[arg(
        long,
        env = "TANDEM_ALERT_COMMIT_MS",
        default_value_t = 250.0,
        global = true
    )]
    pub alert_commit_ms: f64,

    /// Alert when this many document commits fail within one sample (they are retried).
    #[arg(
        long,
        env = "TANDEM_ALERT_FAILED_COMMITS",
        default_value_t = 1,
        global = true
    )]
    pub alert_failed_commits: u64,

    /// Alert when the data directory's disk has less than this share free (percent).
    #[arg(
        long,
        env = "TANDEM_ALERT_DISK_FREE_PERCENT",
        default_value_t = 10.0,
        global = true
    )]
    pub alert_disk_free_percent: f64,
}

impl Args {
    pub fn sample_every(&self) -> Duration {
        Duration::from_millis(self.ops_sample_secs.max(1) * 1000)
    }
}
