//! The attacks of the abuse-resistance review, each performed against a real
//! server: weaponised reports, forged forwarding headers, DNS rebinding, bots,
//! memory pinned through a partner, sockets held by the refused.
#![cfg(feature = "ssr")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Arrival, Client, PATIENCE, TestServer, http};
use strangers::protocol::{CallSignal, ClientMessage, ErrorCode, Mode, ServerMessage};
use strangers::server::Settings;
use strangers::server::challenge::{ChallengeMode, ChallengePolicy};
use strangers::server::network::{AddressLimits, Proxies};
use strangers::server::origin::{OriginPolicy, PublicOrigin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The default limits, without the per-address connection caps (every test
/// client really comes from 127.0.0.1).
fn limits() -> AddressLimits {
    common::settings().limits
}

/// `reporter_address` meets `troll` (who says `line` first, unless it is
/// `None`) and reports them; the troll hears that the stranger left.
async fn meet_and_report(
    server: &TestServer,
    reporter_address: &str,
    troll: &mut Client,
    line: Option<&str>,
) {
    let mut reporter = server.client_from(reporter_address).await;
    troll.send(&ClientMessage::join_anyone()).await;
    troll.expect(ServerMessage::Waiting).await;
    reporter.send(&ClientMessage::join_anyone()).await;
    reporter.expect(common::paired()).await;
    troll.expect(common::paired()).await;
    if let Some(line) = line {
        troll.say(line).await;
        reporter
            .expect(ServerMessage::Message { text: line.into() })
            .await;
    }
    reporter.send(&common::report()).await;
    troll.expect(ServerMessage::StrangerLeft).await;
}

/// The ban notice `troll` receives next, in seconds.
async fn banned_for(troll: &mut Client) -> u64 {
    match troll.recv().await {
        ServerMessage::Banned { seconds } => seconds,
        other => panic!("expected a ban notice, got {other:?}"),
    }
}

/// Whether a new connection from `address` is let in (and not banned).
async fn let_in(server: &TestServer, address: &str) -> bool {
    matches!(
        Client::arrive(server.addr, Some(address)).await,
        Arrival::Welcomed(_)
    )
}

#[tokio::test]
async fn three_reporters_from_one_ipv6_48_do_not_ban_but_three_48s_do() {
    let server = TestServer::behind_a_proxy(limits()).await;
    let troll_address = "2001:db8:dead:1::66";
    let mut troll = server.client_from(troll_address).await;
    // One tunnel-broker /48 holds 65,536 /64s: three of them are one reporter.
    for reporter in ["2001:db8:1:1::1", "2001:db8:1:2::1", "2001:db8:1:ffff::1"] {
        meet_and_report(&server, reporter, &mut troll, Some("spam")).await;
    }
    assert!(
        let_in(&server, troll_address).await,
        "banned by one network"
    );

    // Two more networks make three.
    meet_and_report(&server, "2001:db8:2::1", &mut troll, Some("spam")).await;
    meet_and_report(&server, "2001:db8:3::1", &mut troll, Some("spam")).await;
    assert!(banned_for(&mut troll).await > 0);
    // The ban holds for the troll's whole /48, not only the /64 it used.
    assert!(!let_in(&server, "2001:db8:dead:2::1").await);
    assert!(let_in(&server, "2001:db8:beef::1").await);
}

#[tokio::test]
async fn one_ipv6_household_holds_its_own_share_of_chats() {
    let server = TestServer::behind_a_proxy(AddressLimits {
        max_connections: 2,
        ..limits()
    })
    .await;
    let _held = [
        server.client_from("2001:db8:1:1::1").await,
        server.client_from("2001:db8:1:1::2").await,
    ];
    assert!(
        !let_in(&server, "2001:db8:1:1::3").await,
        "the same /64 is full"
    );
    assert!(
        let_in(&server, "2001:db8:1:2::1").await,
        "a neighbour in the same /48 is another household"
    );
}

#[tokio::test]
async fn an_instant_report_of_a_silent_stranger_bans_nobody_but_is_kept() {
    let server = TestServer::behind_a_proxy(limits()).await;
    let mut victim = server.client_from("198.51.100.7").await;
    for reporter in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"] {
        meet_and_report(&server, reporter, &mut victim, None).await;
    }
    victim.send(&ClientMessage::join_anyone()).await;
    victim.expect(ServerMessage::Waiting).await;
    assert!(let_in(&server, "198.51.100.7").await);
    let reports = server.state.moderation.reports().await.unwrap();
    assert_eq!(reports.len(), 4, "each is filed for the operator");
    assert!(reports.iter().all(|report| !report.counted));
}

#[tokio::test]
async fn a_report_after_the_minimum_chat_time_counts_even_if_the_stranger_was_silent() {
    let server = TestServer::behind_a_proxy(AddressLimits {
        reports_to_ban: 1,
        report_min_chat: Duration::from_millis(300),
        ..limits()
    })
    .await;
    let mut troll = server.client_from("198.51.100.8").await;
    let mut reporter = server.client_from("203.0.113.1").await;
    troll.send(&ClientMessage::join_anyone()).await;
    troll.expect(ServerMessage::Waiting).await;
    reporter.send(&ClientMessage::join_anyone()).await;
    reporter.expect(common::paired()).await;
    troll.expect(common::paired()).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    reporter.send(&common::report()).await;
    troll.expect(ServerMessage::StrangerLeft).await;
    assert!(banned_for(&mut troll).await > 0);
}

#[tokio::test]
async fn one_networks_reports_count_at_most_ten_a_day() {
    let server = TestServer::behind_a_proxy(AddressLimits {
        reports_to_ban: 1,
        ..limits()
    })
    .await;
    for n in 0..10 {
        let address = format!("198.51.100.{}", 10 + n);
        let mut target = server.client_from(&address).await;
        meet_and_report(&server, "203.0.113.1", &mut target, Some("hi")).await;
        assert!(banned_for(&mut target).await > 0, "report {n} counted");
    }
    let mut eleventh = server.client_from("198.51.100.99").await;
    meet_and_report(&server, "203.0.113.1", &mut eleventh, Some("hi")).await;
    eleventh.send(&ClientMessage::join_anyone()).await;
    eleventh.expect(ServerMessage::Waiting).await;
    assert!(let_in(&server, "198.51.100.99").await);
}

#[tokio::test]
async fn a_first_ban_is_short_and_the_next_one_longer() {
    let server = TestServer::behind_a_proxy(AddressLimits {
        reports_to_ban: 1,
        ban_duration: Duration::from_secs(1),
        ban_growth: 4,
        ..limits()
    })
    .await;
    let mut troll = server.client_from("198.51.100.66").await;
    meet_and_report(&server, "203.0.113.1", &mut troll, Some("spam")).await;
    assert_eq!(banned_for(&mut troll).await, 1);

    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut troll = loop {
        match Client::arrive(server.addr, Some("198.51.100.66")).await {
            Arrival::Welcomed(client) => break *client,
            Arrival::Refused(..) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the ban never ended"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // A network reported lately must pass the bot check first.
    troll.solve().await;
    meet_and_report(&server, "203.0.113.2", &mut troll, Some("spam again")).await;
    assert_eq!(banned_for(&mut troll).await, 4, "four times longer");
}

#[tokio::test]
async fn forwarded_for_from_a_peer_that_is_not_a_trusted_proxy_is_ignored() {
    let server = TestServer::start_with(Settings {
        limits: AddressLimits {
            max_connections: 1,
            ..limits()
        },
        proxies: Proxies {
            hops: 1,
            trusted: vec!["10.0.0.0/8".parse().unwrap()],
        },
        ..common::settings()
    })
    .await;
    let _first = server.client_from("203.0.113.1").await;
    assert!(
        !let_in(&server, "203.0.113.2").await,
        "127.0.0.1 is not the proxy: its claim is ignored and it is one network"
    );
}

#[tokio::test]
async fn a_trusted_proxy_naming_no_client_address_is_refused_rather_than_lumping_everyone_together()
{
    let server = TestServer::behind_a_proxy(limits()).await;
    for forged in [
        "203.0.113.7:5555",
        "[2001:db8::1]",
        "198.51.100.1, ",
        "unknown",
    ] {
        for path in ["/", "/ws"] {
            let reply = http::request(
                server.addr,
                "GET",
                path,
                &[("X-Forwarded-For", forged)],
                None,
            )
            .await;
            assert_eq!(reply.status, 400, "{forged:?} on {path}");
            assert!(reply.body.contains("X-Forwarded-For"), "{}", reply.body);
        }
    }
    let fine = http::request(
        server.addr,
        "GET",
        "/rules",
        &[("X-Forwarded-For", "junk, 203.0.113.7")],
        None,
    )
    .await;
    assert_eq!(
        fine.status, 200,
        "only the proxy's own entry must be an address"
    );
}

/// A server answering only for http://chat.example.org.
async fn with_public_origin() -> TestServer {
    TestServer::start_with(Settings {
        origins: OriginPolicy::same_origin_only()
            .served_at(PublicOrigin::parse("http://chat.example.org").unwrap()),
        ..common::settings()
    })
    .await
}

/// A WebSocket handshake with `host` and `origin`; the status line's code.
async fn handshake(addr: SocketAddr, host: &str, origin: &str) -> u16 {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(PATIENCE, tcp.read_exact(&mut head))
        .await
        .expect("an answer")
        .unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_rebound_name_reaches_neither_the_pages_nor_the_chat() {
    let server = with_public_origin().await;
    assert_eq!(
        handshake(server.addr, "evil.example", "http://evil.example").await,
        421
    );
    assert_eq!(
        handshake(server.addr, "chat.example.org", "http://evil.example").await,
        403
    );
    assert_eq!(
        handshake(server.addr, "chat.example.org", "http://chat.example.org").await,
        101
    );
    let page = http::request(
        server.addr,
        "GET",
        "/rules",
        &[("Host", "evil.example")],
        None,
    )
    .await;
    assert_eq!(page.status, 421);
    let probe = http::request(server.addr, "GET", "/healthz", &[], None).await;
    assert_eq!(probe.status, 200, "probes on the machine ask by address");
}

/// A server that always asks for the bot check, an easy one.
async fn always_checking() -> TestServer {
    TestServer::start_with(Settings {
        challenge: ChallengePolicy {
            mode: ChallengeMode::Always,
            max_number: 2_000,
        },
        ..common::settings()
    })
    .await
}

#[tokio::test]
async fn a_client_that_does_not_solve_the_bot_check_cannot_join() {
    let server = always_checking().await;
    let mut bot = server.client().await;
    let challenge = bot.challenge.clone().expect("asked in the welcome");
    bot.send(&ClientMessage::join_anyone()).await;
    bot.expect(ServerMessage::error(ErrorCode::ChallengeRequired))
        .await;
    let wrong = (strangers::server::challenge::solve(&challenge).unwrap() + 1) % 2_001;
    bot.send(&ClientMessage::Solve { number: wrong }).await;
    bot.expect(ServerMessage::error(ErrorCode::ChallengeFailed))
        .await;
    bot.send(&ClientMessage::join_anyone()).await;
    bot.expect(ServerMessage::error(ErrorCode::ChallengeRequired))
        .await;
    assert_eq!(server.state.lobby.waiting(), 0);

    let mut person = server.client().await;
    person.solve().await;
    person.send(&ClientMessage::join_anyone()).await;
    person.expect(ServerMessage::Waiting).await;
}

#[tokio::test]
async fn a_network_that_trips_a_limit_must_pass_the_bot_check_for_a_while() {
    let server = TestServer::behind_a_proxy(AddressLimits {
        new_per_minute: 1,
        ..limits()
    })
    .await;
    let first = server.client_from("2001:db8:5:1::1").await;
    assert!(first.challenge.is_none(), "nobody is asked by default");
    assert!(
        !let_in(&server, "2001:db8:5:1::1").await,
        "a second new chat within the minute"
    );
    // Another household of that network gets in, but must prove itself first.
    let mut neighbour = server.client_from("2001:db8:5:2::1").await;
    assert!(neighbour.challenge.is_some());
    neighbour.send(&ClientMessage::join_anyone()).await;
    neighbour
        .expect(ServerMessage::error(ErrorCode::ChallengeRequired))
        .await;
    neighbour.solve().await;
    neighbour.send(&ClientMessage::join_anyone()).await;
    neighbour.expect(ServerMessage::Waiting).await;
    let elsewhere = server.client_from("2001:db8:6::1").await;
    assert!(elsewhere.challenge.is_none());
}

#[tokio::test]
async fn a_flooder_s_network_must_pass_the_bot_check_next_time() {
    let server = TestServer::behind_a_proxy(limits()).await;
    let mut flooder = server.client_from("203.0.113.50").await;
    for _ in 0..60 {
        flooder.send_raw("{\"type\":\"leave\"}").await;
    }
    let (code, _) = flooder.closed().await;
    assert_eq!(code, 1008);
    let back = server.client_from("203.0.113.50").await;
    assert!(back.challenge.is_some());
}

#[tokio::test]
async fn a_stream_of_junk_offers_is_cut_off_after_what_a_call_needs() {
    let server = TestServer::start().await;
    let mut attacker = server.client().await;
    let mut victim = server.client().await;
    let video = ClientMessage::join_mode(Mode::Video);
    attacker.send(&video).await;
    attacker.expect(ServerMessage::Waiting).await;
    victim.send(&video).await;
    let _ = attacker.recv().await;
    let _ = victim.recv().await;
    let junk = || CallSignal::Offer {
        sdp: "x".repeat(16 * 1024),
    };
    for _ in 0..40 {
        attacker
            .send(&ClientMessage::Signal { signal: junk() })
            .await;
    }
    // The victim gets what one call needs (sixteen offers), no more, and the
    // attacker is told of every one refused.
    for _ in 0..16 {
        let message = victim.recv().await;
        assert!(
            matches!(message, ServerMessage::Signal { .. }),
            "{message:?}"
        );
    }
    attacker.expect_refused(ErrorCode::TooManyOffers, 24).await;
    victim.expect_silence().await;
    attacker.expect_silence().await;
    // The chat goes on.
    attacker.say("still here").await;
    victim
        .expect(ServerMessage::Message {
            text: "still here".into(),
        })
        .await;
}

/// Opens a WebSocket by hand and reads until the server has sent its close
/// frame, without ever answering it; returns how long after the close frame
/// the server dropped the connection.
async fn refused_without_replying(addr: SocketAddr, forwarded_for: &str) -> Duration {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nX-Forwarded-For: {forwarded_for}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let mut closed_at = None;
    loop {
        let read = tokio::time::timeout(PATIENCE, tcp.read(&mut buf))
            .await
            .expect("the server hangs up in time");
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        // A close frame from the server: opcode 0x88, unmasked.
        if closed_at.is_none() && seen.windows(1).any(|w| w[0] == 0x88) {
            closed_at = Some(tokio::time::Instant::now());
        }
    }
    assert!(seen.starts_with(b"HTTP/1.1 101"));
    closed_at.expect("a close frame").elapsed()
}

#[tokio::test]
async fn a_refused_network_does_not_get_to_hold_its_socket() {
    let server = TestServer::behind_a_proxy(limits()).await;
    let banned = server
        .state
        .gate
        .network_of("198.51.100.66".parse().unwrap());
    server.state.gate.ban(
        banned,
        Duration::from_secs(600),
        tokio::time::Instant::now(),
    );
    let held = refused_without_replying(server.addr, "198.51.100.66").await;
    assert!(
        held < Duration::from_secs(2),
        "the socket stayed open {held:?} waiting for a close reply"
    );
}

/// Whether the server hung up on `tcp` (a read ends) rather than waiting for a request.
async fn hung_up(tcp: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_millis(500), tcp.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn one_address_holds_a_limited_number_of_plain_connections() {
    let server = TestServer::start_with(Settings {
        limits: AddressLimits {
            max_http_connections: 4,
            ..limits()
        },
        ..common::settings()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(common::connect_from("127.0.0.2", server.addr).await);
    }
    let mut fifth = common::connect_from("127.0.0.2", server.addr).await;
    assert!(
        hung_up(&mut fifth).await,
        "a fifth idle connection is dropped"
    );
    assert!(!hung_up(&mut held[0]).await, "the first four are served");
    // Everyone else is unaffected.
    let (mut alice, mut bob) = server.pair().await;
    alice.say("hello").await;
    bob.expect(ServerMessage::Message {
        text: "hello".into(),
    })
    .await;
    held.clear();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut again = common::connect_from("127.0.0.2", server.addr).await;
        if !hung_up(&mut again).await {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "places never freed");
    }
}

#[tokio::test]
async fn a_reader_that_never_reads_is_dropped_after_the_write_timeout() {
    let server = TestServer::start_with(Settings {
        write_timeout: Duration::from_secs(1),
        ..common::settings()
    })
    .await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    // Hundreds of pipelined requests, far more than the socket buffers hold.
    let request = format!("GET /rules HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    let requests = 2_000;
    tcp.write_all(request.repeat(requests).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut received))
        .await
        .expect("the server hung up")
        .ok();
    let answered = received
        .windows(15)
        .filter(|w| w == b"HTTP/1.1 200 OK")
        .count();
    assert!(
        answered < requests,
        "all {requests} answered: nothing was cut off"
    );
}
