//! The accounts flags: sign-up, sessions, cookies, allowed origins and the login limiter.

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
// Each feature's flags are a group named for the feature: four structs all called `Args` would
// share one group id, which clap's debug assertions refuse.
#[group(id = "auth_args")]
pub struct Args {
    /// Who may sign up: `open` (anyone who reaches the server), `invite` (only on the way to
    /// accepting a live invite link) or `closed` (accounts are made with `tandem user add`).
    /// Use `invite` or `closed` on a server reachable from the internet.
    #[arg(long, env = "TANDEM_SIGNUP", value_enum, default_value_t = Signup::Open, global = true)]
    pub signup: Signup,

    /// Origins (`https://tandem.example.com`) besides the request's own host from which pages
    /// may send changes and open websockets; for a proxy that rewrites `Host` (repeatable, or
    /// comma-separated in the environment). Every other cross-site request is refused.
    #[arg(
        long = "allowed-origin",
        env = "TANDEM_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_origins: Vec<String>,

    /// Addresses of reverse proxies whose `X-Forwarded-For` tells the client's address (for
    /// the login and sign-up limits); repeatable, or comma-separated in the environment.
    /// Without it every request's address is its connection's.
    #[arg(
        long = "trusted-proxy",
        env = "TANDEM_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Mark cookies `Secure` (send only over HTTPS). Turn on behind TLS.
    #[arg(long, env = "TANDEM_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,

    /// Log a session out after this many minutes without a request.
    #[arg(long, env = "TANDEM_SESSION_IDLE_MINUTES", default_value_t = 7 * 24 * 60, global = true)]
    pub session_idle_minutes: u32,

    /// Failed logins per account and client address that cost nothing; after them each attempt
    /// from that address waits twice as long as the one before (1 s, 2 s, 4 s, … at most
    /// 15 minutes). Other addresses, such as the account owner's, are not slowed.
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

    /// Failed logins per account (from any address) within the window after which every
    /// attempt on it waits, doubling up to 30 s: a backstop against guesses spread over many
    /// addresses that slows them without locking the owner out.
    #[arg(
        long,
        env = "TANDEM_LOGIN_ACCOUNT_BACKSTOP",
        default_value_t = 100,
        global = true
    )]
    pub login_account_backstop: u32,

    /// Password hashes (sign-up, login, password change) that may run at once; each holds
    /// 19 MiB while it runs. Others wait up to 10 s, then are told the server is busy.
    #[arg(
        long,
        env = "TANDEM_PASSWORD_HASH_CONCURRENCY",
        default_value_t = 4,
        global = true
    )]
    pub password_hash_concurrency: usize,

    /// Projects one account may own (created, imported or opened from a folder).
    #[arg(
        long,
        env = "TANDEM_MAX_PROJECTS_PER_USER",
        default_value_t = 200,
        global = true
    )]
    pub max_projects_per_user: u64,

    /// Web sign-ups one client address may make per hour.
    #[arg(
        long,
        env = "TANDEM_SIGNUPS_PER_IP_PER_HOUR",
        default_value_t = 20,
        global = true
    )]
    pub signups_per_ip_per_hour: u32,

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
