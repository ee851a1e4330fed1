//! The floor under "server CPU per delivered update": what the kernel alone charges a sender
//! for one small write to a loopback TCP socket whose reader waits in epoll, as a sync
//! server's fan-out does once per recipient per update. No websocket, no document, no
//! runtime on the writing side: a plain thread writing a frame-sized message to each of N
//! sockets per round, R rounds a second, its own CPU time read from
//! `/proc/thread-self/schedstat` (nanoseconds, only its sleeps excluded). With `--batch K` each write carries K frames
//! at once, which is what coalescing deliveries per recipient would save.

use std::{
    io::Write,
    net::{TcpListener, TcpStream},
    time::{Duration, Instant},
};

use tokio::io::AsyncReadExt;

pub(crate) struct Floor {
    pub(crate) conns: usize,
    pub(crate) rate: f64,
    pub(crate) secs: f64,
    pub(crate) bytes: usize,
    pub(crate) batch: usize,
}

/// The calling thread's CPU time so far (user and system), in nanoseconds.
fn thread_cpu_ns() -> Result<u64, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let ns = stat
        .split_whitespace()
        .next()
        .ok_or("empty schedstat")?
        .parse()?;
    Ok(ns)
}

pub(crate) fn run(f: &Floor) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut writers = Vec::with_capacity(f.conns);
    let mut readers = Vec::with_capacity(f.conns);
    for _ in 0..f.conns {
        let reader = TcpStream::connect(addr)?;
        let (writer, _) = listener.accept()?;
        // As the server sets it: small frames must not wait for Nagle.
        writer.set_nodelay(true)?;
        reader.set_nonblocking(true)?;
        writers.push(writer);
        readers.push(reader);
    }
    // The readers: one task per socket on a runtime of their own, asleep in epoll between
    // rounds, as the load generator's clients are.
    let reading = std::thread::spawn(move || -> std::io::Result<u64> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        rt.block_on(async move {
            let mut tasks = Vec::new();
            for r in readers {
                let mut r = tokio::net::TcpStream::from_std(r)?;
                tasks.push(tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let mut total = 0u64;
                    while let Ok(n @ 1..) = r.read(&mut buf).await {
                        total += n as u64;
                    }
                    total
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap_or(0);
            }
            Ok(total)
        })
    });
    let frame = vec![0x82u8; f.bytes * f.batch.max(1)];
    let rounds = (f.rate * f.secs).max(1.0) as u64;
    let gap = Duration::from_secs_f64(1.0 / f.rate);
    // The kernel brings a thread's runtime up to date when it is switched out, not while it
    // runs: read it only right after a sleep, at the start and after the last round's pause.
    std::thread::sleep(Duration::from_millis(10));
    let before = thread_cpu_ns()?;
    let start = Instant::now();
    for round in 0..rounds {
        for w in &mut writers {
            w.write_all(&frame)?;
        }
        // Paced like the load: the readers go back to sleep between rounds.
        let due = start + gap.mul_f64((round + 1) as f64);
        let wait = due
            .checked_duration_since(Instant::now())
            .unwrap_or_default()
            .max(Duration::from_micros(100));
        std::thread::sleep(wait);
    }
    let cpu = thread_cpu_ns()?.saturating_sub(before);
    drop(writers);
    let received = reading.join().map_err(|_| "reader thread panicked")??;
    let writes = rounds * f.conns as u64;
    let frames = writes * f.batch.max(1) as u64;
    let sent = frames * f.bytes as u64;
    if received != sent {
        return Err(format!("readers got {received} of {sent} bytes").into());
    }
    println!(
        "{} writes of {} frame(s) x {} B to {} loopback sockets: {:.2} us of writer CPU per write, {:.2} us per frame",
        writes,
        f.batch.max(1),
        f.bytes,
        f.conns,
        cpu as f64 / writes as f64 / 1000.0,
        cpu as f64 / frames as f64 / 1000.0,
    );
    Ok(())
}
