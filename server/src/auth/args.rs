//! The accounts flags: sessions, cookies and the login limiter.

use std::time::Duration;

use clap::Args as ClapArgs;

/// Who may create an account on this server.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signup {
    /// Anyone who reaches the server.
    #[default]
    Open,
    /// Only someone holding a live invite link (signing up on the way to accepting it).
    Invite,
    /// Nobody through the web: accounts come from `tandem user add`.
    Closed,
}

#[derive(ClapArgs, Debug, Clone)]
pub struct Args {
    /// Who may sign up: `open` (anyone who reaches the server), `invite` (only on the way to
    /// accepting a live invite link) or `closed` (accounts are made with `tandem user add`).
    /// Use `invite` or `closed` on a server reachable from the internet.
    #[arg(long, env = "TANDEM_SIGNUP", value_enum, default_value_t = Signup::Open, global = true)]
    pub signup: Signup,

    /// Mark cookies `Secure` (send only over HTTPS). Turn on behind TLS.
    #[arg(long, env = "TANDEM_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,

    /// Log a session out after this many minutes without a request.
    #[arg(long, env = "TANDEM_SESSION_IDLE_MINUTES", default_value_t = 7 * 24 * 60, global = true)]
    pub session_idle_minutes: u32,

    /// Failed logins allowed per account within the login window before it is locked for the
    /// rest of the window.
    #[arg(
        long,
        env = "TANDEM_LOGIN_MAX_FAILURES",
        default_value_t = 5,
        global = true
    )]
    pub login_max_failures: u32,

    /// Failed logins allowed per client IP within the login window.
    #[arg(
        long,
        env = "TANDEM_LOGIN_MAX_FAILURES_PER_IP",
        default_value_t = 30,
        global = true
    )]
    pub login_max_failures_per_ip: u32,

    /// Length of the login rate-limit window, in seconds.
    #[arg(long, env = "TANDEM_LOGIN_WINDOW_SECS", default_value_t = 15 * 60, global = true)]
    pub login_window_secs: u64,
}

impl Args {
    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(u64::from(self.session_idle_minutes) * 60)
    }

    pub fn login_window(&self) -> Duration {
        Duration::from_secs(self.login_window_secs)
    }
}
