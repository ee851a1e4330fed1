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

    /// Origins of Tandem's static client (the Trunk bundle, README "A static client") served
    /// from another host, e.g. `https://app.example.com`: they may call the API with the
    /// user's session and read its answers (CORS with credentials), make changes and open
    /// sockets. Repeatable, or comma-separated in the environment; none by default.
    #[arg(
        long = "client-origin",
        env = "TANDEM_CLIENT_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub client_origins: Vec<String>,

    /// Send the session cookie `SameSite=None`, for a static client on another *site* (another
    /// registrable domain: another port or a sibling subdomain is the same site and needs
    /// nothing). Needs `--secure-cookies`; browsers that block third-party cookies still
    /// refuse it, so prefer a client on the same site.
    #[arg(long, env = "TANDEM_CROSS_SITE_COOKIES", global = true)]
    pub cross_site_cookies: bool,

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

    /// Refuses settings that cannot work together, before anything starts.
    pub fn check(&self) -> Result<(), String> {
        for origin in &self.client_origins {
            parse_origin(origin)?;
        }
        if self.cross_site_cookies && !self.secure_cookies {
            return Err(
                "--cross-site-cookies needs --secure-cookies: browsers drop \
                        SameSite=None cookies that are not Secure"
                    .into(),
            );
        }
        Ok(())
    }

    pub fn login_window(&self) -> Duration {
        Duration::from_secs(self.login_window_secs)
    }
}

/// Reads `scheme://host[:port]` and returns it as browsers send it in `Origin` (lower case, no
/// trailing slash), or says what is wrong.
pub fn parse_origin(raw: &str) -> Result<String, String> {
    let origin = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let bad = |why: &str| Err(format!("--client-origin {raw:?}: {why}"));
    let Some((scheme, host)) = origin.split_once("://") else {
        return bad("not an origin (write it as https://app.example.com)");
    };
    if scheme != "http" && scheme != "https" {
        return bad("the scheme must be http or https");
    }
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ', '*']) {
        return bad("an origin is a scheme, a host and a port only: no path, user or wildcard");
    }
    Ok(origin)
}
