//! No log level ever writes what a person said or asked, what they like, their
//! browser id or where they connect from: the real binary, at every level,
//! through a chat, a bot check, a report and a question discussed, and its
//! whole log searched afterwards.
#![cfg(feature = "ssr")]

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use common::PATIENCE;
use common::process::Process;
use futures_util::{SinkExt, StreamExt};
use strangers::protocol::{Author, ClientMessage, EvidenceLine, Mode, ReportReason, ServerMessage};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{WebSocketStream, client_async};

/// What must never be in the log.
const TEXT: &str = "my-secret-words-4711";
const QUESTION: &str = "my-secret-question-0815";
const DISCUSSED: &str = "my-secret-answer-2342";
const INTEREST: &str = "zebra-finches";
const BROWSER: &str = "browser-id-b5e2c9";
const FORWARDED: &str = "203.0.113.177";
const SOURCE: &str = "127.0.0.77";

/// A WebSocket from the loopback address [`SOURCE`], through a proxy that
/// says the client is at `forwarded`.
async fn connect(addr: SocketAddr, forwarded: &str) -> WebSocketStream<TcpStream> {
    let tcp = common::connect_from(SOURCE, addr).await;
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-forwarded-for", forwarded.parse().unwrap());
    client_async(request, tcp).await.expect("handshake").0
}

async fn send(ws: &mut WebSocketStream<TcpStream>, message: &ClientMessage) {
    ws.send(Message::text(message.to_frame())).await.unwrap();
}

/// Reads until `wanted` holds of a message.
async fn until(ws: &mut WebSocketStream<TcpStream>, wanted: impl Fn(&ServerMessage) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("the server answers")
            .expect("open")
            .expect("readable");
        if let Message::Text(text) = frame {
            let message = ServerMessage::parse(&text).unwrap();
            if let ServerMessage::Welcome {
                challenge: Some(challenge),
                ..
            } = &message
            {
                let number = strangers::server::challenge::solve(challenge).unwrap();
                send(ws, &ClientMessage::Solve { number }).await;
            }
            if wanted(&message) {
                return;
            }
        }
    }
}

/// Two strangers from their own networks share interests, chat, and one reports
/// the other with the chat as evidence.
async fn chat_and_report(addr: SocketAddr) {
    let mut alice = connect(addr, FORWARDED).await;
    let mut bob = connect(addr, "198.51.100.5").await;
    for ws in [&mut alice, &mut bob] {
        until(ws, |m| matches!(m, ServerMessage::Welcome { .. })).await;
    }
    let join = |browser: &str| ClientMessage::Join {
        interests: vec![INTEREST.into()],
        only_shared: true,
        browser: Some(browser.into()),
        mode: Mode::Text,
        agreed: true,
        hide_ip: false,
        question: None,
        discuss: false,
        language: None,
    };
    send(&mut alice, &join(BROWSER)).await;
    until(&mut alice, |m| *m == ServerMessage::Waiting).await;
    send(&mut bob, &join("another-browser")).await;
    for ws in [&mut alice, &mut bob] {
        until(ws, |m| matches!(m, ServerMessage::Paired { .. })).await;
    }
    send(&mut alice, &ClientMessage::Message { text: TEXT.into() }).await;
    until(&mut bob, |m| matches!(m, ServerMessage::Message { .. })).await;
    send(
        &mut bob,
        &ClientMessage::Report {
            reason: ReportReason::Harassment,
            evidence: vec![EvidenceLine {
                from: Author::Stranger,
                text: TEXT.into(),
                franking: None,
            }],
        },
    )
    .await;
    until(&mut alice, |m| *m == ServerMessage::StrangerLeft).await;
    let _ = alice.close(None).await;
    let _ = bob.close(None).await;
}

/// A question asked, discussed by two, and read along.
async fn discuss_a_question(addr: SocketAddr) {
    let mut asker = connect(addr, FORWARDED).await;
    let mut first = connect(addr, "198.51.100.6").await;
    let mut second = connect(addr, "198.51.100.7").await;
    for ws in [&mut asker, &mut first, &mut second] {
        until(ws, |m| matches!(m, ServerMessage::Welcome { .. })).await;
    }
    send(&mut asker, &ClientMessage::ask(QUESTION)).await;
    until(&mut asker, |m| *m == ServerMessage::Waiting).await;
    for ws in [&mut first, &mut second] {
        send(ws, &ClientMessage::discuss_questions()).await;
    }
    for ws in [&mut first, &mut second, &mut asker] {
        until(ws, |m| matches!(m, ServerMessage::Question { .. })).await;
    }
    send(
        &mut first,
        &ClientMessage::Message {
            text: DISCUSSED.into(),
        },
    )
    .await;
    until(&mut asker, |m| matches!(m, ServerMessage::Discussed { .. })).await;
    for mut ws in [asker, first, second] {
        let _ = ws.close(None).await;
    }
}

#[tokio::test]
async fn no_log_level_writes_message_text_interests_browser_ids_or_addresses() {
    for level in ["error", "warn", "info", "debug", "trace"] {
        let log_path =
            std::env::temp_dir().join(format!("strangers-log-{level}-{}.txt", std::process::id()));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut server = Process::start_logging(
            &[
                ("RUST_LOG", level),
                ("STRANGERS_TRUSTED_PROXY_HOPS", "1"),
                ("STRANGERS_TRUSTED_PROXIES", "127.0.0.0/8"),
                ("STRANGERS_CHALLENGE", "always"),
                ("STRANGERS_CHALLENGE_MAX_NUMBER", "1000"),
                ("STRANGERS_ADMIN_TOKEN", "a-long-operator-token-for-tests"),
            ],
            log,
        )
        .await;
        chat_and_report(server.addr).await;
        discuss_a_question(server.addr).await;
        server.terminate();
        let (_, clean) = server.exited(Instant::now()).await;
        assert!(clean, "the server exits cleanly at {level}");
        let written = std::fs::read_to_string(&log_path).unwrap();
        let _ = std::fs::remove_file(&log_path);
        if level == "trace" {
            assert!(
                written.contains("connected"),
                "the server's own debug lines are there: {written}"
            );
        }
        for secret in [
            TEXT, QUESTION, DISCUSSED, INTEREST, BROWSER, FORWARDED, SOURCE,
        ] {
            assert!(
                !written.contains(secret),
                "{secret} is in the log at {level}:\n{}",
                written
                    .lines()
                    .filter(|line| line.contains(secret))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}
