//! How long the coordinator takes to record a result batch while the API is busy: 50 open
//! dashboards (event streams) and a client listing the 1,000 latest jobs in a loop, against the
//! same recording with the API idle. The result path and the API share the coordinator's book;
//! this shows how much the API's reads hold the result path up.
//!
//! Run with `cargo xtask bench api` (release build). Every figure comes from this one run.

use mcp_coordinator::Book;
use mcp_protocol::now_ms;
use mcp_server::{Api, HttpServer};
use mcp_testkit::fixtures;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ENDED_JOBS: u64 = 1000;
const DASHBOARDS: usize = 50;
const BATCHES: u64 = 2000;
/// Time between two recorded batches: results arrive at a pace, not all at once.
const PACE: Duration = Duration::from_millis(1);

/// Records `BATCHES` result batches of job `live`, one at a time; the latency of each.
fn record(book: &Mutex<Book>, first: u64) -> Vec<Duration> {
    (first..first + BATCHES)
        .map(|index| {
            let values = (0..1024).map(|k| (index * 1024 + k) as f64).collect();
            let result = fixtures::result(index, 1024, values);
            let started = Instant::now();
            book.lock()
                .unwrap()
                .record(vec![("live".to_string(), result)], now_ms())
                .unwrap();
            let took = started.elapsed();
            std::thread::sleep(PACE);
            took
        })
        .collect()
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Reads `GET path` in a loop until `stop`; how many answers it read.
fn list(address: SocketAddr, path: &'static str, stop: Arc<AtomicBool>, done: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let mut socket = TcpStream::connect(address).unwrap();
        write!(
            socket,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut body = Vec::new();
        socket.read_to_end(&mut body).unwrap();
        assert!(body.starts_with(b"HTTP/1.1 200"), "{path}");
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Keeps an event stream open and reads it until `stop`.
fn watch(address: SocketAddr, stop: Arc<AtomicBool>) {
    let mut socket = TcpStream::connect(address).unwrap();
    write!(
        socket,
        "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        line.clear();
        let _ = reader.read_line(&mut line);
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = Book::open(&dir.path().join("history.sqlite3"), now_ms()).unwrap();
    for i in 0..ENDED_JOBS {
        let id = format!("ended-{i:04}");
        book.announce(fixtures::announcement(&id, 2, 2, i), now_ms())
            .unwrap();
        let result = fixtures::result(0, 2, vec![1.0, 2.0]);
        book.record(vec![(id, result)], now_ms()).unwrap();
    }
    let live = fixtures::announcement("live", 1024 * BATCHES * 3, 1024, now_ms());
    book.announce(live, now_ms()).unwrap();
    let book = Arc::new(Mutex::new(book));

    let idle = {
        let mut d = record(&book, 0);
        d.sort();
        d
    };

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http = HttpServer::start(listener, Api::new(book.clone(), None)).unwrap();
    let address = http.address();
    let stop = Arc::new(AtomicBool::new(false));
    let listings = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for _ in 0..DASHBOARDS {
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || watch(address, stop)));
    }
    {
        let (stop, done) = (stop.clone(), listings.clone());
        threads.push(std::thread::spawn(move || {
            list(address, "/api/jobs?limit=1000", stop, done)
        }));
    }
    // The listing runs before the measurement starts.
    while listings.load(Ordering::Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let busy = {
        let mut d = record(&book, BATCHES);
        d.sort();
        d
    };
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    http.stop().unwrap();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "recording one result batch (1024 values) into the history, {BATCHES} batches each way"
    );
    println!("                                       p50 ms   p99 ms   max ms");
    for (label, d) in [
        ("API idle", &idle),
        ("50 dashboards + 1,000-job listing", &busy),
    ] {
        println!(
            "{label:<38} {:>6.2}   {:>6.2}   {:>6.2}",
            ms(quantile(d, 0.5)),
            ms(quantile(d, 0.99)),
            ms(*d.last().unwrap())
        );
    }
    println!(
        "busy / idle: p50 {:.2}x, p99 {:.2}x; listings served meanwhile: {}",
        ms(quantile(&busy, 0.5)) / ms(quantile(&idle, 0.5)),
        ms(quantile(&busy, 0.99)) / ms(quantile(&idle, 0.99)),
        listings.load(Ordering::Relaxed)
    );
}
