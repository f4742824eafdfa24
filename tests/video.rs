//! Video chats through real sockets: who is paired with whom, and where the
//! call setup steps (signaling) go and do not go.
#![cfg(feature = "ssr")]

mod common;

use common::{Client, TestServer, paired};
use strangers::protocol::{
    CallRole, CallSetup, CallSignal, ClientMessage, ErrorCode, IceServer, MAX_SDP_BYTES, Mode,
    ServerMessage,
};
use strangers::server::Settings;
use strangers::server::ice::IceConfig;

fn paired_as(role: CallRole, ice_servers: &[IceServer]) -> ServerMessage {
    ServerMessage::Paired {
        common_interests: Vec::new(),
        call: Some(CallSetup {
            role,
            ice_servers: ice_servers.to_vec(),
        }),
        common_language: None,
    }
}

fn offer() -> CallSignal {
    CallSignal::Offer {
        sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".into(),
    }
}

fn signal(signal: CallSignal) -> ClientMessage {
    ClientMessage::Signal { signal }
}

/// Two video strangers, paired: the one who waited answers, the other offers.
async fn video_pair(server: &TestServer) -> (Client, Client) {
    let mut answerer = server.client().await;
    answerer.send(&ClientMessage::join_mode(Mode::Video)).await;
    answerer.expect(ServerMessage::Waiting).await;
    let mut offerer = server.client().await;
    offerer.send(&ClientMessage::join_mode(Mode::Video)).await;
    answerer.expect(paired_as(CallRole::Answer, &[])).await;
    offerer.expect(paired_as(CallRole::Offer, &[])).await;
    (offerer, answerer)
}

#[tokio::test]
async fn video_strangers_are_only_paired_with_video_strangers() {
    let server = TestServer::start().await;
    let mut texter = server.client().await;
    texter.send(&ClientMessage::join_anyone()).await;
    texter.expect(ServerMessage::Waiting).await;

    let mut caller = server.client().await;
    caller.send(&ClientMessage::join_mode(Mode::Video)).await;
    caller.expect(ServerMessage::Waiting).await;
    assert_eq!(
        server.state.lobby.waiting(),
        2,
        "nobody paired across modes"
    );

    let mut second_caller = server.client().await;
    second_caller
        .send(&ClientMessage::join_mode(Mode::Video))
        .await;
    caller.expect(paired_as(CallRole::Answer, &[])).await;
    second_caller.expect(paired_as(CallRole::Offer, &[])).await;

    let mut second_texter = server.client().await;
    second_texter.send(&ClientMessage::join_anyone()).await;
    texter.expect(paired()).await;
    second_texter.expect(paired()).await;
    server.state.lobby.assert_consistent();
}

#[tokio::test]
async fn call_setup_reaches_only_the_partner_and_text_goes_on_beside_it() {
    let server = TestServer::start().await;
    let (mut offerer, mut answerer) = video_pair(&server).await;
    let (mut alice, mut bob) = server.pair().await;
    let (mut carol, mut dave) = video_pair(&server).await;

    offerer.send(&signal(offer())).await;
    answerer
        .expect(ServerMessage::Signal { signal: offer() })
        .await;
    let candidate = CallSignal::Candidate {
        candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    };
    let answer = CallSignal::Answer {
        sdp: "v=0\r\n".into(),
    };
    answerer.send(&signal(answer.clone())).await;
    answerer.send(&signal(candidate.clone())).await;
    answerer.say("hi, can you see me?").await;
    offerer
        .expect(ServerMessage::Signal { signal: answer })
        .await;
    offerer
        .expect(ServerMessage::Signal { signal: candidate })
        .await;
    offerer
        .expect(ServerMessage::Message {
            text: "hi, can you see me?".into(),
        })
        .await;

    for bystander in [&mut alice, &mut bob, &mut carol, &mut dave] {
        bystander.expect_silence().await;
    }
    offerer.expect_silence().await;
    answerer.expect_silence().await;
}

#[tokio::test]
async fn call_setup_outside_a_video_chat_is_refused_and_reaches_nobody() {
    let server = TestServer::start().await;
    let refused = ServerMessage::error(ErrorCode::NotInCall);

    let mut idle = server.client().await;
    idle.send(&signal(offer())).await;
    idle.expect(refused.clone()).await;

    let mut waiting = server.client().await;
    waiting.send(&ClientMessage::join_mode(Mode::Video)).await;
    waiting.expect(ServerMessage::Waiting).await;
    waiting.send(&signal(offer())).await;
    waiting.expect(refused.clone()).await;
    waiting.send(&ClientMessage::Leave {}).await;

    let (mut texter, mut partner) = server.pair().await;
    texter.send(&signal(offer())).await;
    texter.expect(refused.clone()).await;
    partner.expect_silence().await;

    // After the video chat ends, the old partner is out of reach.
    let (mut offerer, mut answerer) = video_pair(&server).await;
    answerer.send(&ClientMessage::Leave {}).await;
    offerer.expect(ServerMessage::StrangerLeft).await;
    offerer.send(&signal(offer())).await;
    offerer.expect(refused).await;
    answerer.expect_silence().await;
    waiting.expect_silence().await;
}

#[tokio::test]
async fn malformed_or_oversized_call_setup_is_refused_and_the_chat_goes_on() {
    let server = TestServer::start().await;
    let (mut offerer, mut answerer) = video_pair(&server).await;
    let bad = ServerMessage::error(ErrorCode::BadSignal);

    let huge = CallSignal::Offer {
        sdp: "a".repeat(MAX_SDP_BYTES + 1),
    };
    offerer.send(&signal(huge)).await;
    offerer.expect(bad.clone()).await;
    offerer
        .send(&signal(CallSignal::Answer { sdp: String::new() }))
        .await;
    offerer.expect(bad).await;
    offerer
        .send_raw(r#"{"type":"signal","signal":{"kind":"offer","sdp":"v=0","script":"x"}}"#)
        .await;
    offerer
        .expect(ServerMessage::error(ErrorCode::BadMessage))
        .await;
    answerer.expect_silence().await;

    offerer.send(&signal(offer())).await;
    answerer
        .expect(ServerMessage::Signal { signal: offer() })
        .await;
}

#[tokio::test]
async fn configured_ice_servers_reach_both_callers_and_a_relay_is_announced() {
    let turn = IceServer {
        urls: vec!["turn:turn.example.org:3478".into()],
        username: Some("strangers".into()),
        credential: Some("secret".into()),
    };
    let server = TestServer::start_with(Settings {
        ice: IceConfig {
            servers: vec![turn.clone()],
            ..IceConfig::default()
        },
        ..common::settings()
    })
    .await;
    let mut answerer = server.client().await;
    assert!(answerer.relay, "the welcome says addresses can be hidden");
    answerer.send(&ClientMessage::join_mode(Mode::Video)).await;
    answerer.expect(ServerMessage::Waiting).await;
    let mut offerer = server.client().await;
    offerer.send(&ClientMessage::join_mode(Mode::Video)).await;
    let servers = [turn];
    answerer.expect(paired_as(CallRole::Answer, &servers)).await;
    offerer.expect(paired_as(CallRole::Offer, &servers)).await;

    let plain = TestServer::start().await;
    assert!(!plain.client().await.relay, "no TURN server, no relay");
}

#[tokio::test]
async fn a_stranger_hiding_their_address_never_sends_a_route_but_the_relays() {
    let server = TestServer::start().await;
    let hiding = ClientMessage::Join {
        interests: Vec::new(),
        only_shared: false,
        browser: None,
        mode: Mode::Video,
        agreed: true,
        hide_ip: true,
        question: None,
        discuss: false,
        language: None,
    };
    let mut answerer = server.client().await;
    answerer.send(&ClientMessage::join_mode(Mode::Video)).await;
    answerer.expect(ServerMessage::Waiting).await;
    let mut hider = server.client().await;
    hider.send(&hiding).await;
    answerer.expect(paired_as(CallRole::Answer, &[])).await;
    hider.expect(paired_as(CallRole::Offer, &[])).await;

    let candidate = |line: &str| CallSignal::Candidate {
        candidate: line.into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    };
    // A browser that ignored its own relay-only setting (or a tampered one).
    for leak in [
        candidate("candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host"),
        candidate("candidate:2 1 udp 1686052607 203.0.113.9 54321 typ srflx raddr 0.0.0.0 rport 0"),
        CallSignal::Offer {
            sdp: "v=0\r\nc=IN IP4 203.0.113.9\r\na=candidate:3 1 udp 1 203.0.113.9 5 typ host\r\n"
                .into(),
        },
    ] {
        hider.send(&signal(leak)).await;
    }
    let relayed =
        candidate("candidate:4 1 udp 41885439 198.51.100.3 50000 typ relay raddr 0.0.0.0 rport 0");
    hider.send(&signal(relayed.clone())).await;
    answerer
        .expect(ServerMessage::Signal { signal: relayed })
        .await;
    hider.expect_silence().await;

    // The other way round nothing is filtered: the answerer did not ask to hide.
    let host = candidate("candidate:5 1 udp 2122260223 10.0.0.7 50000 typ host");
    answerer.send(&signal(host.clone())).await;
    hider.expect(ServerMessage::Signal { signal: host }).await;
}

#[tokio::test]
async fn call_setup_has_its_own_bucket_and_its_overflow_reaches_nobody() {
    // Buckets that hold their bursts and do not refill during the test.
    let server = TestServer::start_with(common::settings_without_refills()).await;
    let (mut offerer, mut answerer) = video_pair(&server).await;
    let candidate = |n: u32| CallSignal::Candidate {
        candidate: format!(
            "candidate:{n} 1 udp 2122260223 127.0.0.1 {} typ host",
            50000 + n
        ),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    };
    for n in 0..70 {
        offerer.send(&signal(candidate(n))).await;
    }
    // The burst of 60 reaches the partner, in order; the other 10 are refused.
    for n in 0..60 {
        answerer
            .expect(ServerMessage::Signal {
                signal: candidate(n),
            })
            .await;
    }
    offerer.expect_refused(ErrorCode::SlowDown, 10).await;
    answerer.expect_silence().await;
    // Messages are counted apart: the text chat beside the call goes on.
    offerer.say("can you hear me?").await;
    answerer.expect(common::heard("can you hear me?")).await;
}
