//! Sign-in throughput with the password-hash cap: C clients log in concurrently (the right
//! password, an account each), N logins in all; reports logins per second, the latency of each
//! login, and the server's peak RSS (`VmHWM`; every hash in flight holds Argon2's 19 MiB).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use crate::{
    percentile,
    server::{self, Server},
    tab::{self, Error},
};

pub(crate) async fn throughput(
    server: &Server,
    concurrency: usize,
    total: usize,
) -> Result<(), Error> {
    let port = server.port();
    // One account per client: the limiter counts attempts per account and address, as it
    // would for that many people behind one address.
    let mut forms = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let name = format!("login{i:03}");
        crate::chat::sign_up(port, &name).await?;
        forms.push(format!(
            "name={name}&password={}",
            server::PASSWORD.replace(' ', "+")
        ));
    }
    let next = Arc::new(AtomicUsize::new(0));
    let rss0 = server.rss_kb();
    let cpu0 = server.cpu_secs();
    let t0 = Instant::now();
    let workers: Vec<_> = forms
        .into_iter()
        .map(|form| {
            let next = next.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let t = Instant::now();
                    let (status, _, body) = tab::post(port, "/api/login", &form, None).await?;
                    if status != 200 {
                        return Err::<Vec<u32>, Error>(format!("login: {status} {body}").into());
                    }
                    latencies.push(t.elapsed().as_micros() as u32);
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for w in workers {
        latencies.extend(w.await??);
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = server.cpu_secs() - cpu0;
    latencies.sort_unstable();
    println!(
        "{total} logins, {concurrency} at once: {:.1} logins/s, latency p50 {:.1} ms p99 {:.1} ms; \
         server CPU {cpu:.2} s; RSS before {} MB, peak {} MB",
        total as f64 / wall,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        rss0 / 1024,
        server.peak_rss_kb() / 1024,
    );
    Ok(())
}
