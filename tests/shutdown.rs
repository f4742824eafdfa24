//! The real server binary, stopped with SIGTERM as a service manager stops it.
#![cfg(all(feature = "ssr", unix))]

mod common;

use std::time::{Duration, Instant};

use common::Client;
use common::process::Process;
use strangers::protocol::{ClientMessage, ServerMessage};

#[tokio::test]
async fn sigterm_tells_every_stranger_and_exits_promptly() {
    let mut server = Process::start(&[]).await;
    let mut alice = Client::connect(server.addr).await;
    let mut bob = Client::connect(server.addr).await;
    let mut waiter = Client::connect(server.addr).await;
    common::pair_up(&mut alice, &mut bob).await;
    waiter.send(&ClientMessage::join_anyone()).await;
    waiter.expect(ServerMessage::Waiting).await;

    let sent = Instant::now();
    server.terminate();
    for client in [&mut alice, &mut bob, &mut waiter] {
        let (code, reason) = client.closed().await;
        assert_eq!(code, 1001);
        assert_eq!(reason, "The server is restarting, please reconnect");
    }
    let (took, clean) = server.exited(sent).await;
    assert!(clean, "exit status 0");
    assert!(took < Duration::from_secs(5), "exited in {took:?}");
}

#[tokio::test]
async fn a_client_that_never_answers_does_not_hold_up_the_exit_past_the_timeout() {
    let mut server = Process::start(&[("STRANGERS_SHUTDOWN_TIMEOUT_S", "2")]).await;
    // Connects, then never reads again: its close handshake never completes.
    let _deaf = Client::connect(server.addr).await;
    let sent = Instant::now();
    server.terminate();
    let (took, clean) = server.exited(sent).await;
    assert!(clean);
    assert!(took < Duration::from_secs(4), "exited in {took:?}");
}

#[tokio::test]
async fn with_a_drain_period_readiness_turns_503_first_and_strangers_chat_on_until_it_ends() {
    let mut server = Process::start(&[("STRANGERS_DRAIN_S", "2")]).await;
    let mut alice = Client::connect(server.addr).await;
    let mut bob = Client::connect(server.addr).await;
    common::pair_up(&mut alice, &mut bob).await;
    assert_eq!(common::http::get(server.addr, "/readyz").await.status, 200);

    let sent = Instant::now();
    server.terminate();
    let deadline = Instant::now() + common::PATIENCE;
    while common::http::get(server.addr, "/readyz").await.status != 503 {
        assert!(Instant::now() < deadline, "never reported not ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Still serving: pages, new connections and the chats under way.
    assert_eq!(common::http::get(server.addr, "/rules").await.status, 200);
    let mut late = Client::connect(server.addr).await;
    alice.say("still here?").await;
    bob.expect(ServerMessage::Message {
        text: "still here?".into(),
    })
    .await;
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "the drain was cut short"
    );

    for client in [&mut alice, &mut bob, &mut late] {
        let (code, _) = client.closed().await;
        assert_eq!(code, 1001);
    }
    let (took, clean) = server.exited(sent).await;
    assert!(clean);
    assert!(
        took >= Duration::from_secs(2),
        "exited after {took:?}, before the drain ended"
    );
    assert!(took < Duration::from_secs(5), "exited in {took:?}");
}
