//! The real server binary, stopped with SIGTERM as a service manager stops it.
#![cfg(all(feature = "ssr", unix))]

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, PATIENCE};
use strangers::protocol::{ClientMessage, ServerMessage};

/// The release or debug `strangers` binary on a free port, with `env` set.
struct Process {
    child: Child,
    addr: SocketAddr,
}

impl Process {
    async fn start(env: &[(&str, &str)]) -> Self {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_strangers"))
            .env("LEPTOS_SITE_ADDR", addr.to_string())
            .env("LEPTOS_OUTPUT_NAME", "strangers")
            .env("LEPTOS_ENV", "PROD")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let deadline = Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(Instant::now() < deadline, "the server never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Process { child, addr }
    }

    fn terminate(&self) {
        // The shell's own `kill`: no procps package needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.child.id())])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; how long it took, and whether it exited cleanly.
    async fn exited(&mut self, since: Instant) -> (Duration, bool) {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (since.elapsed(), status.success());
            }
            assert!(since.elapsed() < Duration::from_secs(30), "still running");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
