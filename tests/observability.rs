//! What an operator sees: `/metrics` after real chats, `/healthz` and `/readyz`.
#![cfg(feature = "ssr")]

mod common;

use common::{PATIENCE, TestServer};
use strangers::protocol::{ClientMessage, ErrorCode, ServerMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A plain GET; the status code and the body.
async fn get(server: &TestServer, path: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// The value of the sample named exactly `name` (with its labels).
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in\n{metrics}"))
}

#[tokio::test]
async fn metrics_count_a_chat() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = server.pair().await;
    for text in ["hi", "hello", "bye!"] {
        alice.say(text).await;
        bob.expect(ServerMessage::Message { text: text.into() })
            .await;
    }
    alice.say(&"x".repeat(2001)).await;
    alice
        .expect(ServerMessage::error(ErrorCode::MessageTooLong))
        .await;
    let mut waiter = server.client().await;
    waiter.send(&ClientMessage::join_anyone()).await;
    waiter.expect(ServerMessage::Waiting).await;

    let (status, metrics) = get(&server, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(sample(&metrics, "strangers_online"), 3.0);
    assert_eq!(sample(&metrics, "strangers_waiting{mode=\"text\"}"), 1.0);
    assert_eq!(sample(&metrics, "strangers_rooms"), 1.0);
    assert_eq!(
        sample(&metrics, "strangers_matches_total{mode=\"text\"}"),
        1.0
    );
    assert_eq!(sample(&metrics, "strangers_messages_relayed_total"), 3.0);
    assert_eq!(sample(&metrics, "strangers_relayed_bytes_total"), 11.0);
    assert_eq!(
        sample(&metrics, "strangers_rejections_total{reason=\"size\"}"),
        1.0
    );
    assert_eq!(
        sample(&metrics, "strangers_time_to_match_seconds_count"),
        2.0
    );
    assert_eq!(sample(&metrics, "strangers_relay_time_seconds_count"), 3.0);
    assert!(sample(&metrics, "strangers_process_resident_memory_bytes") > 1e6);
    assert!(sample(&metrics, "strangers_process_cpu_seconds") >= 0.0);

    alice.ws.close(None).await.unwrap();
    bob.expect(ServerMessage::StrangerLeft).await;
    server
        .eventually("the departure is counted", |state| {
            state.lobby.online() == 2
        })
        .await;
    let (_, metrics) = get(&server, "/metrics").await;
    assert_eq!(
        sample(
            &metrics,
            "strangers_disconnects_total{reason=\"client_gone\"}"
        ),
        1.0
    );
    assert!(
        !metrics.contains("127.0.0.1"),
        "no addresses in the metrics"
    );
    assert!(!metrics.contains("hello"), "no message text in the metrics");
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let server = TestServer::start().await;
    assert_eq!(get(&server, "/healthz").await, (200, "ok".into()));
    assert_eq!(get(&server, "/readyz").await, (200, "ready".into()));
}
