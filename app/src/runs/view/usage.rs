//! A running run's CPU and memory as two small line charts drawn in SVG (the last two minutes,
//! one point a second), the latest numbers beside them; hovering a second shows its numbers
//! (its title), tapping it on a phone writes them under the chart.

use leptos::prelude::*;

use crate::{offline::format_bytes, types::runs::RunSample};

/// Seconds shown.
const SHOWN: usize = 120;
const W: f64 = 240.0;
/// Height of one chart; the memory chart sits under the CPU chart.
const H: f64 = 36.0;
const GAP: f64 = 6.0;

/// "CPU 93% · 41.2 MB", for a sample `ago_s` seconds before the latest.
fn describe(s: &RunSample, ago_s: i64) -> String {
    let when = if ago_s <= 0 {
        "now".to_owned()
    } else {
        format!("{ago_s} s ago")
    };
    format!(
        "{when}: CPU {:.0}% · memory {}",
        s.cpu_percent(),
        format_bytes(s.memory)
    )
}

/// The polyline through `values` scaled to `max`, in a chart whose top is at `top`.
fn line(values: impl Iterator<Item = f64>, max: f64, top: f64, slot: f64) -> String {
    values
        .enumerate()
        .map(|(i, v)| {
            let y = top + H - (v / max).clamp(0.0, 1.0) * (H - 2.0) - 1.0;
            format!("{:.1},{:.1}", i as f64 * slot + slot / 2.0, y)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
pub fn UsageGraph(samples: Signal<Vec<RunSample>>) -> impl IntoView {
    let picked = RwSignal::new(None::<String>);
    let chart = move || {
        samples.with(|all| {
            let shown = &all[all.len().saturating_sub(SHOWN)..];
            let Some(last) = shown.last().copied() else {
                return view! {
                    <p class="muted small" data-test="run-usage-waiting">"Measuring CPU and memory…"</p>
                }
                .into_any();
            };
            // CPU on a scale of at least one core; memory on the run's own peak.
            let cpu_max = shown
                .iter()
                .map(RunSample::cpu_percent)
                .fold(100.0, f64::max);
            let mem_max = shown.iter().map(|s| s.memory as f64).fold(1.0, f64::max);
            let slot = W / SHOWN as f64;
            let offset = (SHOWN - shown.len()) as f64 * slot;
            let cpu = line(shown.iter().map(RunSample::cpu_percent), cpu_max, 0.0, slot);
            let mem = line(shown.iter().map(|s| s.memory as f64), mem_max, H + GAP, slot);
            let columns = shown
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let label = describe(s, (last.at - s.at) / 1000);
                    let say = label.clone();
                    view! {
                        <rect class="usage-hit" x=format!("{:.1}", i as f64 * slot) y="0"
                            width=format!("{slot:.2}") height=format!("{}", 2.0 * H + GAP)
                            on:click=move |_| picked.set(Some(say.clone()))>
                            <title>{label}</title>
                        </rect>
                    }
                })
                .collect_view();
            view! {
                <div class="usage-now">
                    <span data-test="run-cpu" data-value=last.cpu.to_string()>{format!("CPU {:.0}%", last.cpu_percent())}</span>
                    <span data-test="run-memory" data-value=last.memory.to_string()>{format!("Memory {}", format_bytes(last.memory))}</span>
                    <span class="muted small">{format!("peak {}", format_bytes(mem_max as u64))}</span>
                </div>
                <svg class="usage-chart" viewBox=format!("0 0 {W} {}", 2.0 * H + GAP) preserveAspectRatio="none"
                    role="img" aria-label=format!("CPU and memory of the last {} seconds", shown.len())>
                    <g transform=format!("translate({offset:.1} 0)")>
                        <polyline class="usage-cpu" points=cpu/>
                        <polyline class="usage-mem" points=mem/>
                        {columns}
                    </g>
                </svg>
            }
            .into_any()
        })
    };
    view! {
        <div class="run-usage" data-test="run-usage">
            {chart}
            {move || picked.get().map(|p| view! { <p class="small usage-picked" data-test="run-usage-picked">{p}</p> })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_reads_plainly() {
        let s = RunSample {
            at: 0,
            cpu: 935,
            memory: 41_200_000,
        };
        assert_eq!(describe(&s, 0), "now: CPU 94% · memory 41.2 MB");
        assert_eq!(describe(&s, 12), "12 s ago: CPU 94% · memory 41.2 MB");
    }

    #[test]
    fn lines_stay_inside_their_chart() {
        let points = line([0.0, 50.0, 200.0].into_iter(), 100.0, H + GAP, 2.0);
        let ys: Vec<f64> = points
            .split(' ')
            .filter_map(|p| p.split(',').nth(1)?.parse().ok())
            .collect();
        assert_eq!(ys.len(), 3);
        assert!(
            ys.iter().all(|y| (H + GAP..=2.0 * H + GAP).contains(y)),
            "{ys:?}"
        );
        assert!(
            ys[2] < ys[1] && ys[1] < ys[0],
            "higher values draw higher: {ys:?}"
        );
    }
}
