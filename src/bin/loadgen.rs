//! The load generator: drives a running Strangers server over real WebSockets
//! and prints what it measured (a table, or JSON with `--json`).
//!
//! Built only with the `loadgen` feature, so the app does not carry it:
//! `cargo run --release --features loadgen --bin loadgen -- --help`.
//! See BENCHMARKS.md for the scenarios, the commands and the results.

use std::net::{IpAddr, SocketAddr};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use strangers::protocol::{ClientMessage, ServerMessage};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

type Socket = WebSocketStream<TcpStream>;

#[derive(Debug, Parser)]
#[command(about = "Drives a running Strangers server and measures it")]
struct Args {
    /// The server to drive; several, comma-separated, for instances sharing a
    /// Redis: capacity spreads its strangers over all of them, relay pairs a
    /// stranger on the first with one on the last, the rest use the first.
    #[arg(
        long,
        default_value = "127.0.0.1:3000",
        global = true,
        value_delimiter = ','
    )]
    server: Vec<SocketAddr>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Ramp to N connected strangers; the server's memory per stranger.
    Capacity {
        #[arg(long, default_value_t = 1000)]
        strangers: usize,
        /// Strangers per generator process (each process may hold ~20,000 files).
        #[arg(long, default_value_t = 15_000)]
        per_process: usize,
    },
    /// N connected strangers join at once: time to be paired, and every pair checked.
    JoinStorm {
        #[arg(long, default_value_t = 1000)]
        strangers: usize,
    },
    /// N strangers arrive at once: each connects, is welcomed and joins, with
    /// no barrier between; time from connecting to being paired.
    ArrivalStorm {
        #[arg(long, default_value_t = 1000)]
        strangers: usize,
    },
    /// P pairs exchange messages at R a second in all for T seconds.
    Relay {
        #[arg(long, default_value_t = 500)]
        pairs: usize,
        #[arg(long, default_value_t = 5000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Send sealed (end-to-end encrypted) messages, as browsers do: the
        /// server relays ciphertext of the same size and stamps each one.
        #[arg(long)]
        sealed: bool,
    },
    /// N strangers skip again and again for T seconds.
    Churn {
        #[arg(long, default_value_t = 200)]
        strangers: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Question mode: N questions asked at once and 2N strangers offering to
    /// discuss: time until each asker is seated, then until it has read both
    /// discussers (every line checked: the right discussion, both numbers).
    Discussions {
        #[arg(long, default_value_t = 300)]
        questions: usize,
    },
    /// (internal) Hold N connections from one source address for `capacity`.
    Hold {
        #[arg(long)]
        count: usize,
        #[arg(long)]
        source: IpAddr,
    },
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let servers = args.server;
    let first = *servers.first().ok_or("no --server")?;
    let report = match args.scenario {
        Scenario::Capacity {
            strangers,
            per_process,
        } => capacity(&servers, strangers, per_process).await?,
        Scenario::JoinStorm { strangers } => join_storm(first, strangers).await?,
        Scenario::ArrivalStorm { strangers } => arrival_storm(first, strangers).await?,
        Scenario::Relay {
            pairs,
            rate,
            seconds,
            sealed,
        } => relay(&servers, pairs, rate, Duration::from_secs(seconds), sealed).await?,
        Scenario::Churn { strangers, seconds } => {
            churn(first, strangers, Duration::from_secs(seconds)).await?
        }
        Scenario::Discussions { questions } => discussions(first, questions).await?,
        Scenario::Hold { count, source } => return hold(first, count, source).await,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        println!("| {} | |\n|---|---|", report.scenario);
        for (name, value) in &report.figures {
            println!("| {name} | {value} |");
        }
    }
    Ok(())
}

/// What a scenario measured, in order.
#[derive(Debug, Serialize)]
struct Report {
    scenario: &'static str,
    figures: Vec<(String, String)>,
}

impl Report {
    fn new(scenario: &'static str) -> Self {
        Report {
            scenario,
            figures: Vec::new(),
        }
    }

    fn add(&mut self, name: &str, value: impl ToString) {
        self.figures.push((name.to_owned(), value.to_string()));
    }
}

/// Small socket buffers, as the server uses. tungstenite's default 128 KiB read
/// buffer is zeroed on every read: a profile of the relay scenario showed the
/// generator spending 44% of its core in `memset`, which then showed up as latency.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096)
}

/// Opens a WebSocket from `source` (any port) and reads the welcome.
async fn connect(server: SocketAddr, source: IpAddr) -> Result<Socket, String> {
    connect_counting(server, source, &mut 0).await
}

/// [`connect`], adding to `frames` every frame the server sent, the welcome included.
async fn connect_counting(
    server: SocketAddr,
    source: IpAddr,
    frames: &mut usize,
) -> Result<Socket, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    choose_port_at_connect(&socket)?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let tcp = socket
        .connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let (mut ws, _) = client_async_with_config(format!("ws://{server}/ws"), tcp, Some(config()))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    match next_message_counting(&mut ws, frames).await {
        Some(ServerMessage::Welcome {
            challenge: None, ..
        }) => Ok(ws),
        // A server asking for the bot check (`--challenge always`) is answered
        // the way a browser would, by trying numbers.
        Some(ServerMessage::Welcome {
            challenge: Some(challenge),
            ..
        }) => {
            let number = strangers::server::challenge::solve(&challenge)
                .ok_or("the bot check has no answer")?;
            ws.send(Message::text(ClientMessage::Solve { number }.to_frame()))
                .await
                .map_err(|e| format!("send the answer: {e}"))?;
            Ok(ws)
        }
        other => Err(format!("expected a welcome, got {other:?}")),
    }
}

/// Leaves the choice of the local port to `connect` (IP_BIND_ADDRESS_NO_PORT).
///
/// Binding to a source address with port 0 makes the kernel pick a port
/// there and then, by a search through the ports in use that does not know
/// the destination: with thousands of sockets open (and thousands more in
/// TIME-WAIT after the last scenario) each bind took milliseconds of the
/// generator's core. An arrival storm spent 15 s in the kernel that way, and
/// strangers sent their handshakes so late that the server's header timeout
/// closed them ("Handshake not finished"). Chosen at connect, the port only has
/// to be unique for this destination, which the kernel finds at once.
fn choose_port_at_connect(socket: &TcpSocket) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor, and an option whose value is a c_int
    // that outlives the call.
    let failed = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    } != 0;
    if failed {
        return Err(format!(
            "IP_BIND_ADDRESS_NO_PORT: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Connects `count` strangers, a few hundred at a time, from `source`.
async fn connect_many(
    server: SocketAddr,
    count: usize,
    source: IpAddr,
) -> Result<Vec<Socket>, String> {
    let mut sockets = Vec::with_capacity(count);
    while sockets.len() < count {
        let batch = (count - sockets.len()).min(256);
        let opened =
            futures_util::future::join_all((0..batch).map(|_| connect(server, source))).await;
        for socket in opened {
            sockets.push(socket?);
        }
    }
    Ok(sockets)
}

/// The next protocol message, skipping online counts and pings.
async fn next_message(ws: &mut Socket) -> Option<ServerMessage> {
    next_message_counting(ws, &mut 0).await
}

/// [`next_message`], adding to `frames` every text frame read, skipped or not.
async fn next_message_counting(ws: &mut Socket, frames: &mut usize) -> Option<ServerMessage> {
    loop {
        let frame = ws.next().await?;
        if let Ok(Message::Text(_)) = frame {
            *frames += 1;
        }
        match frame {
            Ok(Message::Text(text)) => match ServerMessage::parse(&text) {
                Ok(ServerMessage::Online { .. }) => continue,
                Ok(message) => return Some(message),
                Err(_) => return None,
            },
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn send(ws: &mut Socket, message: &ClientMessage) -> Result<(), String> {
    ws.send(Message::text(message.to_frame()))
        .await
        .map_err(|e| e.to_string())
}

/// The server's own time from a join to its pairing: subtracting it from what
/// the strangers saw separates the server's work from the sockets' and the
/// generator's.
const MATCH_HISTOGRAM: &str = "strangers_time_to_match_seconds";
/// The server's own time from a chat message arriving to its being written.
const RELAY_HISTOGRAM: &str = "strangers_relay_time_seconds";

/// The server's `/metrics` page, as text.
async fn scrape(server: SocketAddr) -> Result<String, String> {
    let mut tcp = TcpStream::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: loadgen\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    tcp.read_to_string(&mut text)
        .await
        .map_err(|e| e.to_string())?;
    Ok(text)
}

/// One sample of the server's own numbers, from `/metrics`.
async fn server_sample(server: SocketAddr, name: &str) -> Result<f64, String> {
    let text = scrape(server).await?;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .ok_or_else(|| format!("no {name} in /metrics"))
}

/// The cumulative buckets of one of the server's histograms: (upper bound in
/// seconds, observations at or below it).
#[derive(Clone, Debug, Default)]
struct Buckets(Vec<(f64, f64)>);

impl Buckets {
    async fn scrape(server: SocketAddr, histogram: &str) -> Result<Buckets, String> {
        let text = scrape(server).await?;
        let prefix = format!("{histogram}_bucket{{le=\"");
        let buckets: Vec<(f64, f64)> = text
            .lines()
            .filter_map(|line| {
                let (bound, count) = line.strip_prefix(&prefix)?.split_once("\"} ")?;
                Some((bound.parse().ok()?, count.parse().ok()?))
            })
            .collect();
        if buckets.is_empty() {
            return Err(format!("no {histogram} in /metrics"));
        }
        Ok(Buckets(buckets))
    }

    /// What was observed between `earlier` and `self`.
    fn since(&self, earlier: &Buckets) -> Buckets {
        let before = |bound: f64| {
            earlier
                .0
                .iter()
                .find(|(b, _)| *b == bound)
                .map_or(0.0, |(_, c)| *c)
        };
        Buckets(self.0.iter().map(|&(b, c)| (b, c - before(b))).collect())
    }

    /// The bucket bound at or below which a fraction `p` of observations fall:
    /// the server's own view, to a factor of two.
    fn quantile(&self, p: f64) -> String {
        let total = self.0.last().map_or(0.0, |(_, c)| *c);
        if total == 0.0 {
            return "-".into();
        }
        match self.0.iter().find(|(_, c)| *c >= total * p) {
            Some((bound, _)) if bound.is_finite() => format!("≤ {:.3} ms", bound * 1000.0),
            _ => "above the largest bucket".into(),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    format!("{:.3} ms", sorted[index].as_secs_f64() * 1000.0)
}

/// The sum of one of the servers' own numbers over `servers`.
async fn servers_sample(servers: &[SocketAddr], name: &str) -> Result<f64, String> {
    let mut total = 0.0;
    for &server in servers {
        total += server_sample(server, name).await?;
    }
    Ok(total)
}

async fn capacity(
    servers: &[SocketAddr],
    strangers: usize,
    per_process: usize,
) -> Result<Report, String> {
    let memory_before = servers_sample(servers, "strangers_process_resident_memory_bytes").await?;
    let started = Instant::now();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut workers = Vec::new();
    let mut left = strangers;
    let mut n = 0;
    while left > 0 {
        let count = left.min(per_process);
        left -= count;
        let server = servers[n % servers.len()];
        n += 1;
        // Each worker its own source address: ~28,000 ports each.
        let source = format!("127.0.0.{}", n + 1);
        let mut child = tokio::process::Command::new(&exe)
            .args([
                "--server",
                &server.to_string(),
                "hold",
                "--count",
                &count.to_string(),
            ])
            .args(["--source", &source])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        workers.push((child, BufReader::new(stdout).lines()));
    }
    for (_, lines) in &mut workers {
        match lines.next_line().await {
            Ok(Some(line)) if line == "ready" => {}
            other => return Err(format!("a worker failed: {other:?}")),
        }
    }
    let ramp = started.elapsed();
    // Let the server settle (online-count pushes, allocator) before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Each instance's own count (with Redis, the online gauge is this instance's).
    let online = servers_sample(servers, "strangers_online").await?;
    let memory_after = servers_sample(servers, "strangers_process_resident_memory_bytes").await?;
    for (mut child, _) in workers {
        drop(child.stdin.take());
        let _ = child.wait().await;
    }
    let mut report = Report::new("capacity");
    report.add("strangers connected (server's count)", online);
    report.add("server processes", servers.len());
    report.add("generator processes", n);
    report.add("ramp time", format!("{:.1} s", ramp.as_secs_f64()));
    report.add(
        "server memory before",
        format!("{:.1} MiB", memory_before / 1048576.0),
    );
    report.add(
        "server memory after",
        format!("{:.1} MiB", memory_after / 1048576.0),
    );
    report.add(
        "server memory per stranger",
        format!(
            "{:.2} KiB",
            (memory_after - memory_before) / online.max(1.0) / 1024.0
        ),
    );
    Ok(report)
}

/// The `capacity` worker: connects, says "ready", holds until stdin closes.
async fn hold(server: SocketAddr, count: usize, source: IpAddr) -> Result<(), String> {
    // Each socket is read (pings answered) from the moment it is open: a long
    // ramp would otherwise see the first strangers dropped as unresponsive.
    let mut readers = tokio::task::JoinSet::new();
    let mut opened = 0;
    while opened < count {
        let batch = (count - opened).min(256);
        let sockets =
            futures_util::future::join_all((0..batch).map(|_| connect(server, source))).await;
        for socket in sockets {
            let mut ws = socket?;
            readers.spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
        }
        opened += batch;
    }
    println!("ready");
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 1];
    tokio::select! {
        _ = readers.join_all() => {}
        _ = stdin.read(&mut buf) => {}
    }
    Ok(())
}

/// How long a stranger of a storm may take to be paired, or to hear from
/// its partner, before it counts as failed.
const STORM_TIMEOUT: Duration = Duration::from_secs(30);

/// One stranger of a storm, paired: its socket, how long it waited, and how
/// many frames it read on the way (the pairing included).
struct Arrival {
    ws: Socket,
    waited: Duration,
    frames: usize,
}

/// Asks for a stranger on `ws` and waits to be paired; `since` is when the
/// wait began.
async fn join_and_wait(
    mut ws: Socket,
    since: Instant,
    mut frames: usize,
) -> Result<Arrival, String> {
    send(&mut ws, &ClientMessage::join_anyone()).await?;
    loop {
        match next_message_counting(&mut ws, &mut frames).await {
            Some(ServerMessage::Paired { .. }) => {
                return Ok(Arrival {
                    ws,
                    waited: since.elapsed(),
                    frames,
                });
            }
            Some(ServerMessage::Waiting) => continue,
            other => return Err(format!("expected a pairing, got {other:?}")),
        }
    }
}

/// N strangers already connected ask for a stranger at the same moment.
async fn join_storm(server: SocketAddr, strangers: usize) -> Result<Report, String> {
    let sockets = connect_many(server, strangers, "127.0.0.1".parse().unwrap()).await?;
    let mut sockets = sockets.into_iter();
    let mut report = storm(server, strangers, move || {
        let ws = sockets.next();
        async move {
            let ws = ws.ok_or("fewer sockets than strangers")?;
            join_and_wait(ws, Instant::now(), 0).await
        }
    })
    .await?;
    report.scenario = "join storm";
    Ok(report)
}

/// N strangers connect, are welcomed and ask for a stranger, all at once: the
/// handshakes, welcomes and online counts of the crowd are in the measured time.
async fn arrival_storm(server: SocketAddr, strangers: usize) -> Result<Report, String> {
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let mut report = storm(server, strangers, move || async move {
        let since = Instant::now();
        let mut frames = 0;
        let ws = connect_counting(server, loopback, &mut frames).await?;
        join_and_wait(ws, since, frames).await
    })
    .await?;
    report.scenario = "arrival storm";
    Ok(report)
}

/// Runs a storm: one task per stranger, released together, each getting itself
/// paired by the future `arrive` makes. Once all are paired, each tells its
/// partner its number and the pairs are checked (mutual, nobody with
/// themselves); the check waits until everyone is paired, so its traffic does
/// not load the storm being measured.
async fn storm<Fut>(
    server: SocketAddr,
    strangers: usize,
    mut arrive: impl FnMut() -> Fut,
) -> Result<Report, String>
where
    Fut: Future<Output = Result<Arrival, String>> + Send + 'static,
{
    let matched_before = Buckets::scrape(server, MATCH_HISTOGRAM).await?;
    let cpu_before = server_sample(server, "strangers_process_cpu_seconds").await?;
    let go = Arc::new(tokio::sync::Barrier::new(strangers + 1));
    let all_paired = Arc::new(tokio::sync::Barrier::new(strangers + 1));
    let measured = Arc::new(tokio::sync::Barrier::new(strangers + 1));
    let tasks: Vec<_> = (0..strangers)
        .map(|me| {
            let (go, all_paired, measured) = (go.clone(), all_paired.clone(), measured.clone());
            let arrival = arrive();
            tokio::spawn(async move {
                go.wait().await;
                let paired = tokio::time::timeout(STORM_TIMEOUT, arrival)
                    .await
                    .unwrap_or_else(|_| Err("not paired in time".into()));
                // Everyone reaches the barriers, failed or not, so nobody waits forever.
                all_paired.wait().await;
                measured.wait().await;
                let Arrival {
                    mut ws,
                    waited,
                    frames,
                } = paired?;
                let name = ClientMessage::Message {
                    text: me.to_string(),
                };
                send(&mut ws, &name).await?;
                match tokio::time::timeout(STORM_TIMEOUT, next_message(&mut ws))
                    .await
                    .map_err(|_| "no word from the partner in time")?
                {
                    Some(ServerMessage::Message { text }) => {
                        let partner = text.parse::<usize>().map_err(|e| e.to_string())?;
                        Ok((waited, frames, partner))
                    }
                    other => Err(format!("expected the partner's name, got {other:?}")),
                }
            })
        })
        .collect();
    go.wait().await;
    let start = Instant::now();
    all_paired.wait().await;
    let total = start.elapsed();
    let cpu = server_sample(server, "strangers_process_cpu_seconds").await? - cpu_before;
    let inside = Buckets::scrape(server, MATCH_HISTOGRAM)
        .await?
        .since(&matched_before);
    measured.wait().await;
    let mut waits = Vec::new();
    let mut frames = 0;
    let mut partner = vec![usize::MAX; strangers];
    let mut failures = std::collections::BTreeMap::<String, usize>::new();
    for (me, task) in tasks.into_iter().enumerate() {
        match task.await.map_err(|e| e.to_string()).and_then(|done| done) {
            Ok((waited, read, other)) => {
                waits.push(waited);
                frames += read;
                partner[me] = other;
            }
            Err(error) => *failures.entry(error).or_default() += 1,
        }
    }
    if !failures.is_empty() {
        return Err(format!("strangers failed: {failures:?}"));
    }
    let valid = (0..strangers)
        .all(|me| partner[me] != me && partner.get(partner[me]).is_some_and(|&p| p == me));
    waits.sort();
    let mut report = Report::new("storm");
    report.add("strangers", strangers);
    report.add("every pair valid (mutual, nobody with themselves)", valid);
    report.add("time to paired p50", percentile(&waits, 0.5));
    report.add("time to paired p99", percentile(&waits, 0.99));
    report.add("time to paired max", percentile(&waits, 1.0));
    report.add("inside the server p99", inside.quantile(0.99));
    report.add(
        "server CPU per stranger",
        format!("{:.1} µs", cpu * 1e6 / strangers as f64),
    );
    report.add(
        "frames read per stranger until paired",
        format!("{:.2}", frames as f64 / strangers as f64),
    );
    report.add(
        "all paired within",
        format!("{:.1} ms", total.as_secs_f64() * 1000.0),
    );
    if !valid {
        return Err("an invalid pairing".into());
    }
    Ok(report)
}

/// `pairs` pairs, each of a stranger on `here` and one on `there` (the same
/// server, or two instances sharing a Redis).
async fn pairs_of(
    here: SocketAddr,
    there: SocketAddr,
    pairs: usize,
) -> Result<Vec<(Socket, Socket)>, String> {
    let loopback = "127.0.0.1".parse().unwrap();
    let mut talkers = connect_many(here, pairs, loopback).await?;
    let mut listeners = connect_many(there, pairs, loopback).await?;
    let mut out = Vec::new();
    while let (Some(mut a), Some(mut b)) = (talkers.pop(), listeners.pop()) {
        send(&mut a, &ClientMessage::join_anyone()).await?;
        wait_for(&mut a, |m| matches!(m, ServerMessage::Waiting)).await?;
        send(&mut b, &ClientMessage::join_anyone()).await?;
        wait_paired(&mut a).await?;
        wait_paired(&mut b).await?;
        out.push((a, b));
    }
    Ok(out)
}

/// Question mode at scale; see [`Scenario::Discussions`].
async fn discussions(server: SocketAddr, questions: usize) -> Result<Report, String> {
    let loopback = "127.0.0.1".parse().unwrap();
    let askers = connect_many(server, questions, loopback).await?;
    let offers = connect_many(server, 2 * questions, loopback).await?;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut ws in offers {
        tasks.spawn(async move {
            send(&mut ws, &ClientMessage::discuss_questions()).await?;
            let question = told_question(&mut ws, false).await?;
            send(
                &mut ws,
                &ClientMessage::Message {
                    text: format!("about {question}"),
                },
            )
            .await?;
            // Held open until the asker has read it.
            Ok::<_, String>((None, ws))
        });
    }
    for (n, mut ws) in askers.into_iter().enumerate() {
        tasks.spawn(async move {
            let question = format!("question {n}?");
            send(&mut ws, &ClientMessage::ask(&question)).await?;
            if told_question(&mut ws, true).await? != question {
                return Err("an asker was seated in another discussion".into());
            }
            let seated = start.elapsed();
            let mut heard = Vec::new();
            while heard.len() < 2 {
                match next_message(&mut ws).await {
                    Some(ServerMessage::Discussed { discusser, text }) => {
                        if text != format!("about {question}") {
                            return Err(format!("{question} read a line of another: {text}"));
                        }
                        heard.push(discusser);
                    }
                    Some(ServerMessage::DiscusserTyping { .. }) => continue,
                    other => return Err(format!("expected a discussion, got {other:?}")),
                }
            }
            heard.sort_unstable();
            if heard != [1, 2] {
                return Err(format!("{question} heard discussers {heard:?}"));
            }
            Ok((Some((seated, start.elapsed() - seated)), ws))
        });
    }
    let mut seated = Vec::new();
    let mut read = Vec::new();
    let mut sockets = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (times, ws) = done.map_err(|e| e.to_string())??;
        if let Some((to_seat, to_read)) = times {
            seated.push(to_seat);
            read.push(to_read);
        }
        sockets.push(ws);
    }
    let elapsed = start.elapsed();
    drop(sockets);
    seated.sort_unstable();
    read.sort_unstable();
    let mut report = Report::new("discussions");
    report.add("questions", questions);
    report.add("discussers", 2 * questions);
    report.add(
        "all seated and read in",
        format!("{:.0} ms", elapsed.as_secs_f64() * 1000.0),
    );
    report.add("asker seated, p50", percentile(&seated, 0.50));
    report.add("asker seated, p99", percentile(&seated, 0.99));
    report.add(
        "both discussers read, p50 (from seated)",
        percentile(&read, 0.50),
    );
    report.add(
        "both discussers read, p99 (from seated)",
        percentile(&read, 0.99),
    );
    Ok(report)
}

/// Waits for a `question` (past `waiting` and `paired`) and returns its text,
/// checking that this side reads along (`reading`) or discusses.
async fn told_question(ws: &mut Socket, reading: bool) -> Result<String, String> {
    loop {
        match next_message(ws).await {
            Some(ServerMessage::Question { text, reading: r }) if r == reading => return Ok(text),
            Some(ServerMessage::Waiting | ServerMessage::Paired { .. }) => continue,
            other => return Err(format!("expected a question, got {other:?}")),
        }
    }
}

/// Waits for `paired`, past a `waiting` (with Redis, a joiner hears it first).
async fn wait_paired(ws: &mut Socket) -> Result<(), String> {
    loop {
        match next_message(ws).await {
            Some(ServerMessage::Paired { .. }) => return Ok(()),
            Some(ServerMessage::Waiting) => continue,
            other => return Err(format!("expected a pairing, got {other:?}")),
        }
    }
}

async fn wait_for(ws: &mut Socket, wanted: impl Fn(&ServerMessage) -> bool) -> Result<(), String> {
    match next_message(ws).await {
        Some(message) if wanted(&message) => Ok(()),
        other => Err(format!("unexpected {other:?}")),
    }
}

/// What a browser adds around a sealed message's text: the nonce, counter,
/// franking key and AES-GCM tag (see `public/e2e/seal.js`).
const SEALING_BYTES: usize = 12 + 4 + 32 + 16;

/// A relay scenario's message carrying `text`: as it is, or sealed the way a
/// browser's is (the same size; the server cannot tell ciphertext from this).
fn relay_message(text: &str, sealed: bool) -> ClientMessage {
    if !sealed {
        return ClientMessage::Message { text: text.into() };
    }
    let mut bytes = text.as_bytes().to_vec();
    bytes.resize(text.len() + SEALING_BYTES, 0);
    ClientMessage::Sealed {
        data: URL_SAFE_NO_PAD.encode(bytes),
        commitment: "C".repeat(strangers::protocol::COMMITMENT_CHARS),
    }
}

/// The text a relayed message carries (see [`relay_message`]).
fn relayed_text(message: ServerMessage) -> Option<String> {
    match message {
        ServerMessage::Message { text } => Some(text),
        ServerMessage::Sealed { data, .. } => {
            let bytes = URL_SAFE_NO_PAD.decode(data).ok()?;
            let text = &bytes[..bytes.len().checked_sub(SEALING_BYTES)?];
            String::from_utf8(text.to_vec()).ok()
        }
        _ => None,
    }
}

async fn relay(
    servers: &[SocketAddr],
    pairs: usize,
    rate: u64,
    length: Duration,
    sealed: bool,
) -> Result<Report, String> {
    let (here, there) = (servers[0], servers[servers.len() - 1]);
    let both: &[SocketAddr] = if here == there {
        &servers[..1]
    } else {
        &[here, there]
    };
    let connected = pairs_of(here, there, pairs).await?;
    let cpu_before = servers_sample(both, "strangers_process_cpu_seconds").await?;
    // The listeners' server writes the relayed messages out.
    let relayed_before = Buckets::scrape(there, RELAY_HISTOGRAM).await?;
    let epoch = Instant::now();
    let per_pair = Duration::from_secs_f64(pairs as f64 / rate as f64);
    let sent = Arc::new(AtomicU64::new(0));
    let tasks = connected.into_iter().enumerate().map(|(n, (a, b))| {
        let sent = sent.clone();
        tokio::spawn(async move {
            // `a` talks, `b` listens.
            let (mut a_send, _) = a.split();
            let (_, mut b_recv) = b.split();
            // Stagger the pairs so their sends spread across each interval.
            tokio::time::sleep(per_pair.mul_f64(n as f64 / pairs as f64)).await;
            let mut ticks = tokio::time::interval(per_pair);
            let deadline = epoch + length;
            let receiver = async {
                let mut latencies = Vec::new();
                while let Some(Ok(frame)) = b_recv.next().await {
                    if let Message::Text(frame) = frame
                        && let Some(text) = ServerMessage::parse(&frame).ok().and_then(relayed_text)
                    {
                        if text == "end" {
                            break;
                        }
                        if let Ok(nanos) = text.parse::<u64>() {
                            let sent_at = epoch + Duration::from_nanos(nanos);
                            latencies.push(sent_at.elapsed());
                        }
                    }
                }
                latencies
            };
            let sender = async {
                while Instant::now() < deadline {
                    ticks.tick().await;
                    let nanos = epoch.elapsed().as_nanos() as u64;
                    let frame = relay_message(&nanos.to_string(), sealed).to_frame();
                    if a_send.send(Message::text(frame)).await.is_err() {
                        break;
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                let end = relay_message("end", sealed).to_frame();
                let _ = a_send.send(Message::text(end)).await;
            };
            let ((), latencies) = tokio::join!(sender, receiver);
            latencies
        })
    });
    let mut latencies = Vec::new();
    for task in futures_util::future::join_all(tasks).await {
        latencies.extend(task.map_err(|e| e.to_string())?);
    }
    let elapsed = epoch.elapsed();
    let cpu_after = servers_sample(both, "strangers_process_cpu_seconds").await?;
    let inside = Buckets::scrape(there, RELAY_HISTOGRAM)
        .await?
        .since(&relayed_before);
    let sent = sent.load(Ordering::Relaxed);
    latencies.sort();
    let mut report = Report::new(if sealed { "relay (sealed)" } else { "relay" });
    report.add("pairs", pairs);
    report.add(
        "server processes (talkers on the first, listeners on the last)",
        both.len(),
    );
    report.add("messages sent", sent);
    report.add("messages delivered", latencies.len());
    report.add(
        "delivered / sent",
        format!(
            "{:.4}%",
            latencies.len() as f64 * 100.0 / sent.max(1) as f64
        ),
    );
    report.add(
        "achieved rate",
        format!("{:.0} msg/s", sent as f64 / length.as_secs_f64()),
    );
    report.add("latency p50", percentile(&latencies, 0.5));
    report.add("latency p99", percentile(&latencies, 0.99));
    report.add("latency p99.9", percentile(&latencies, 0.999));
    report.add("inside the server p99", inside.quantile(0.99));
    report.add("inside the server p99.9", inside.quantile(0.999));
    report.add(
        "server CPU",
        format!(
            "{:.0}% of one core",
            (cpu_after - cpu_before) * 100.0 / elapsed.as_secs_f64()
        ),
    );
    Ok(report)
}

async fn churn(server: SocketAddr, strangers: usize, length: Duration) -> Result<Report, String> {
    let sockets = connect_many(server, strangers, "127.0.0.1".parse().unwrap()).await?;
    let matches_before = server_sample(server, "strangers_matches_total{mode=\"text\"}")
        .await
        .unwrap_or(0.0);
    let cpu_before = server_sample(server, "strangers_process_cpu_seconds").await?;
    let start = Instant::now();
    let deadline = start + length;
    let tasks = sockets.into_iter().map(|mut ws| {
        tokio::spawn(async move {
            let mut waits = Vec::new();
            while Instant::now() < deadline {
                let asked = Instant::now();
                if send(&mut ws, &ClientMessage::join_anyone()).await.is_err() {
                    break;
                }
                // Paired (a skip ends the last chat first), or told the partner left.
                loop {
                    match tokio::time::timeout_at(deadline.into(), next_message(&mut ws)).await {
                        Ok(Some(ServerMessage::Paired { .. })) => {
                            waits.push(asked.elapsed());
                            break;
                        }
                        Ok(Some(_)) => continue,
                        Ok(None) | Err(_) => return waits,
                    }
                }
            }
            waits
        })
    });
    let mut waits = Vec::new();
    for task in futures_util::future::join_all(tasks).await {
        waits.extend(task.map_err(|e| e.to_string())?);
    }
    let elapsed = start.elapsed();
    let matches_after = server_sample(server, "strangers_matches_total{mode=\"text\"}").await?;
    let cpu = server_sample(server, "strangers_process_cpu_seconds").await? - cpu_before;
    waits.sort();
    let mut report = Report::new("churn");
    report.add("strangers", strangers);
    report.add("matches (server's count)", matches_after - matches_before);
    report.add(
        "matches a second",
        format!(
            "{:.0}",
            (matches_after - matches_before) / elapsed.as_secs_f64()
        ),
    );
    report.add("time to paired p50", percentile(&waits, 0.5));
    report.add("time to paired p99", percentile(&waits, 0.99));
    report.add(
        "server CPU per match",
        format!(
            "{:.1} µs",
            cpu * 1e6 / (matches_after - matches_before).max(1.0)
        ),
    );
    report.add(
        "server CPU",
        format!("{:.0}% of one core", cpu * 100.0 / elapsed.as_secs_f64()),
    );
    Ok(report)
}
