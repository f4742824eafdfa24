//! The chat through real sockets, against the router the binary serves.
#![cfg(feature = "ssr")]

mod common;

use std::collections::HashMap;

use common::{Client, TestServer};
use futures_util::SinkExt;
use strangers::protocol::{ClientMessage, ErrorCode, MAX_MESSAGE_CHARS, ServerMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

fn text(t: &str) -> ServerMessage {
    ServerMessage::Message { text: t.into() }
}

#[tokio::test]
async fn websocket_upgrade() {
    let server = TestServer::start().await;

    // The same router serves the landing page...
    let mut http = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    http.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut page = String::new();
    http.read_to_string(&mut page).await.unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Talk to strangers!"));

    // ...and upgrades /ws to a WebSocket, where each connection is a stranger.
    let mut alice = server.client().await;
    server
        .eventually("alice is online", |s| s.lobby.online() == 1)
        .await;
    alice.send(&ClientMessage::join_anyone()).await;
    alice.expect(ServerMessage::Waiting).await;
}

#[tokio::test]
async fn handle_message() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = server.pair().await;

    alice.say("hi <b>bob</b>").await;
    bob.expect(text("hi <b>bob</b>")).await;
    bob.say("hello\nalice").await;
    alice.expect(text("hello\nalice")).await;

    // Bad input gets an error back, reaches nobody, and the connection stays usable.
    alice.send_raw("this is not json").await;
    alice
        .expect(ServerMessage::error(ErrorCode::BadMessage))
        .await;
    alice.send_raw(r#"{"type":"shout","text":"hi"}"#).await;
    alice
        .expect(ServerMessage::error(ErrorCode::BadMessage))
        .await;
    // A message written as a JSON array is not the protocol, though serde would read it.
    alice.send_raw(r#"["message","hi bob"]"#).await;
    alice
        .expect(ServerMessage::error(ErrorCode::BadMessage))
        .await;
    alice.ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    alice
        .expect(ServerMessage::error(ErrorCode::BadMessage))
        .await;
    alice.say(&"x".repeat(MAX_MESSAGE_CHARS + 1)).await;
    alice
        .expect(ServerMessage::error(ErrorCode::MessageTooLong))
        .await;
    alice.say(" \n ").await;
    alice
        .expect(ServerMessage::error(ErrorCode::EmptyMessage))
        .await;
    bob.expect_silence().await;

    alice.say("still here").await;
    bob.expect(text("still here")).await;
}

#[tokio::test]
async fn handle_disconnection() {
    let server = TestServer::start().await;
    let (alice, mut bob) = server.pair().await;

    let mut alice = alice;
    alice.ws.close(None).await.unwrap();
    bob.expect(ServerMessage::StrangerLeft).await;
    server
        .eventually("alice is gone", |s| s.lobby.online() == 1)
        .await;

    // Bob looks again: he waits rather than being matched with alice's ghost.
    bob.send(&ClientMessage::join_anyone()).await;
    bob.expect(ServerMessage::Waiting).await;
    bob.expect_silence().await;
    server.state.lobby.assert_consistent();
}

#[tokio::test]
async fn leave_chat_session() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = server.pair().await;

    alice.send(&ClientMessage::Leave {}).await;
    bob.expect(ServerMessage::StrangerLeft).await;
    server
        .eventually("the room is removed", |s| s.lobby.rooms() == 0)
        .await;

    // Neither can talk into the finished chat.
    bob.say("hello?").await;
    bob.expect(ServerMessage::error(ErrorCode::NotInChat)).await;
    alice.expect_silence().await;

    // Both are still connected and can start again.
    alice.send(&ClientMessage::join_anyone()).await;
    alice.expect(ServerMessage::Waiting).await;
    bob.send(&ClientMessage::join_anyone()).await;
    bob.expect(common::paired()).await;
    alice.expect(common::paired()).await;
}

#[tokio::test]
async fn a_dropped_tcp_connection_frees_the_partner() {
    let server = TestServer::start().await;
    let (alice, mut bob) = server.pair().await;
    alice.vanish();
    bob.expect(ServerMessage::StrangerLeft).await;
    server
        .eventually("no ghost", |s| s.lobby.online() == 1)
        .await;
    server.state.lobby.assert_consistent();
}

#[tokio::test]
async fn a_refreshed_waiter_leaves_no_ghost() {
    let server = TestServer::start().await;
    let mut ghost = server.client().await;
    ghost.send(&ClientMessage::join_anyone()).await;
    ghost.expect(ServerMessage::Waiting).await;
    ghost.vanish();
    server
        .eventually("the ghost left the queue", |s| s.lobby.waiting() == 0)
        .await;

    let (mut alice, mut bob) = server.pair().await;
    alice.say("are you real?").await;
    bob.expect(text("are you real?")).await;
}

#[tokio::test]
async fn message_order_is_kept() {
    // Flood control would (rightly) refuse 200 messages in a burst; lift it here.
    let unlimited = strangers::server::flood::Rate {
        per_second: 1e6,
        burst: 1e6,
    };
    let server = TestServer::start_with(strangers::server::Settings {
        message_rate: unlimited,
        ..common::settings()
    })
    .await;
    let (mut alice, mut bob) = server.pair().await;
    let count = 200; // below the outbox bound, all sent before bob reads any
    for i in 0..count {
        alice.say(&format!("message {i}")).await;
    }
    for i in 0..count {
        bob.expect(text(&format!("message {i}"))).await;
    }
}

#[tokio::test]
async fn shutdown_tells_everyone_and_closes_with_going_away() {
    let server = TestServer::start().await;
    let (alice, bob) = server.pair().await;
    let stopping = tokio::spawn(server.shutdown());
    for mut stranger in [alice, bob] {
        // A stranger may first hear their partner leave; then the close frame.
        let close = loop {
            let next = futures_util::StreamExt::next(&mut stranger.ws);
            match tokio::time::timeout(common::PATIENCE, next)
                .await
                .expect("server closes in time")
            {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        let close = close.expect("a close code");
        assert_eq!(u16::from(close.code), 1001);
        assert_eq!(
            close.reason.as_str(),
            "The server is restarting, please reconnect"
        );
        // Reading on completes the close handshake.
        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut stranger.ws).await {}
    }
    stopping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_joiners_each_get_one_distinct_partner() {
    let server = TestServer::start().await;
    let strangers = 1001;

    // Everyone connects and joins at once.
    let tasks: Vec<_> = (0..strangers)
        .map(|me| {
            let addr = server.addr;
            tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                client.send(&ClientMessage::join_anyone()).await;
                let first = client.recv().await;
                (me, first, client)
            })
        })
        .collect();
    let mut clients = Vec::new();
    for task in tasks {
        clients.push(task.await.unwrap());
    }
    server
        .eventually("everyone but one is in a room", |s| {
            s.lobby.rooms() == (strangers - 1) / 2
        })
        .await;
    server.state.lobby.assert_consistent();

    // Those who waited first have been told of their pairing by now, bar one.
    let mut paired = Vec::new();
    let mut waiting = Vec::new();
    for (me, first, mut client) in clients {
        let was_paired = match first {
            ServerMessage::Paired { .. } => true,
            ServerMessage::Waiting => {
                let next = client.try_recv(std::time::Duration::from_millis(500)).await;
                next == Some(common::paired())
            }
            other => panic!("unexpected {other:?}"),
        };
        if was_paired {
            paired.push((me, client));
        } else {
            waiting.push((me, client));
        }
    }
    assert_eq!(waiting.len(), 1, "exactly the odd one out waits");
    assert_eq!(
        paired.len(),
        strangers - 1,
        "everyone else is in exactly one room"
    );
    assert_eq!(server.state.lobby.waiting(), 1);

    // Each tells their partner who they are: partners are distinct and mutual.
    for (me, client) in &mut paired {
        client.say(&me.to_string()).await;
    }
    let mut partner_of = HashMap::new();
    for (me, client) in &mut paired {
        let ServerMessage::Message { text } = client.recv().await else {
            panic!("expected the partner's name");
        };
        let partner: usize = text.parse().unwrap();
        assert_ne!(partner, *me, "nobody is paired with themselves");
        partner_of.insert(*me, partner);
    }
    for (me, partner) in &partner_of {
        assert_eq!(partner_of.get(partner), Some(me), "pairs are mutual");
    }
}

#[tokio::test]
async fn a_page_on_another_site_cannot_open_a_chat() {
    use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
    let server = TestServer::start().await;
    let with_origin = |origin: &str| {
        let mut request = format!("ws://{}/ws", server.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        request
    };

    let refused = tokio_tungstenite::connect_async(with_origin("https://evil.example")).await;
    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    assert_eq!(server.state.lobby.online(), 0, "nobody arrived");

    let own = format!("http://{}", server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(with_origin(&own))
        .await
        .expect("the site's own pages may connect");
    ws.close(None).await.unwrap();
}

/// A server whose buckets hold their bursts but do not refill during a test,
/// so every count below is exact.
async fn server_without_refills() -> TestServer {
    TestServer::start_with(common::settings_without_refills()).await
}

#[tokio::test]
async fn a_flooder_is_warned_then_disconnected_and_bystanders_lose_nothing() {
    let server = server_without_refills().await;
    let (mut flooder, mut victim) = server.pair().await;
    let (mut alice, mut bob) = server.pair().await;

    for i in 0..100 {
        // The socket may close under us once the server has had enough.
        if flooder
            .ws
            .send(Message::text(
                ClientMessage::Message {
                    text: format!("spam {i}"),
                }
                .to_frame(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    // Bystanders chat on meanwhile.
    for i in 0..10 {
        alice.say(&format!("hello {i}")).await;
    }
    for i in 0..10 {
        bob.expect(text(&format!("hello {i}"))).await;
    }

    // The burst of 20 less the token the join took went through; then each
    // refusal was a warning until the 20th, which closed the connection (1008),
    // as README's "Limits and safety" says.
    let mut warnings = 0;
    let close = tokio::time::timeout(common::PATIENCE, async {
        loop {
            match futures_util::StreamExt::next(&mut flooder.ws).await {
                Some(Ok(Message::Text(frame))) => match ServerMessage::parse(&frame) {
                    Ok(ServerMessage::Online { .. }) => {}
                    Ok(message) => {
                        assert_eq!(message, ServerMessage::error(ErrorCode::SlowDown));
                        warnings += 1;
                    }
                    Err(error) => panic!("not a protocol message: {error:?}"),
                },
                Some(Ok(Message::Close(frame))) => break frame.expect("a close code"),
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed within PATIENCE");
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(warnings, 19, "19 warnings, and the 20th refusal closes");
    for i in 0..19 {
        victim.expect(text(&format!("spam {i}"))).await;
    }
    victim.expect(ServerMessage::StrangerLeft).await;
    victim.expect_silence().await;
}

#[tokio::test]
async fn typing_notices_have_their_own_bucket_and_its_overflow_reaches_nobody() {
    let server = server_without_refills().await;
    let (mut typist, mut partner) = server.pair().await;
    for n in 0..10 {
        typist
            .send(&ClientMessage::Typing { typing: n % 2 == 0 })
            .await;
    }
    // The burst of 6 is relayed; the other 4 are refused with a warning.
    for n in 0..6 {
        partner
            .expect(ServerMessage::Typing { typing: n % 2 == 0 })
            .await;
    }
    typist.expect_refused(ErrorCode::SlowDown, 4).await;
    partner.expect_silence().await;
    // Messages are counted apart: the typist still chats.
    typist.say("sorry, slow keyboard").await;
    partner.expect(text("sorry, slow keyboard")).await;
}

#[tokio::test]
async fn a_silent_peer_is_dropped_and_a_quiet_waiter_is_not() {
    let server = TestServer::start_with(strangers::server::Settings {
        ping_interval: std::time::Duration::from_millis(100),
        pong_timeout: std::time::Duration::from_millis(200),
        ..common::settings()
    })
    .await;
    // `gone` never reads again, so it never answers a ping: a laptop that lost
    // its network without a word.
    let (gone, mut partner) = server.pair().await;
    let mut waiter = server.client().await;
    waiter.send(&ClientMessage::join_anyone()).await;
    waiter.expect(ServerMessage::Waiting).await;

    // Both of the others keep reading, which answers the pings.
    let (_, quiet) = tokio::join!(
        partner.expect(ServerMessage::StrangerLeft),
        waiter.try_recv(std::time::Duration::from_millis(1500)),
    );
    assert_eq!(quiet, None, "waiting quietly is not idleness");
    // Still connected (a close fails this), with nothing queued.
    waiter.expect_silence().await;
    // (The partner, unread since, may by now have been dropped as silent too.)
    assert_eq!(
        server.state.lobby.waiting(),
        1,
        "the waiter is still in the queue"
    );
    drop(gone);
}

/// The head of an HTTP response read from `tcp` a byte at a time, so that
/// nothing after it (the first WebSocket frames) is taken from the stream.
async fn response_head(tcp: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(common::PATIENCE, tcp.read_u8())
            .await
            .expect("the server answers")
            .expect("a byte of the answer");
        head.push(byte);
    }
    String::from_utf8(head).unwrap().to_lowercase()
}

/// `text` as a browser sends it: one masked text frame.
fn masked_text_frame(text: &str) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81];
    match text.len() {
        len @ 0..126 => frame.push(0x80 | len as u8),
        len => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    frame
}

const CHAT_REQUEST: &str = "GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n\
    Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

#[tokio::test]
async fn the_handshake_answer_proves_the_key_and_carries_the_security_headers() {
    let server = TestServer::start().await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(CHAT_REQUEST.as_bytes()).await.unwrap();
    let head = response_head(&mut tcp).await;
    assert!(head.starts_with("http/1.1 101 "), "{head}");
    // RFC 6455's own example key and answer.
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{head}"
    );
    for expected in ["upgrade: websocket", "x-content-type-options: nosniff"] {
        assert!(head.contains(expected), "{expected} in {head}");
    }
}

#[tokio::test]
async fn a_join_sent_with_the_handshake_is_not_lost() {
    let server = TestServer::start().await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    // A client that does not wait for the answer: the request and its first
    // frame reach the server in one piece.
    let mut eager = CHAT_REQUEST.as_bytes().to_vec();
    eager.extend(masked_text_frame(&ClientMessage::join_anyone().to_frame()));
    tcp.write_all(&eager).await.unwrap();
    assert!(response_head(&mut tcp).await.starts_with("http/1.1 101 "));
    let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await;
    let mut eager = Client::over(ws);
    assert!(matches!(eager.recv().await, ServerMessage::Welcome { .. }));
    eager.expect(ServerMessage::Waiting).await;
    let mut other = server.client().await;
    other.send(&ClientMessage::join_anyone()).await;
    other.expect(common::paired()).await;
    eager.expect(common::paired()).await;
}

#[tokio::test]
async fn a_chat_request_after_another_request_on_the_same_connection_becomes_a_chat() {
    // A reverse proxy may send a chat's request on a connection it kept open
    // after a page's.
    let server = TestServer::start().await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let head = response_head(&mut tcp).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let mut body = [0u8; 2];
    tcp.read_exact(&mut body).await.unwrap();
    assert_eq!(&body, b"ok");

    let request = format!("ws://{}/ws", server.addr);
    let (ws, response) = tokio::time::timeout(
        common::PATIENCE,
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(tcp)),
    )
    .await
    .expect("answered within PATIENCE")
    .expect("the same connection becomes a WebSocket");
    assert_eq!(response.status(), 101);
    assert_eq!(
        response.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
    let mut kept_alive = Client::over(ws);
    assert!(matches!(
        kept_alive.recv().await,
        ServerMessage::Welcome { .. }
    ));
    let mut other = server.client().await;
    common::pair_up(&mut kept_alive, &mut other).await;
    kept_alive.say("one socket, two requests").await;
    other.expect(text("one socket, two requests")).await;
    other.say("and back").await;
    kept_alive.expect(text("and back")).await;
}

#[tokio::test]
async fn a_malformed_chat_request_gets_a_clear_refusal_and_the_server_goes_on() {
    let server = TestServer::start().await;
    for (request, status) in [
        // No key.
        (
            "GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "400",
        ),
        // Another version of the protocol.
        (
            "GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            "400",
        ),
        // Not an upgrade at all.
        ("GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n", "400"),
        // Not even HTTP (the start of a TLS hello).
        (
            "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03\r\n\r\n",
            "400",
        ),
    ] {
        let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let head = response_head(&mut tcp).await;
        assert!(
            head.starts_with(&format!("http/1.1 {status}")),
            "{request:?}: {head}"
        );
    }
    assert_eq!(server.state.lobby.online(), 0, "nobody arrived");
    let (mut alice, mut bob) = server.pair().await;
    alice.say("still here").await;
    bob.expect(text("still here")).await;
}
