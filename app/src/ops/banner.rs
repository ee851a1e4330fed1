//! The notice bar at the top of every page: the admins' broadcast (dismissable), maintenance
//! (not dismissable: the editor is read-only meanwhile) and a restart countdown. The page's
//! first render has the notice from the server; later changes arrive on whatever live channel
//! the page has (the project socket, the dashboard's stream) through [`received`], and every
//! page also asks again every [`POLL_SECS`] (pages with no live channel, channels that dropped).

use leptos::prelude::*;

use super::{Level, Notice, current_notice};

/// How often a page asks for the notice when nothing told it of a change.
pub const POLL_SECS: u64 = 30;

#[cfg(feature = "browser")]
thread_local! {
    /// The mounted bar's notice: live channels set it through [`received`].
    static LIVE: std::cell::Cell<Option<RwSignal<Option<Notice>>>> = const { std::cell::Cell::new(None) };
}

/// The notice as the page knows it, for whoever else shows something of it (the editor's
/// read-only line during maintenance). Provided by the app's root, above the routes.
#[derive(Clone, Copy)]
pub struct Notices(RwSignal<Option<Notice>>);

impl Notices {
    pub fn provide() {
        provide_context(Self(RwSignal::new(None)));
    }

    /// Whether the server is in maintenance, as far as the page has heard.
    pub fn maintenance() -> bool {
        use_context::<Self>().is_some_and(|n| {
            n.0.with(|n| n.as_ref().is_some_and(|n| n.maintenance.is_some()))
        })
    }
}

/// A live channel delivered a new notice.
pub fn received(notice: Notice) {
    #[cfg(feature = "browser")]
    LIVE.with(|live| {
        if let Some(signal) = live.get() {
            let _ = signal.try_set(Some(notice));
        }
    });
    #[cfg(not(feature = "browser"))]
    let _ = notice;
}

/// "Tandem restarts in 45 s", "in 2 min", or "now".
pub fn countdown(at_ms: i64, now_ms: i64) -> String {
    let secs = (at_ms - now_ms).max(0).div_euclid(1000);
    match secs {
        0 => "now".to_owned(),
        s if s < 120 => format!("in {s} s"),
        s => format!("in {} min", (s + 59) / 60),
    }
}

#[component]
pub fn NoticeBar() -> impl IntoView {
    let live = use_context::<Notices>().map_or_else(|| RwSignal::new(None::<Notice>), |n| n.0);
    let poll = RwSignal::new(0u32);
    let fetched = Resource::new(move || poll.get(), |_| current_notice());
    // The banner the person closed (by when it was posted): a new broadcast shows again.
    let dismissed = RwSignal::new(None::<i64>);
    let now = RwSignal::new(crate::when::now_ms());
    #[cfg(feature = "browser")]
    {
        LIVE.with(|l| l.set(Some(live)));
        on_cleanup(|| LIVE.with(|l| l.set(None)));
        let every = std::time::Duration::from_secs(POLL_SECS);
        if let Ok(h) = set_interval_with_handle(move || poll.update(|n| *n += 1), every) {
            on_cleanup(move || h.clear());
        }
        // A fetched notice is news too: it replaces whatever a channel said before.
        Effect::new(move |_| {
            if let Some(Ok(n)) = fetched.get() {
                live.set(Some(n));
            }
        });
    }
    let notice = move || {
        live.get()
            .or_else(|| fetched.get().and_then(Result::ok))
            .unwrap_or_default()
    };
    // The countdown ticks only while a restart is announced.
    #[cfg(feature = "browser")]
    {
        let ticking = StoredValue::new_local(None::<IntervalHandle>);
        Effect::new(move |_| {
            let counting = notice().shutdown.is_some();
            match (counting, ticking.get_value()) {
                (true, None) => {
                    now.set(crate::when::now_ms());
                    let h = set_interval_with_handle(
                        move || now.set(crate::when::now_ms()),
                        std::time::Duration::from_secs(1),
                    )
                    .ok();
                    ticking.set_value(h);
                }
                (false, Some(h)) => {
                    h.clear();
                    ticking.set_value(None);
                }
                _ => {}
            }
        });
        on_cleanup(move || {
            if let Some(h) = ticking.get_value() {
                h.clear();
            }
        });
    }
    view! {
        <Transition fallback=|| ()>
            {move || {
                let n = notice();
                let shutdown = n.shutdown.map(|s| view! {
                    <div class="server-notice notice-shutdown" role="alert" data-test="notice-shutdown">
                        <strong>{move || format!("Tandem restarts {}", countdown(s.at_ms, now.get()))}</strong>
                        " · " {s.message.clone()}
                    </div>
                });
                let maintenance = n.maintenance.map(|m| view! {
                    <div class="server-notice notice-maintenance" role="status" data-test="notice-maintenance">
                        <strong>"Maintenance"</strong> " · " {m.message}
                    </div>
                });
                let banner = n
                    .banner
                    .filter(|b| dismissed.get() != Some(b.at_ms))
                    .map(|b| {
                        let at = b.at_ms;
                        let class = match b.level {
                            Level::Info => "server-notice notice-info",
                            Level::Warning => "server-notice notice-warning",
                        };
                        view! {
                            <div class=class role="status" data-test="notice-banner">
                                <span class="notice-text">{b.text}</span>
                                <span class="notice-by">{format!(" — {}", b.by)}</span>
                                <button class="notice-close" aria-label="Dismiss"
                                    on:click=move |_| dismissed.set(Some(at))>"×"</button>
                            </div>
                        }
                    });
                view! { <div class="server-notices">{shutdown}{maintenance}{banner}</div> }
            }}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_read_naturally() {
        assert_eq!(countdown(60_000, 0), "in 60 s");
        assert_eq!(countdown(119_999, 0), "in 119 s");
        assert_eq!(countdown(180_000, 0), "in 3 min");
        assert_eq!(countdown(181_000, 0), "in 4 min");
        assert_eq!(countdown(0, 5_000), "now");
    }
}
