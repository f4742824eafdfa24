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
    alice.send(&ClientMessage::join_anyone()).await;
    alice.expect(ServerMessage::Waiting).await;
    bob.send(&ClientMessage::join_anyone()).await;
    bob.expect(common::paired()).await;
    alice.expect(common::paired()).await;
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
