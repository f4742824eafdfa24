//! A real server on 127.0.0.1:0 and WebSocket clients that talk to it.
#![allow(dead_code)] // each test file uses its own part of this kit

pub mod http;
pub mod link;
pub mod process;
pub mod redis;
pub mod sentinel;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use leptos::prelude::LeptosOptions;
use strangers::protocol::{ClientMessage, ErrorCode, ServerMessage};
use strangers::server::{self, AppState};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something the server should send promptly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `check` until it holds, failing the test (naming `what`) if it has
/// not within `within`: how a test waits for something that happens on
/// another clock (an expiry in Redis, a queue filling), instead of a sleep
/// that guesses how long that takes.
pub async fn until<F: std::future::Future<Output = bool>>(
    what: &str,
    within: Duration,
    mut check: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The router the binary serves, on a free loopback port.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state, to look inside the lobby.
    pub state: AppState,
    /// Fire to shut it down.
    stop: Option<oneshot::Sender<()>>,
    /// The serving task.
    task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    /// A server with the default settings, except that every test client comes
    /// from 127.0.0.1: the per-address limits are off unless a test sets them.
    pub async fn start() -> Self {
        Self::start_with(settings()).await
    }

    pub async fn start_with(settings: server::Settings) -> Self {
        let listener = server::bind("127.0.0.1:0".parse().unwrap()).expect("bind a free port");
        let addr = listener.local_addr().unwrap();
        let options = LeptosOptions::builder().output_name("strangers").build();
        let state = AppState::start(options, settings)
            .await
            .expect("Redis is reachable");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            state,
            stop: Some(stop),
            task,
        }
    }

    /// A server behind one trusted proxy on loopback, so each test client
    /// comes from the address its `X-Forwarded-For` names.
    pub async fn behind_a_proxy(limits: server::network::AddressLimits) -> Self {
        Self::start_with(server::Settings {
            limits,
            proxies: server::network::Proxies::behind(1),
            ..settings()
        })
        .await
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// A client arriving from `address`, as the server's reverse proxy says
    /// (`X-Forwarded-For`); it must be let in.
    pub async fn client_from(&self, address: &str) -> Client {
        match Client::arrive(self.addr, Some(address)).await {
            Arrival::Welcomed(client) => *client,
            Arrival::Refused(_, code, reason) => panic!("{address} refused: {code} {reason}"),
        }
    }

    /// Two clients, paired with each other.
    pub async fn pair(&self) -> (Client, Client) {
        let mut a = self.client().await;
        let mut b = self.client().await;
        a.send(&ClientMessage::join_anyone()).await;
        a.expect(ServerMessage::Waiting).await;
        b.send(&ClientMessage::join_anyone()).await;
        a.expect(paired()).await;
        b.expect(paired()).await;
        (a, b)
    }

    /// Shuts the server down and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("server stops in time")
            .expect("server task")
            .expect("server ran cleanly");
    }

    /// The reports filed so far, once there is at least one (a report is filed
    /// a moment after the chat it ends, and with Redis, through it).
    pub async fn filed_reports(&self) -> Vec<server::moderation::FiledReport> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let reports = self
                .state
                .moderation
                .reports()
                .await
                .expect("read the reports");
            if !reports.is_empty() {
                return reports;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no report was filed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until `check` holds of the lobby, which settles a moment after sockets close.
    pub async fn eventually(&self, what: &str, check: impl Fn(&AppState) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !check(&self.state) {
            assert!(tokio::time::Instant::now() < deadline, "never: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The default settings with the per-address connection limits off.
pub fn settings() -> server::Settings {
    let defaults = server::Settings::default();
    server::Settings {
        limits: server::network::AddressLimits {
            max_connections: 0,
            new_per_minute: 0,
            max_http_connections: 0,
            ..defaults.limits.clone()
        },
        ..defaults
    }
}

/// [`settings`] with flood buckets that hold their bursts (messages 20,
/// typing notices 6, call setup 60) but do not refill during a test, so what
/// a flood gets through can be counted exactly.
pub fn settings_without_refills() -> server::Settings {
    let rate = |burst| server::flood::Rate {
        per_second: 0.001,
        burst,
    };
    server::Settings {
        message_rate: rate(20.0),
        typing_rate: rate(6.0),
        signal_rate: rate(60.0),
        ..settings()
    }
}

/// A TCP connection to `addr` from the loopback address `source` (any of
/// 127.0.0.0/8), for a client the server sees at another address.
pub async fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse().unwrap(), 0))
        .unwrap();
    tokio::time::timeout(PATIENCE, socket.connect(addr))
        .await
        .expect("connected within PATIENCE")
        .unwrap()
}

/// A report of harassment, with no evidence.
/// Joins `a` (waits) then `b`: paired with each other, on one instance or
/// across instances (through the shared queue the joiner hears "waiting"
/// first; alone, an instance pairs them at once).
pub async fn pair_up(a: &mut Client, b: &mut Client) {
    a.send(&ClientMessage::join_anyone()).await;
    a.expect(ServerMessage::Waiting).await;
    b.send(&ClientMessage::join_anyone()).await;
    let mut heard = b.recv().await;
    if heard == ServerMessage::Waiting {
        heard = b.recv().await;
    }
    assert_eq!(heard, paired());
    a.expect(paired()).await;
}

/// A chat message to send.
pub fn say(text: &str) -> ClientMessage {
    ClientMessage::Message { text: text.into() }
}

/// A chat message as the partner hears it.
pub fn heard(text: &str) -> ServerMessage {
    ServerMessage::Message { text: text.into() }
}

pub fn report() -> ClientMessage {
    ClientMessage::Report {
        reason: strangers::protocol::ReportReason::Harassment,
        evidence: Vec::new(),
    }
}

/// The pairing notice for strangers matched without shared interests.
pub fn paired() -> ServerMessage {
    ServerMessage::Paired {
        common_interests: Vec::new(),
        call: None,
        common_language: None,
    }
}

/// A stranger's browser, reduced to its WebSocket.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Whether the server's welcome said it has a relay for hidden addresses.
    pub relay: bool,
    /// The bot check the welcome asked for, if any (see [`Client::solve`]).
    pub challenge: Option<strangers::protocol::Challenge>,
}

/// What became of a connection attempt that the server may turn away.
pub enum Arrival {
    /// Let in and welcomed.
    Welcomed(Box<Client>),
    /// Told (maybe) something, then closed: the messages, the close code and reason.
    Refused(Vec<ServerMessage>, u16, String),
}

impl Client {
    /// A stranger on a WebSocket already open, before its welcome is read.
    pub fn over(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Client {
            ws,
            relay: false,
            challenge: None,
        }
    }

    /// Connects and reads the server's welcome, which always comes first.
    pub async fn connect(addr: SocketAddr) -> Self {
        match Self::arrive(addr, None).await {
            Arrival::Welcomed(client) => *client,
            Arrival::Refused(_, code, reason) => panic!("refused: {code} {reason}"),
        }
    }

    /// Connects as if from `forwarded_for` (an `X-Forwarded-For` header, which a
    /// server trusting a proxy reads as the client's address).
    pub async fn arrive(addr: SocketAddr, forwarded_for: Option<&str>) -> Arrival {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
        if let Some(from) = forwarded_for {
            request
                .headers_mut()
                .insert("x-forwarded-for", from.parse().unwrap());
        }
        let (ws, response) =
            tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
                .await
                .expect("the WebSocket handshake within PATIENCE")
                .expect("WebSocket handshake");
        assert_eq!(response.status(), 101);
        let mut client = Client::over(ws);
        let mut told = Vec::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = tokio::time::timeout_at(deadline, client.ws.next())
                .await
                .expect("the server answers");
            match frame {
                Some(Ok(Message::Text(text))) => match ServerMessage::parse(&text) {
                    Ok(ServerMessage::Welcome { relay, challenge }) => {
                        client.relay = relay;
                        client.challenge = challenge;
                        return Arrival::Welcomed(Box::new(client));
                    }
                    message => told.push(message.expect("a protocol message")),
                },
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Arrival::Refused(told, code, reason);
                }
                Some(Ok(_)) => {}
                other => panic!("expected a welcome or a close, got {other:?}"),
            }
        }
    }

    /// Reads until the server closes; the close code and reason. Like a browser,
    /// it answers the close at once (polling on sends the reply).
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("the server closes in time");
            match frame {
                Some(Ok(Message::Close(frame))) => {
                    let _ = tokio::time::timeout(PATIENCE, async {
                        while let Some(Ok(_)) = self.ws.next().await {}
                    })
                    .await;
                    return frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                }
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Solves the welcome's bot check the way a browser does, and answers it.
    pub async fn solve(&mut self) {
        let challenge = self
            .challenge
            .take()
            .expect("the welcome asked for a check");
        let number = strangers::server::challenge::solve(&challenge).expect("solvable");
        self.send(&ClientMessage::Solve { number }).await;
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_raw(&message.to_frame()).await;
    }

    pub async fn send_raw(&mut self, frame: &str) {
        tokio::time::timeout(PATIENCE, self.ws.send(Message::text(frame)))
            .await
            .expect("the frame sent within PATIENCE")
            .expect("send a frame");
    }

    pub async fn say(&mut self, text: &str) {
        self.send(&ClientMessage::Message { text: text.into() })
            .await;
    }

    /// The next message from the server other than the online count, which the
    /// server pushes on its own schedule; panics if none comes in time.
    pub async fn recv(&mut self) -> ServerMessage {
        match self.try_recv(PATIENCE).await {
            Some(message) => message,
            None => panic!("no message from the server within {PATIENCE:?}"),
        }
    }

    /// The next message (not the online count) from the server within `wait`, if any.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<ServerMessage> {
        loop {
            match self.try_recv_any(wait).await? {
                ServerMessage::Online { .. } => continue,
                message => return Some(message),
            }
        }
    }

    /// The next online count the server pushes.
    pub async fn recv_online(&mut self) -> u64 {
        loop {
            match self.try_recv_any(PATIENCE).await {
                Some(ServerMessage::Online { count }) => return count,
                Some(_) => continue,
                None => panic!("no online count within {PATIENCE:?}"),
            }
        }
    }

    /// The next message of any kind within `wait`, if any.
    pub async fn try_recv_any(&mut self, wait: Duration) -> Option<ServerMessage> {
        // One deadline for the whole wait: pings in between do not extend it.
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match frame.expect("a readable frame") {
                Message::Text(text) => {
                    return Some(ServerMessage::parse(&text).expect("a protocol message"));
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    pub async fn expect(&mut self, expected: ServerMessage) {
        assert_eq!(self.recv().await, expected);
    }

    /// Expects `times` refusals with `code` in a row (what was refused
    /// reached nobody: the other side checks that).
    pub async fn expect_refused(&mut self, code: ErrorCode, times: usize) {
        for _ in 0..times {
            self.expect(ServerMessage::error(code)).await;
        }
    }

    /// Asks for anyone again and again, as a person pressing New would (not
    /// faster than the join limit), while the server answers that matching is
    /// paused; fails after three times [`PATIENCE`]. Returns when the last ask
    /// was made, and what came instead within `quiet` (`None`: nothing, so
    /// they are in the queue).
    pub async fn join_until_matching_resumes(
        &mut self,
        quiet: Duration,
    ) -> (tokio::time::Instant, Option<ServerMessage>) {
        let deadline = tokio::time::Instant::now() + 3 * PATIENCE;
        loop {
            let asked = tokio::time::Instant::now();
            self.send(&ClientMessage::join_anyone()).await;
            self.expect(ServerMessage::Waiting).await;
            match self.try_recv(quiet).await {
                Some(ServerMessage::Error {
                    code: ErrorCode::MatchingPaused,
                    ..
                }) => {
                    assert!(asked < deadline, "matching never resumed");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                heard => return (asked, heard),
            }
        }
    }

    /// [`join_until_matching_resumes`](Self::join_until_matching_resumes),
    /// then paired, at once or after waiting in the queue.
    pub async fn join_until_paired(&mut self) {
        let (_, heard) = self
            .join_until_matching_resumes(Duration::from_millis(500))
            .await;
        if heard != Some(paired()) {
            assert_eq!(heard, None, "in the queue");
            self.expect(paired()).await;
        }
    }

    /// Proves the server has sent this client nothing (but online counts)
    /// up to now, without waiting and hoping: sends a frame the server always
    /// answers at once, through the same outbox as everything else (an
    /// unknown type: `bad_message`, or `slow_down` when over the rate), and
    /// requires that answer to be the next message. Whatever the server had
    /// queued for this client comes first and fails the check; so does a
    /// closed connection. What the test did before must have been seen to
    /// happen (its reply, or its effect on another client), so anything it
    /// caused here was queued before the marker.
    pub async fn expect_silence(&mut self) {
        self.send_raw(r#"{"type":"silence_marker"}"#).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to the silence marker within {PATIENCE:?}"))
                .expect("the connection stays open")
                .expect("a readable frame");
            let text = match frame {
                Message::Text(text) => text,
                Message::Close(close) => {
                    panic!("expected silence, but the server closed the connection: {close:?}")
                }
                _ => continue,
            };
            match ServerMessage::parse(&text).expect("a protocol message") {
                ServerMessage::Online { .. } => continue,
                ServerMessage::Error {
                    code: ErrorCode::BadMessage | ErrorCode::SlowDown,
                    ..
                } => return,
                other => panic!("expected no message, got {other:?}"),
            }
        }
    }

    /// Drops the TCP connection with a reset and no close frame, like a lost network.
    pub fn vanish(self) {
        if let MaybeTlsStream::Plain(tcp) = self.ws.get_ref() {
            // A zero linger resets at once; there is nothing to block on.
            #[allow(deprecated)]
            let _ = tcp.set_linger(Some(Duration::ZERO));
        }
        drop(self);
    }
}
