//! The project audit log: who did what in a project (sign-ins, membership, invites, file
//! changes, restores, runs, terminals, assistant requests), for its owners. Entries are added
//! by the features through [`ssr::record`] and never changed; owners read them on the
//! project's audit page (`projects`) and export them as CSV or JSON
//! (`/api/projects/{id}/audit`). This module uses no feature, so every feature may record.

use crate::types::{ProjectId, audit::AuditFilter};

#[cfg(feature = "ssr")]
pub mod ssr;

/// The export link for `filter` in `format` ("csv" or "json").
pub fn export_href(project: ProjectId, filter: &AuditFilter, format: &str) -> String {
    let mut q = vec![format!("format={format}")];
    if let Some(a) = filter.actor {
        q.push(format!("actor={a}"));
    }
    if let Some(a) = filter.action {
        q.push(format!("action={}", a.code()));
    }
    if let Some(t) = filter.from {
        q.push(format!("from={t}"));
    }
    if let Some(t) = filter.to {
        q.push(format!("to={t}"));
    }
    format!("/api/projects/{project}/audit?{}", q.join("&"))
}

/// A day picked in a date input ("2026-12-06") as ms since the epoch at 00:00 UTC.
pub fn day_ms(day: &str) -> Option<i64> {
    let mut parts = day.split('-').map(str::parse::<i64>);
    let (y, m, d) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400_000)
}

/// A time as "2026-12-06 14:02 UTC": the same on the server and in the browser, so the page
/// hydrates without a mismatch, and the same in every export.
pub fn format_ms(ms: i64) -> String {
    let mins = ms.rem_euclid(86_400_000) / 60_000;
    format!(
        "{} {:02}:{:02} UTC",
        format_day(ms.div_euclid(86_400_000)),
        mins / 60,
        mins % 60
    )
}

/// A day (days since the Unix epoch) as "2026-12-06".
pub fn format_day(days: i64) -> String {
    let (y, m, d) = crate::when::civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_dates() {
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(20_429), "2025-12-07");
        assert_eq!(format_day(11_016), "2000-02-29");
    }

    use crate::types::{UserId, audit::AuditAction};

    #[test]
    fn days_read_as_utc_midnight() {
        assert_eq!(day_ms("1970-01-01"), Some(0));
        assert_eq!(day_ms("2026-12-06"), Some(1_796_515_200_000));
        assert_eq!(day_ms("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(day_ms("2026-13-01"), None);
        assert_eq!(day_ms(""), None);
    }

    #[test]
    fn times_print_as_utc() {
        assert_eq!(format_ms(0), "1970-01-01 00:00 UTC");
        assert_eq!(
            format_ms(1_796_515_200_000 + 14 * 3_600_000 + 2 * 60_000),
            "2026-12-06 14:02 UTC"
        );
        assert_eq!(format_ms(1_709_164_800_000), "2024-02-29 00:00 UTC");
        for day in ["2000-03-01", "1999-12-31", "2026-01-31"] {
            assert_eq!(
                format_ms(day_ms(day).expect("a day")),
                format!("{day} 00:00 UTC")
            );
        }
    }

    #[test]
    fn export_links_carry_the_filter() {
        let f = AuditFilter {
            actor: Some(UserId(4)),
            action: Some(AuditAction::FileDeleted),
            from: Some(5),
            to: None,
        };
        assert_eq!(
            export_href(ProjectId(9), &f, "csv"),
            "/api/projects/9/audit?format=csv&actor=4&action=file_deleted&from=5"
        );
    }
}
