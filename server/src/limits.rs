//! Counting refusals by the configured limits (`--max-sockets-per-user`, …) for `/metrics`.
//! A leaf module, like `rate`: every feature may count, and it uses none of them.

use metrics::counter;

/// Requests refused because a limit was reached, by `limit` (the flag's name without `--`).
pub const LIMIT_REFUSALS: &str = "tandem_limit_refusals_total";

/// Counts one refusal by the limit `limit`.
pub fn refused(limit: &'static str) {
    counter!(LIMIT_REFUSALS, "limit" => limit).increment(1);
}
