//! A project's activity over the last two weeks as a small bar chart drawn in SVG: each day's
//! number shows on hover (its title) and, on a phone, under the chart when the bar is tapped.

use leptos::prelude::*;

use crate::dashboard::SPARK_DAYS;

const DAY_MS: i64 = 86_400_000;
const W: f64 = 112.0;
const H: f64 = 24.0;

/// "Mon 30 Nov" for the day starting at `start_ms` (UTC).
pub fn day_label(start_ms: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = start_ms.div_euclid(DAY_MS);
    let weekday = WEEKDAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let (_, month, day) = crate::when::civil(days);
    let name = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
    format!("{weekday} {day} {name}")
}

fn counted(n: u32) -> String {
    format!("{n} {}", if n == 1 { "activity" } else { "activities" })
}

#[component]
pub fn Sparkline(days: Vec<u32>, today: i64) -> impl IntoView {
    let max = days.iter().copied().max().unwrap_or(0).max(1);
    let total: u32 = days.iter().sum();
    let picked = RwSignal::new(None::<String>);
    let n = days.len().max(1) as f64;
    let slot = W / n;
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            let start = today - (SPARK_DAYS as i64 - 1 - i as i64) * DAY_MS;
            let label = format!("{}: {}", day_label(start), counted(count));
            let h = if count == 0 {
                1.0
            } else {
                (f64::from(count) / f64::from(max) * (H - 2.0)).max(2.0)
            };
            let say = label.clone();
            view! {
                <rect x=format!("{:.1}", i as f64 * slot + 1.0) y=format!("{:.1}", H - h)
                    width=format!("{:.1}", (slot - 2.0).max(1.0)) height=format!("{h:.1}")
                    class:empty=count == 0 data-count=count.to_string()
                    on:click=move |_| picked.set(Some(say.clone()))>
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    let summary = format!("{} in the last {} days", counted(total), days.len());
    view! {
        <div class="spark" data-test="spark" data-total=total.to_string()>
            <svg viewBox=format!("0 0 {W} {H}") width=W.to_string() height=H.to_string()
                role="img" aria-label=summary.clone()>
                {bars}
            </svg>
            <span class="muted small" data-test="spark-label">{move || picked.get().unwrap_or_else(|| summary.clone())}</span>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_named() {
        assert_eq!(day_label(0), "Thu 1 Jan");
        // 2026-11-30 is a Monday.
        assert_eq!(day_label(1_795_996_800_000), "Mon 30 Nov");
        assert_eq!(day_label(951_782_400_000), "Tue 29 Feb");
    }
}
