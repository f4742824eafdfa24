//! Abuse and hostile clients through real sockets: per-network limits, reports
//! and bans, half-open connections, oversized and malformed input, security
//! headers. Each case also checks that strangers chatting meanwhile lost nothing.
#![cfg(feature = "ssr")]

mod common;

use std::time::Duration;

use common::{Arrival, Client, PATIENCE, TestServer};
use futures_util::SinkExt;
use strangers::protocol::{ClientMessage, ErrorCode, MAX_MESSAGE_CHARS, ServerMessage};
use strangers::server::Settings;
use strangers::server::network::AddressLimits;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// Two strangers chatting the whole time; at the end, every message arrived, in order.
struct Bystanders {
    alice: Client,
    bob: Client,
    sent: usize,
}

impl Bystanders {
    async fn start(server: &TestServer) -> Self {
        let (alice, bob) = server.pair().await;
        Bystanders {
            alice,
            bob,
            sent: 0,
        }
    }

    async fn chat(&mut self, messages: usize) {
        for _ in 0..messages {
            self.alice.say(&format!("line {}", self.sent)).await;
            self.sent += 1;
        }
    }

    /// Every line arrived, in order, and a round trip still takes well under
    /// [`SLOWED_BOUND`].
    async fn lost_nothing(mut self) {
        for n in 0..self.sent {
            self.bob
                .expect(ServerMessage::Message {
                    text: format!("line {n}"),
                })
                .await;
        }
        let started = tokio::time::Instant::now();
        self.bob.say("and back").await;
        self.alice
            .expect(ServerMessage::Message {
                text: "and back".into(),
            })
            .await;
        let took = started.elapsed();
        assert!(took < SLOWED_BOUND, "the bystanders were slowed: {took:?}");
    }
}

/// How slow a bystander's round trip may get while the server deals with a
/// hostile client. Loopback round trips take well under a millisecond; this
/// bound only catches a server that made everyone wait.
const SLOWED_BOUND: Duration = Duration::from_millis(500);

#[tokio::test]
async fn one_network_holds_a_limited_number_of_chats_and_others_are_unaffected() {
    let server = TestServer::behind_a_proxy(AddressLimits {
        max_connections: 3,
        ..AddressLimits::default()
    })
    .await;
    let mut bystanders = Bystanders::start(&server).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(server.client_from("203.0.113.5").await);
    }
    bystanders.chat(5).await;
    match Client::arrive(server.addr, Some("203.0.113.5")).await {
        Arrival::Refused(told, code, reason) => {
            assert!(told.is_empty());
            assert_eq!(code, 1008);
            assert!(
                reason.contains("Too many chats from your network"),
                "{reason}"
            );
        }
        Arrival::Welcomed(_) => panic!("a fourth connection was let in"),
    }
    server.client_from("203.0.113.6").await;
    held.pop();
    let mut let_in = false;
    for _ in 0..50 {
        if let Arrival::Welcomed(_) = Client::arrive(server.addr, Some("203.0.113.5")).await {
            let_in = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        let_in,
        "a place freed by a closed connection is taken again"
    );
    bystanders.chat(5).await;
    bystanders.lost_nothing().await;
}

#[tokio::test]
async fn one_network_opens_a_limited_number_of_chats_a_minute() {
    let server = TestServer::behind_a_proxy(AddressLimits {
        new_per_minute: 5,
        ..AddressLimits::default()
    })
    .await;
    for _ in 0..5 {
        let mut client = server.client_from("203.0.113.7").await;
        client.ws.close(None).await.unwrap();
    }
    match Client::arrive(server.addr, Some("203.0.113.7")).await {
        Arrival::Refused(_, 1008, reason) => assert!(reason.contains("Wait a minute"), "{reason}"),
        _ => panic!("a sixth connection within the minute was let in"),
    }
    server.client_from("203.0.113.8").await;
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_a_proxy_is_trusted() {
    let server = TestServer::start_with(Settings {
        limits: AddressLimits {
            max_connections: 1,
            ..AddressLimits::default()
        },
        ..common::settings()
    })
    .await;
    let _first = server.client_from("203.0.113.1").await;
    match Client::arrive(server.addr, Some("203.0.113.2")).await {
        Arrival::Refused(_, 1008, _) => {}
        _ => panic!("a forged X-Forwarded-For got around the limit"),
    }
}

/// `reporter` (from its own address) is paired with `troll` and reports them.
async fn report(server: &TestServer, reporter_address: &str, troll: &mut Client) -> Client {
    let mut reporter = server.client_from(reporter_address).await;
    troll.send(&ClientMessage::join_anyone()).await;
    troll.expect(ServerMessage::Waiting).await;
    reporter.send(&ClientMessage::join_anyone()).await;
    reporter.expect(common::paired()).await;
    troll.expect(common::paired()).await;
    // A troll says something: an instant report of a silent stranger counts for nothing.
    troll.say("buy followers").await;
    reporter
        .expect(ServerMessage::Message {
            text: "buy followers".into(),
        })
        .await;
    reporter.send(&common::report()).await;
    reporter
}

#[tokio::test]
async fn reports_from_three_networks_ban_the_reported_one_for_an_hour_and_it_is_told_so() {
    let server = TestServer::behind_a_proxy(AddressLimits::default()).await;
    let mut bystanders = Bystanders::start(&server).await;
    let mut troll = server.client_from("198.51.100.66").await;

    for reporter in ["203.0.113.1", "203.0.113.1", "203.0.113.2"] {
        let mut reporter = report(&server, reporter, &mut troll).await;
        troll.expect(ServerMessage::StrangerLeft).await;
        reporter.expect_silence().await;
        bystanders.chat(2).await;
    }
    // Two different networks so far (one reported twice): no ban yet.
    let _third = report(&server, "203.0.113.3", &mut troll).await;
    troll.expect(ServerMessage::StrangerLeft).await;
    let hour = 60 * 60;
    match troll.recv().await {
        ServerMessage::Banned { seconds } => assert!((hour - 5..=hour).contains(&seconds)),
        other => panic!("expected the ban notice, got {other:?}"),
    }
    let (code, reason) = troll.closed().await;
    assert_eq!(code, 1008);
    assert!(reason.contains("Banned"), "{reason}");

    match Client::arrive(server.addr, Some("198.51.100.66")).await {
        Arrival::Refused(told, 1008, _) => {
            assert!(matches!(told[..], [ServerMessage::Banned { seconds }] if seconds > hour - 10));
        }
        _ => panic!("a banned network got back in"),
    }
    server.client_from("198.51.100.67").await;
    bystanders.chat(2).await;
    bystanders.lost_nothing().await;
}

#[tokio::test]
async fn a_report_outside_a_chat_is_refused() {
    let server = TestServer::start().await;
    let mut loner = server.client().await;
    loner.send(&common::report()).await;
    loner
        .expect(ServerMessage::error(ErrorCode::NotInChat))
        .await;
}

#[tokio::test]
async fn a_thousand_half_open_connections_do_not_stop_new_strangers_and_are_dropped() {
    let server = TestServer::start_with(Settings {
        header_timeout: Duration::from_secs(2),
        ..common::settings()
    })
    .await;
    let mut bystanders = Bystanders::start(&server).await;
    let mut half_open = Vec::new();
    for n in 0..1000 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        if n % 2 == 0 {
            // The start of a handshake, never finished.
            tcp.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
                .await
                .unwrap();
        }
        half_open.push(tcp);
    }
    let started = tokio::time::Instant::now();
    let (mut carol, mut dave) = server.pair().await;
    carol.say("we got in").await;
    dave.expect(ServerMessage::Message {
        text: "we got in".into(),
    })
    .await;
    assert!(started.elapsed() < PATIENCE);
    bystanders.chat(10).await;

    // Past the header timeout, the server hangs up on every one of them:
    // each is read until it is closed, all to one deadline.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut closed = 0;
    for tcp in &mut half_open {
        let mut byte = [0u8; 1];
        match tokio::time::timeout_at(deadline, tokio::io::AsyncReadExt::read(tcp, &mut byte)).await
        {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            // A 408 reply before the close also counts as hung up.
            Ok(Ok(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(closed, 1000, "every half-open connection was dropped");
    bystanders.lost_nothing().await;
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let server = TestServer::start().await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read_to_string(&mut tcp, &mut response),
    )
    .await
    .unwrap()
    .unwrap();
    let head = response.split("\r\n\r\n").next().unwrap().to_lowercase();
    for expected in [
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "x-frame-options: deny",
        "permissions-policy: camera=(self), microphone=(self)",
        "content-security-policy: default-src 'self'; script-src 'self' 'nonce-",
        "frame-ancestors 'none'",
    ] {
        assert!(head.contains(expected), "missing {expected:?} in\n{head}");
    }
    // The nonce in the header is the one on the page's inline scripts.
    let nonce = head
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_owned();
    assert!(
        response
            .to_lowercase()
            .contains(&format!("nonce=\"{nonce}\""))
    );

    // Anything else (a script, the WebAssembly, an icon; here the health
    // check, there with or without a built site) carries what browsers read
    // for it, not the page-only headers.
    let head = head_of(&server, "/healthz").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("referrer-policy: no-referrer"), "{head}");
    assert!(!head.contains("permissions-policy"), "{head}");
    assert!(!head.contains("x-frame-options"), "{head}");
}

/// The status line and headers `path` is answered with, lowercased.
async fn head_of(server: &TestServer, path: &str) -> String {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut response),
    )
    .await
    .unwrap()
    .unwrap();
    let response = String::from_utf8_lossy(&response).to_lowercase();
    response.split("\r\n\r\n").next().unwrap().to_owned()
}

#[tokio::test]
async fn bad_input_of_every_kind_is_answered_reaches_nobody_and_bystanders_lose_nothing() {
    let server = TestServer::start().await;
    let mut bystanders = Bystanders::start(&server).await;
    let (mut hostile, mut partner) = server.pair().await;
    let error = ServerMessage::error;
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    let cases: Vec<(&str, String, ServerMessage)> = vec![
        (
            "invalid JSON",
            "{\"type\":".into(),
            error(ErrorCode::BadMessage),
        ),
        ("deep nesting", deep, error(ErrorCode::BadMessage)),
        (
            "an unknown type",
            r#"{"type":"admin"}"#.into(),
            error(ErrorCode::BadMessage),
        ),
        (
            "an unknown field",
            r#"{"type":"message","text":"hi","to":"everyone"}"#.into(),
            error(ErrorCode::BadMessage),
        ),
        (
            "a message too long",
            ClientMessage::Message { text: long }.to_frame(),
            error(ErrorCode::MessageTooLong),
        ),
        (
            "a blank message",
            r#"{"type":"message","text":"  "}"#.into(),
            error(ErrorCode::EmptyMessage),
        ),
        (
            "call setup in a text chat",
            r#"{"type":"signal","signal":{"kind":"offer","sdp":"v=0"}}"#.into(),
            error(ErrorCode::NotInCall),
        ),
    ];
    for (case, frame, answer) in cases {
        hostile.send_raw(&frame).await;
        assert_eq!(hostile.recv().await, answer, "{case}");
        bystanders.chat(1).await;
    }
    hostile
        .ws
        .send(Message::binary(vec![0u8, 159, 146, 150]))
        .await
        .unwrap();
    hostile.expect(error(ErrorCode::BadMessage)).await;
    partner.expect_silence().await;

    // After leaving, nothing reaches the old partner.
    hostile.send(&ClientMessage::Leave {}).await;
    partner.expect(ServerMessage::StrangerLeft).await;
    hostile.say("are you still there?").await;
    hostile.expect(error(ErrorCode::NotInChat)).await;
    hostile.send(&common::report()).await;
    hostile.expect(error(ErrorCode::NotInChat)).await;
    partner.expect_silence().await;

    bystanders.chat(5).await;
    bystanders.lost_nothing().await;
    server.state.lobby.assert_consistent();
}

#[tokio::test]
async fn an_oversized_frame_closes_only_that_connection() {
    let server = TestServer::start().await;
    let mut bystanders = Bystanders::start(&server).await;
    let (mut hostile, mut partner) = server.pair().await;
    let huge = "x".repeat(64 * 1024 + 1);
    let _ = hostile.ws.send(Message::text(huge)).await;
    // The socket layer refuses the frame unread and drops the connection (a
    // reset, as 64 KiB sit unread in its buffer).
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            match futures_util::StreamExt::next(&mut hostile.ws).await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection was not closed");
    partner.expect(ServerMessage::StrangerLeft).await;
    bystanders.chat(5).await;
    bystanders.lost_nothing().await;
}

#[tokio::test]
async fn a_slow_reader_is_disconnected_and_never_slows_anyone_else() {
    // No rate limit here, so one sender can outrun a reader that stopped.
    let unlimited = strangers::server::flood::Rate {
        per_second: 1e9,
        burst: 1e9,
    };
    let server = TestServer::start_with(Settings {
        message_rate: unlimited,
        ..common::settings()
    })
    .await;
    let mut bystanders = Bystanders::start(&server).await;
    // `reader` never reads again, like a stalled tab whose TCP window closed.
    let (mut sender, _reader) = server.pair().await;
    let line = "y".repeat(MAX_MESSAGE_CHARS);
    let mut sent = 0;
    while server.state.lobby.rooms() == 2 && sent < 50_000 {
        sender.say(&line).await;
        sent += 1;
        if sent % 1000 == 0 {
            bystanders.chat(1).await;
        }
    }
    sender.expect(ServerMessage::StrangerLeft).await;
    assert!(sent < 50_000, "the stalled reader was never cut off");
    bystanders.chat(5).await;
    bystanders.lost_nothing().await;
}
