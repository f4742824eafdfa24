//! Interests, typing, the online count and join validation, through real sockets.
#![cfg(feature = "ssr")]

mod common;

use common::{PATIENCE, TestServer};
use strangers::protocol::{ClientMessage, ErrorCode, Mode, ServerMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn join(interests: &[&str], only_shared: bool, browser: Option<&str>) -> ClientMessage {
    ClientMessage::Join {
        interests: interests.iter().map(|i| i.to_string()).collect(),
        only_shared,
        browser: browser.map(str::to_string),
        mode: Mode::Text,
        agreed: true,
        hide_ip: false,
        question: None,
        discuss: false,
        language: None,
    }
}

#[tokio::test]
async fn strangers_sharing_an_interest_are_told_what_they_share() {
    let server = TestServer::start().await;
    let mut chess = server.client().await;
    chess.send(&join(&["chess"], true, None)).await;
    chess.expect(ServerMessage::Waiting).await;
    let mut jazz = server.client().await;
    jazz.send(&join(&["jazz", "film"], true, None)).await;
    jazz.expect(ServerMessage::Waiting).await;

    let mut fan = server.client().await;
    fan.send(&join(&["film", "jazz", "go"], false, None)).await;
    let shared = ServerMessage::Paired {
        common_interests: vec!["film".into(), "jazz".into()],
        call: None,
        common_language: None,
    };
    fan.expect(shared.clone()).await;
    jazz.expect(shared).await;
    chess.expect_silence().await;
}

#[tokio::test]
async fn the_stranger_sees_typing_notices() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = server.pair().await;
    alice.send(&ClientMessage::Typing { typing: true }).await;
    bob.expect(ServerMessage::Typing { typing: true }).await;
    alice.send(&ClientMessage::Typing { typing: false }).await;
    bob.expect(ServerMessage::Typing { typing: false }).await;
    alice.expect_silence().await;
}

#[tokio::test]
async fn typing_outside_a_chat_reaches_nobody_and_is_no_error() {
    let server = TestServer::start().await;
    let mut alice = server.client().await;
    alice.send(&ClientMessage::Typing { typing: true }).await;
    alice.expect_silence().await;
}

#[tokio::test]
async fn malformed_joins_are_refused_and_the_stranger_is_not_queued() {
    let server = TestServer::start().await;
    let mut alice = server.client().await;
    let too_many: Vec<String> = (0..11).map(|n| format!("topic{n}")).collect();
    for bad in [
        join(&["Chess"], false, None),
        join(&["chess", "chess"], false, None),
        join(&[&"x".repeat(33)], false, None),
        join(&[], false, Some("")),
        ClientMessage::Join {
            interests: too_many,
            only_shared: false,
            browser: None,
            mode: Mode::Text,
            agreed: true,
            hide_ip: false,
            question: None,
            discuss: false,
            language: None,
        },
    ] {
        alice.send(&bad).await;
        alice.expect(ServerMessage::error(ErrorCode::BadJoin)).await;
    }
    assert_eq!(server.state.lobby.waiting(), 0);
}

#[tokio::test]
async fn two_tabs_of_one_browser_wait_rather_than_meet() {
    let server = TestServer::start().await;
    let mut tab1 = server.client().await;
    let mut tab2 = server.client().await;
    tab1.send(&join(&[], false, Some("same-browser"))).await;
    tab1.expect(ServerMessage::Waiting).await;
    tab2.send(&join(&[], false, Some("same-browser"))).await;
    tab2.expect(ServerMessage::Waiting).await;
    tab1.expect_silence().await;

    let mut other = server.client().await;
    other.send(&join(&[], false, Some("another-browser"))).await;
    other.expect(common::paired()).await;
    tab1.expect(common::paired()).await;
}

#[tokio::test]
async fn everyone_hears_the_online_count_change() {
    let server = TestServer::start().await;
    let mut alice = server.client().await;
    assert_eq!(alice.recv_online().await, 1, "told on arrival");
    let bob = server.client().await;
    // Pushed within about a second (the default interval).
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while alice.recv_online().await != 2 {
        assert!(tokio::time::Instant::now() < deadline);
    }
    drop(bob);
    while alice.recv_online().await != 1 {
        assert!(tokio::time::Instant::now() < deadline);
    }
}

#[tokio::test]
async fn a_newcomer_hears_the_true_count_even_if_the_total_is_back_to_an_old_value() {
    let server = TestServer::start().await;
    let mut x = server.client().await;
    let y = server.client().await;
    while x.recv_online().await != 2 {}
    // Two leave and two arrive between announcements: the total is 2 again, but
    // the first newcomer was told 1 when it arrived.
    drop((x, y));
    server
        .eventually("both left", |s| s.lobby.online() == 0)
        .await;
    let mut alice = server.client().await;
    assert_eq!(alice.recv_online().await, 1);
    let _bob = server.client().await;
    assert_eq!(alice.recv_online().await, 2);
}

/// Reads server-sent events from `/online` until one says `want`.
async fn feed_until(feed: &mut TcpStream, seen: &mut String, want: u64) {
    let line = format!("data: {want}\n");
    tokio::time::timeout(PATIENCE, async {
        let mut buffer = [0u8; 512];
        while !seen.contains(&line) {
            let read = feed.read(&mut buffer).await.unwrap();
            assert!(read > 0, "the feed ended before saying {want}: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the feed never said {want}: {seen}"));
}

#[tokio::test]
async fn the_landing_page_shows_the_count_without_being_counted() {
    let server = TestServer::start().await;
    let _alice = server.client().await;
    server
        .eventually("alice is online", |s| s.lobby.online() == 1)
        .await;

    // The count streams to a landing page without a chat socket...
    let mut feed = TcpStream::connect(server.addr).await.unwrap();
    feed.write_all(b"GET /online HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let mut seen = String::new();
    feed_until(&mut feed, &mut seen, 1).await;
    assert!(seen.contains("text/event-stream"), "{seen}");

    // ...and the page itself, rendered with the count, opens none either.
    let page = common::http::request(server.addr, "GET", "/", &[], None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("1 stranger online"), "{}", page.body);
    assert!(
        !page.body.contains("/ws"),
        "the landing page names no chat socket"
    );
    assert_eq!(
        server.state.lobby.online(),
        1,
        "looking is not being online"
    );

    // Someone who does open a chat is announced on the feed.
    let _bob = server.client().await;
    feed_until(&mut feed, &mut seen, 2).await;
}

#[tokio::test]
async fn a_question_is_discussed_by_two_strangers_while_the_asker_reads_along() {
    let server = TestServer::start().await;
    let mut asker = server.client().await;
    let mut first = server.client().await;
    let mut second = server.client().await;
    asker
        .send(&ClientMessage::ask("Is a hot dog a sandwich?"))
        .await;
    asker.expect(ServerMessage::Waiting).await;
    first.send(&ClientMessage::discuss_questions()).await;
    first.expect(ServerMessage::Waiting).await;
    second.send(&ClientMessage::discuss_questions()).await;
    let question = |reading| ServerMessage::Question {
        text: "Is a hot dog a sandwich?".into(),
        reading,
    };
    for (client, reading) in [
        (&mut first, false),
        (&mut second, false),
        (&mut asker, true),
    ] {
        client.expect(common::paired()).await;
        client.expect(question(reading)).await;
    }

    first.say("Obviously not.").await;
    second.expect(common::heard("Obviously not.")).await;
    asker
        .expect(ServerMessage::Discussed {
            discusser: 1,
            text: "Obviously not.".into(),
        })
        .await;

    // The asker only reads: what they write is refused and reaches nobody.
    asker.say("I think it is").await;
    asker
        .expect(ServerMessage::error(ErrorCode::ReadOnly))
        .await;
    second.say("It is bread around a filling.").await;
    first
        .expect(common::heard("It is bread around a filling."))
        .await;
    asker
        .expect(ServerMessage::Discussed {
            discusser: 2,
            text: "It is bread around a filling.".into(),
        })
        .await;

    second.send(&ClientMessage::Leave {}).await;
    first.expect(ServerMessage::StrangerLeft).await;
    asker
        .expect(ServerMessage::DiscusserLeft { discusser: 2 })
        .await;
}

#[tokio::test]
async fn a_question_must_be_short_and_in_text_and_nobody_is_searched_for_otherwise() {
    let server = TestServer::start().await;
    let mut alice = server.client().await;
    for frame in [
        r#"{"type":"join","agreed":true,"question":"   "}"#.to_owned(),
        format!(
            r#"{{"type":"join","agreed":true,"question":"{}"}}"#,
            "é".repeat(201)
        ),
        r#"{"type":"join","agreed":true,"question":"Why?","mode":"video"}"#.to_owned(),
        r#"{"type":"join","agreed":true,"discuss":true,"mode":"video"}"#.to_owned(),
        r#"{"type":"join","agreed":true,"discuss":true,"question":"Both?"}"#.to_owned(),
    ] {
        alice.send_raw(&frame).await;
        alice
            .expect(ServerMessage::error(ErrorCode::BadQuestion))
            .await;
    }
    server
        .eventually("nobody waits", |state| state.lobby.waiting() == 0)
        .await;
    // 200 characters is fine.
    alice.send(&ClientMessage::ask(&"é".repeat(200))).await;
    alice.expect(ServerMessage::Waiting).await;
}

#[tokio::test]
async fn strangers_who_chat_in_the_same_language_are_told_so_and_a_bad_language_is_refused() {
    let server = TestServer::start().await;
    let mut alice = server.client().await;
    let mut bob = server.client().await;
    let speaking =
        |language: &str| format!(r#"{{"type":"join","agreed":true,"language":"{language}"}}"#);
    for bad in ["ES", "spanish", "e", "x1"] {
        alice.send_raw(&speaking(bad)).await;
        alice.expect(ServerMessage::error(ErrorCode::BadJoin)).await;
    }
    // The language's place among the interests cannot be typed as one.
    alice.send(&join(&["lang:fr"], false, None)).await;
    alice.expect(ServerMessage::error(ErrorCode::BadJoin)).await;

    alice.send_raw(&speaking("es")).await;
    alice.expect(ServerMessage::Waiting).await;
    bob.send_raw(&speaking("es")).await;
    let told = ServerMessage::Paired {
        common_interests: Vec::new(),
        call: None,
        common_language: Some("es".into()),
    };
    bob.expect(told.clone()).await;
    alice.expect(told).await;
}
