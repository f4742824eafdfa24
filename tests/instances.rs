//! Several instances sharing one Redis act as one service: strangers connected
//! to different instances are paired and chat, through real sockets.
#![cfg(all(feature = "ssr", unix))]

mod common;

use std::time::Duration;

use common::process::Process;
use common::redis::Redis;
use common::{Arrival, Client, PATIENCE, TestServer, heard, pair_up, paired, say, until};
use strangers::protocol::{ClientMessage, ErrorCode, Mode, ServerMessage};
use strangers::server::{Settings, cluster};

/// An instance of the server using `redis`.
async fn instance(redis: &Redis) -> TestServer {
    instance_with(redis, common::settings()).await
}

/// An instance of the server using `redis`, otherwise set up with `settings`.
async fn instance_with(redis: &Redis, settings: Settings) -> TestServer {
    redis.wait_until_up().await;
    TestServer::start_with(Settings {
        redis_url: Some(redis.url()),
        online_interval: Duration::from_millis(100),
        ..settings
    })
    .await
}

/// An instance behind one reverse proxy, which says where each client comes from.
async fn instance_behind_a_proxy(redis: &Redis) -> TestServer {
    let settings = Settings {
        proxies: strangers::server::network::Proxies::behind(1),
        ..common::settings()
    };
    instance_with(redis, settings).await
}

#[tokio::test]
async fn strangers_on_two_instances_chat_type_and_leave() {
    let redis = Redis::start();
    let (one, two) = (instance(&redis).await, instance(&redis).await);
    let mut alice = one.client().await;
    let mut bob = two.client().await;
    pair_up(&mut alice, &mut bob).await;

    for n in 0..15 {
        alice.send(&say(&format!("a{n}"))).await;
        bob.send(&say(&format!("b{n}"))).await;
    }
    for n in 0..15 {
        bob.expect(heard(&format!("a{n}"))).await;
        alice.expect(heard(&format!("b{n}"))).await;
    }
    bob.send(&ClientMessage::Typing { typing: true }).await;
    alice.expect(ServerMessage::Typing { typing: true }).await;

    alice.send(&ClientMessage::Leave {}).await;
    bob.expect(ServerMessage::StrangerLeft).await;
    bob.send(&say("anyone?")).await;
    bob.expect(ServerMessage::error(ErrorCode::NotInChat)).await;
    alice.expect_silence().await;
}

#[tokio::test]
async fn a_skip_across_instances_finds_someone_new_and_old_messages_stay_behind() {
    let redis = Redis::start();
    let (one, two) = (instance(&redis).await, instance(&redis).await);
    let mut alice = one.client().await;
    let mut bob = two.client().await;
    pair_up(&mut alice, &mut bob).await;
    let mut carol = one.client().await;
    carol.send(&ClientMessage::join_anyone()).await;
    carol.expect(ServerMessage::Waiting).await;

    // Bob skips: Alice is told, Bob meets Carol (on the first instance).
    bob.send(&ClientMessage::join_anyone()).await;
    alice.expect(ServerMessage::StrangerLeft).await;
    bob.expect(ServerMessage::Waiting).await;
    bob.expect(paired()).await;
    carol.expect(paired()).await;
    bob.send(&say("hi carol")).await;
    carol.expect(heard("hi carol")).await;
    alice.send(&say("bob?")).await;
    alice
        .expect(ServerMessage::error(ErrorCode::NotInChat))
        .await;
    bob.expect_silence().await;
}

#[tokio::test]
async fn each_instance_counts_its_own_waiters_and_chats_for_metrics() {
    let redis = Redis::start();
    let (one, two) = (instance(&redis).await, instance(&redis).await);
    let mut alice = one.client().await;
    alice.send(&ClientMessage::join_anyone()).await;
    alice.expect(ServerMessage::Waiting).await;
    let waiting = one.state.lobby.snapshot().waiting;
    assert_eq!(waiting, vec![(Mode::Text, 1), (Mode::Video, 0)]);

    let mut bob = two.client().await;
    bob.send(&ClientMessage::join_anyone()).await;
    bob.expect(ServerMessage::Waiting).await;
    bob.expect(paired()).await;
    alice.expect(paired()).await;
    for server in [&one, &two] {
        let snapshot = server.state.lobby.snapshot();
        assert_eq!(snapshot.waiting, vec![(Mode::Text, 0), (Mode::Video, 0)]);
        assert_eq!(
            snapshot.rooms, 1,
            "each side of a chat across instances is a room"
        );
    }
}

#[tokio::test]
async fn the_online_count_covers_every_instance() {
    let redis = Redis::start();
    let (one, two) = (instance(&redis).await, instance(&redis).await);
    let mut here = one.client().await;
    let _there = [two.client().await, two.client().await];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while here.recv_online().await != 3 {
        assert!(tokio::time::Instant::now() < deadline, "never counted 3");
    }
}

#[tokio::test]
async fn a_stranger_whose_connection_drops_leaves_their_partner_on_the_other_instance_told() {
    let redis = Redis::start();
    let (one, two) = (instance(&redis).await, instance(&redis).await);
    let mut alice = one.client().await;
    let mut bob = two.client().await;
    pair_up(&mut alice, &mut bob).await;
    alice.vanish();
    bob.expect(ServerMessage::StrangerLeft).await;
}

#[tokio::test]
async fn while_redis_is_gone_strangers_are_told_and_matching_resumes_by_itself() {
    let mut redis = Redis::start();
    let (one, two) = (instance(&redis).await, instance(&redis).await);
    redis.stop();
    let mut alice = one.client().await;
    alice.send(&ClientMessage::join_anyone()).await;
    alice.expect(ServerMessage::Waiting).await;
    alice
        .expect(ServerMessage::error(ErrorCode::MatchingPaused))
        .await;

    redis.restart();
    redis.wait_until_up().await;
    // Both instances reconnect on their own: the same strangers asking again
    // are paired across them and chat.
    let mut bob = two.client().await;
    let mut paired_already = 0;
    for stranger in [&mut alice, &mut bob] {
        match stranger
            .join_until_matching_resumes(Duration::from_millis(500))
            .await
        {
            (_, None) => {} // in the queue
            (_, Some(message)) if message == paired() => paired_already += 1,
            (_, other) => panic!("unexpected {other:?}"),
        }
    }
    if paired_already == 0 {
        bob.expect(paired()).await;
    }
    alice.expect(paired()).await;
    alice.send(&say("back")).await;
    bob.expect(heard("back")).await;

    // The address secret the instances share is back too, so a ban holds on both.
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let ours = one.state.gate.secret().to_hex();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let stored: Option<String> = ::redis::cmd("GET")
            .arg(format!("{}address_secret", cluster::KEY_PREFIX))
            .query_async(&mut connection)
            .await
            .unwrap();
        if stored.as_ref() == Some(&ours) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "secret never back: {stored:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(two.state.gate.secret(), one.state.gate.secret());
}

/// The server binary (to be killed) and an instance in this process, both
/// using `redis`, and Alice (on the first) and Bob (on the second) in a chat.
async fn chat_with_a_doomed_instance(redis: &Redis) -> (Process, TestServer, Client, Client) {
    redis.wait_until_up().await;
    let doomed = Process::start(&[("STRANGERS_REDIS_URL", &redis.url())]).await;
    let survivor = instance(redis).await;
    let mut alice = Client::connect(doomed.addr).await;
    let mut bob = survivor.client().await;
    pair_up(&mut alice, &mut bob).await;
    (doomed, survivor, alice, bob)
}

#[tokio::test]
async fn an_instance_that_dies_mid_chat_has_its_strangers_partners_told_and_its_waiters_dropped() {
    let redis = Redis::start();
    let (mut doomed, survivor, _alice, mut bob) = chat_with_a_doomed_instance(&redis).await;
    let mut carol = Client::connect(doomed.addr).await;
    carol.send(&ClientMessage::join_anyone()).await;
    carol.expect(ServerMessage::Waiting).await;

    // Told "waiting" at once, she is in the shared queue a moment later.
    until("Carol queued in Redis", PATIENCE, || async {
        !redis.keys_and_ttls("strangers:waiter:*").await.is_empty()
    })
    .await;
    let killed = tokio::time::Instant::now();
    doomed.kill();
    bob.expect(ServerMessage::StrangerLeft).await;
    let told_after = killed.elapsed();
    assert!(
        told_after < cluster::ALIVE_FOR + cluster::MISSING_GRACE + cluster::HEARTBEAT * 2,
        "told after {told_after:?}"
    );
    // Carol's place in the queue went with her instance: a newcomer is not
    // paired with a ghost, so he is still waiting when the next one comes,
    // and those two meet.
    let mut dave = survivor.client().await;
    let mut erin = survivor.client().await;
    pair_up(&mut dave, &mut erin).await;
    dave.send(&say("hello Erin")).await;
    erin.expect(heard("hello Erin")).await;
}

#[tokio::test]
async fn a_message_to_a_partner_whose_instance_is_gone_tells_the_sender_at_once() {
    let redis = Redis::start();
    let (mut doomed, _survivor, _alice, mut bob) = chat_with_a_doomed_instance(&redis).await;

    doomed.kill();
    // Once Redis no longer counts the instance alive, and before the survivor
    // would notice by itself (MISSING_GRACE later), Bob says something.
    redis.until_alive(1, PATIENCE).await;
    let said = tokio::time::Instant::now();
    bob.send(&say("are you there?")).await;
    bob.expect(ServerMessage::StrangerLeft).await;
    assert!(
        said.elapsed() < cluster::MISSING_GRACE / 2,
        "told after {:?}: the message did not vanish unnoticed",
        said.elapsed()
    );
}

#[tokio::test]
async fn a_network_reported_from_three_networks_on_any_instance_is_banned_on_every_instance() {
    let redis = Redis::start();
    let one = instance_behind_a_proxy(&redis).await;
    let two = instance_behind_a_proxy(&redis).await;
    let mut troll = two.client_from("198.51.100.66").await;
    let mut troll_tab = one.client_from("198.51.100.66").await;

    // Reporters on either instance, the first network twice: it counts once.
    let reporters = [
        (&one, "203.0.113.1"),
        (&two, "203.0.113.1"),
        (&one, "203.0.113.2"),
        (&one, "203.0.113.3"),
    ];
    for (n, (server, address)) in reporters.into_iter().enumerate() {
        let mut reporter = server.client_from(address).await;
        pair_up(&mut troll, &mut reporter).await;
        troll.say("spam").await;
        reporter
            .expect(ServerMessage::Message {
                text: "spam".into(),
            })
            .await;
        reporter.send(&common::report()).await;
        troll.expect(ServerMessage::StrangerLeft).await;
        if n < 3 {
            troll.expect_silence().await;
        }
    }
    let hour = 60 * 60;
    for troll in [&mut troll, &mut troll_tab] {
        match troll.recv().await {
            ServerMessage::Banned { seconds } => assert!((hour - 5..=hour).contains(&seconds)),
            other => panic!("expected the ban notice, got {other:?}"),
        }
        let (code, reason) = troll.closed().await;
        assert_eq!((code, reason.contains("Banned")), (1008, true), "{reason}");
    }
    for server in [&one, &two] {
        match Client::arrive(server.addr, Some("198.51.100.66")).await {
            Arrival::Refused(told, 1008, _) => {
                assert!(
                    matches!(told[..], [ServerMessage::Banned { seconds }] if seconds > hour - 10)
                );
            }
            _ => panic!("a banned network got back in"),
        }
    }
    // A third instance started after the ban turns it away too.
    let three = instance_behind_a_proxy(&redis).await;
    three
        .eventually("the ban is known", |state| state.gate.remembered().2 == 1)
        .await;
    assert!(matches!(
        Client::arrive(three.addr, Some("198.51.100.66")).await,
        Arrival::Refused(_, 1008, _)
    ));
    three.client_from("198.51.100.67").await;
}

#[tokio::test]
async fn with_a_shared_queue_a_reported_network_must_pass_the_bot_check_where_it_was_reported() {
    let redis = Redis::start();
    let one = instance_behind_a_proxy(&redis).await;
    let two = instance_behind_a_proxy(&redis).await;
    let mut troll = one.client_from("198.51.100.70").await;
    let mut reporter = two.client_from("203.0.113.9").await;
    pair_up(&mut troll, &mut reporter).await;
    troll.send(&say("spam")).await;
    reporter.expect(heard("spam")).await;
    reporter.send(&common::report()).await;
    troll.expect(ServerMessage::StrangerLeft).await;
    // The reporter's instance marks the reported network; a silent, instant
    // report would not have.
    let back = two.client_from("198.51.100.70").await;
    assert!(back.challenge.is_some());
    let other = two.client_from("198.51.100.71").await;
    assert!(other.challenge.is_none());
}

#[tokio::test]
async fn when_redis_comes_back_empty_chats_across_instances_end_on_both_sides() {
    let mut redis = Redis::start();
    let (one, two) = (instance(&redis).await, instance(&redis).await);
    let mut alice = one.client().await;
    let mut bob = two.client().await;
    pair_up(&mut alice, &mut bob).await;
    // A chat within one instance does not depend on Redis.
    let (mut carol, mut dave) = (one.client().await, one.client().await);
    pair_up(&mut carol, &mut dave).await;

    redis.stop();
    redis.restart();
    redis.wait_until_up().await;
    // Both instances find themselves forgotten: neither chat across them is
    // left open on one side.
    alice.expect(ServerMessage::StrangerLeft).await;
    bob.expect(ServerMessage::StrangerLeft).await;
    carol.say("still together").await;
    dave.expect(heard("still together")).await;
}

#[tokio::test]
async fn a_sealed_line_across_instances_is_stamped_where_it_is_delivered_and_verified_there() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use strangers::protocol::{Author, EvidenceLine, ReportReason};
    use strangers::server::franking;

    let redis = Redis::start();
    let (one, two) = (instance(&redis).await, instance(&redis).await);
    let mut troll = one.client().await;
    let mut reporter = two.client().await;
    pair_up(&mut troll, &mut reporter).await;
    troll
        .send(&ClientMessage::Key {
            key: "BTrollsKey".into(),
        })
        .await;
    reporter
        .expect(ServerMessage::Key {
            key: "BTrollsKey".into(),
        })
        .await;
    let key = [9u8; 32];
    let commitment = franking::commit(&key, "send me a photo");
    troll
        .send(&ClientMessage::Sealed {
            data: "b3BhcXVl".into(),
            commitment: commitment.clone(),
        })
        .await;
    let stamp = match reporter.recv().await {
        ServerMessage::Sealed {
            data,
            commitment: relayed,
            stamp,
        } => {
            assert_eq!(
                (data.as_str(), relayed.as_str()),
                ("b3BhcXVl", commitment.as_str())
            );
            stamp
        }
        other => panic!("expected a sealed message, got {other:?}"),
    };
    let proof = |text: &str| EvidenceLine {
        from: Author::Stranger,
        text: text.into(),
        franking: Some(format!(
            "{}.{commitment}.{stamp}",
            URL_SAFE_NO_PAD.encode(key)
        )),
    };
    reporter
        .send(&ClientMessage::Report {
            reason: ReportReason::Harassment,
            evidence: vec![proof("send me a photo"), proof("send me money")],
        })
        .await;
    troll.expect(ServerMessage::StrangerLeft).await;
    let reports = one.filed_reports().await;
    let verified: Vec<bool> = reports[0].evidence.iter().map(|l| l.verified).collect();
    assert_eq!(verified, [true, false]);
}
