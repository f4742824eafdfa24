//! Several instances through Redis under faults, each performed for real: a
//! flood of joins with Redis a network hop away, the link to Redis cut for a
//! moment and for long, Redis frozen (SIGSTOP) for a minute under load, an
//! instance crashing or stopping, and Sentinel failing Redis over.
#![cfg(all(feature = "ssr", unix))]

mod common;

use std::time::Duration;

use common::link::FaultyLink;
use common::process::Process;
use common::redis::Redis;
use common::sentinel::Failover;
use common::{Client, PATIENCE, TestServer, heard, pair_up, paired, say};
use strangers::protocol::{ClientMessage, ErrorCode, Mode, ServerMessage};
use strangers::server::{Settings, cluster};
use tokio::time::Instant;

/// The in-process instances' log, at debug level, kept with the test that
/// wrote it: printed only if that test fails, apart from the others'.
fn log_to_the_test() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("strangers=debug")
        .with_test_writer()
        .try_init();
}

/// An instance reaching Redis at `url`.
async fn instance_at(url: String) -> TestServer {
    log_to_the_test();
    TestServer::start_with(Settings {
        redis_url: Some(url),
        online_interval: Duration::from_millis(100),
        ..common::settings()
    })
    .await
}

/// Two instances of `redis`, the first through a [`FaultyLink`] delaying
/// `delay` each way, and Alice (on the first) and Bob (on the second) in a chat.
async fn chat_across_a_link(
    redis: &Redis,
    delay: Duration,
) -> (FaultyLink, TestServer, TestServer, Client, Client) {
    redis.wait_until_up().await;
    let link = FaultyLink::to(redis.socket(), delay).await;
    let linked = instance_at(link.url()).await;
    let direct = instance_at(redis.url()).await;
    let mut alice = linked.client().await;
    let mut bob = direct.client().await;
    pair_up(&mut alice, &mut bob).await;
    (link, linked, direct, alice, bob)
}

/// The server binary using `redis`, with `env` set too.
async fn process_at(redis: &Redis, env: &[(&str, &str)]) -> Process {
    let url = redis.url();
    let mut all = vec![
        ("STRANGERS_REDIS_URL", url.as_str()),
        // Every test client comes from 127.0.0.1.
        ("STRANGERS_MAX_CONNECTIONS_PER_ADDRESS", "0"),
        ("STRANGERS_NEW_CONNECTIONS_PER_MINUTE", "0"),
        ("STRANGERS_MAX_HTTP_CONNECTIONS_PER_ADDRESS", "0"),
    ];
    all.extend_from_slice(env);
    Process::start(&all).await
}

/// The next chat message `client` hears, skipping online counts; any other
/// message (a "stranger left", say) fails the test.
async fn next_heard(client: &mut Client, within: Duration) -> String {
    match client.try_recv(within).await {
        Some(ServerMessage::Message { text }) => text,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_joins_with_redis_a_hop_away_starves_neither_the_heartbeat_nor_a_chat() {
    let redis = Redis::start();
    // A millisecond each way between the busy instance and Redis.
    let (_hop, busy, _calm, mut alice, mut bob) =
        chat_across_a_link(&redis, Duration::from_millis(1)).await;

    // Sixty strangers on the busy instance join and leave at their rate
    // limit (ten frames a second each) for eight seconds.
    const FLOOD: Duration = Duration::from_secs(8);
    let until = Instant::now() + FLOOD;
    let mut flooders = Vec::new();
    for _ in 0..60 {
        let mut flooder = busy.client().await;
        flooders.push(tokio::spawn(async move {
            let mut joins = 0u32;
            while Instant::now() < until {
                flooder.send(&ClientMessage::join_anyone()).await;
                flooder.send(&ClientMessage::Leave {}).await;
                joins += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            joins
        }));
    }
    // Meanwhile Alice and Bob talk across the instances, and Redis is asked
    // all along whether both instances are alive.
    let watcher = {
        let url = redis.url();
        tokio::spawn(async move {
            let client = ::redis::Client::open(url).unwrap();
            let mut connection = client.get_multiplexed_async_connection().await.unwrap();
            let mut least = usize::MAX;
            while Instant::now() < until {
                let keys: Vec<String> = ::redis::cmd("KEYS")
                    .arg(format!("{}alive:*", cluster::KEY_PREFIX))
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                least = least.min(keys.len());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            least
        })
    };
    let mut sent = 0;
    while Instant::now() < until {
        alice.send(&say(&format!("a{sent}"))).await;
        bob.send(&say(&format!("b{sent}"))).await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    for n in 0..sent {
        assert_eq!(next_heard(&mut bob, PATIENCE).await, format!("a{n}"));
        assert_eq!(next_heard(&mut alice, PATIENCE).await, format!("b{n}"));
    }
    let mut joins = 0;
    for flooder in flooders {
        joins += flooder.await.unwrap();
    }
    assert!(joins > 2_000, "the flood happened: {joins} joins");
    assert_eq!(
        watcher.await.unwrap(),
        2,
        "the busy instance never seemed dead"
    );
    // Nobody heard a false "stranger left": the chat goes on.
    alice.send(&say("still here")).await;
    bob.expect(heard("still here")).await;
    alice.expect_silence().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_cut_from_redis_loses_nothing_and_the_chat_goes_on() {
    let redis = Redis::start();
    let (link, _cut_off, _other, mut alice, mut bob) =
        chat_across_a_link(&redis, Duration::ZERO).await;

    // Well within the presence bound.
    link.cut();
    for n in 0..5 {
        alice.send(&say(&format!("during {n}"))).await;
        bob.send(&say(&format!("meanwhile {n}"))).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    link.restore();
    for n in 0..5 {
        assert_eq!(next_heard(&mut bob, PATIENCE).await, format!("during {n}"));
        assert_eq!(
            next_heard(&mut alice, PATIENCE).await,
            format!("meanwhile {n}")
        );
    }
    // Past the presence bound now: nobody was counted gone.
    tokio::time::sleep(cluster::ALIVE_FOR + cluster::MISSING_GRACE).await;
    bob.send(&say("after")).await;
    assert_eq!(next_heard(&mut alice, PATIENCE).await, "after");
    alice.send(&say("yes")).await;
    assert_eq!(next_heard(&mut bob, PATIENCE).await, "yes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_cut_ends_chats_on_both_sides_pairs_nobody_with_a_ghost_and_the_instance_comes_back()
{
    let redis = Redis::start();
    let (link, cut_off, other, mut alice, mut bob) =
        chat_across_a_link(&redis, Duration::ZERO).await;
    let mut carol = cut_off.client().await;
    carol.send(&ClientMessage::join_anyone()).await;
    carol.expect(ServerMessage::Waiting).await;
    redis.until_alive(2, PATIENCE).await;

    let cut_at = Instant::now();
    link.cut();
    // Each side ends the chat on its own, within the presence bound and a
    // couple of heartbeats; Carol stops waiting and is told why.
    let bound = cluster::ALIVE_FOR + cluster::MISSING_GRACE + 3 * cluster::HEARTBEAT;
    alice.expect(ServerMessage::StrangerLeft).await;
    carol
        .expect(ServerMessage::error(ErrorCode::MatchingPaused))
        .await;
    bob.expect(ServerMessage::StrangerLeft).await;
    assert!(cut_at.elapsed() < bound, "told in {:?}", cut_at.elapsed());

    // Carol's place in the shared queue went with her instance: Dave, on the
    // other instance, is not paired with her ghost.
    redis.until_alive(1, PATIENCE).await;
    let mut dave = other.client().await;
    dave.send(&ClientMessage::join_anyone()).await;
    dave.expect(ServerMessage::Waiting).await;

    link.restore();
    // The instance comes back by itself: Carol asks again and meets Dave.
    redis.until_alive(2, PATIENCE).await;
    carol.join_until_paired().await;
    dave.expect(paired()).await;
    carol.send(&say("hello again")).await;
    assert_eq!(next_heard(&mut dave, PATIENCE).await, "hello again");
    // Alice and Bob heard nothing more of their old chat.
    bob.send(&say("alice?")).await;
    bob.expect(ServerMessage::error(ErrorCode::NotInChat)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_frozen_for_a_minute_under_load_keeps_memory_flat_and_everyone_told() {
    let redis = Redis::start();
    redis.wait_until_up().await;
    let mut one = process_at(&redis, &[]).await;
    let two = instance_at(redis.url()).await;

    // Under load: forty chats across the instances and forty on the measured
    // one alone, everybody talking twice a second throughout.
    let mut across = Vec::new();
    for _ in 0..40 {
        let mut here = Client::connect(one.addr).await;
        let mut there = two.client().await;
        pair_up(&mut here, &mut there).await;
        across.push((here, there));
    }
    let mut local = Vec::new();
    for _ in 0..40 {
        let mut a = Client::connect(one.addr).await;
        let mut b = Client::connect(one.addr).await;
        pair_up(&mut a, &mut b).await;
        local.push((a, b));
    }
    let mut waiter = Client::connect(one.addr).await;
    waiter.send(&ClientMessage::join_anyone()).await;
    waiter.expect(ServerMessage::Waiting).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = one.resident_kib();

    redis.pause();
    let paused_at = Instant::now();
    const FROZEN: Duration = Duration::from_secs(60);
    // The talkers: each sends twice a second and reads what comes, noting
    // whether their chat ended.
    let talk = |mut client: Client, name: String| {
        tokio::spawn(async move {
            let (mut n, mut left, mut asked_again) = (0, false, false);
            while paused_at.elapsed() < FROZEN {
                if !left {
                    client.send(&say(&format!("{name} {n}"))).await;
                    n += 1;
                } else if !asked_again {
                    // Asking for someone new while Redis is away is refused plainly.
                    client.send(&ClientMessage::join_anyone()).await;
                    asked_again = true;
                }
                while let Some(message) = client.try_recv(Duration::from_millis(250)).await {
                    if message == ServerMessage::StrangerLeft {
                        left = true;
                    }
                }
            }
            (client, left)
        })
    };
    let mut talkers = Vec::new();
    for (i, (here, there)) in across.into_iter().enumerate() {
        talkers.push((true, talk(here, format!("h{i}"))));
        talkers.push((true, talk(there, format!("t{i}"))));
    }
    for (i, (a, b)) in local.into_iter().enumerate() {
        talkers.push((false, talk(a, format!("a{i}"))));
        talkers.push((false, talk(b, format!("b{i}"))));
    }
    // The waiter hears plainly that matching stopped.
    waiter
        .expect(ServerMessage::error(ErrorCode::MatchingPaused))
        .await;
    let mut during = Vec::new();
    while paused_at.elapsed() < FROZEN {
        // Reading all the while, as a browser does (an unread socket fails
        // the server's keep-alive).
        let next = Instant::now() + Duration::from_secs(5);
        while Instant::now() < next {
            let _ = waiter.try_recv(Duration::from_millis(200)).await;
        }
        during.push(one.resident_kib());
    }
    redis.resume();
    let mut clients = Vec::new();
    for (is_across, talker) in talkers {
        let (client, left) = talker.await.unwrap();
        assert_eq!(
            left, is_across,
            "chats across instances end with a notice; chats on one instance go on"
        );
        clients.push(client);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = one.resident_kib();
    let peak = during.iter().copied().max().unwrap();
    println!(
        "resident memory of the instance: before {before} KiB, during (every 5 s) {during:?} \
         KiB, after {after} KiB"
    );
    assert!(
        peak < before + 32 * 1024,
        "memory grew while Redis was away: {before} -> {peak} KiB"
    );
    // Matching resumes by itself.
    let mut newcomer = two.client().await;
    newcomer.send(&ClientMessage::join_anyone()).await;
    newcomer.expect(ServerMessage::Waiting).await;
    waiter.join_until_paired().await;
    newcomer.expect(paired()).await;
    one.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_instance_leaves_the_queue_and_tells_partners_elsewhere_at_once() {
    let redis = Redis::start();
    redis.wait_until_up().await;
    let mut stopping = process_at(&redis, &[("STRANGERS_DRAIN_S", "1")]).await;
    let staying = instance_at(redis.url()).await;
    let mut alice = Client::connect(stopping.addr).await;
    let mut bob = staying.client().await;
    pair_up(&mut alice, &mut bob).await;
    let mut carol = Client::connect(stopping.addr).await;
    carol.send(&ClientMessage::join_anyone()).await;
    carol.expect(ServerMessage::Waiting).await;
    redis.until_alive(2, PATIENCE).await;

    let asked = Instant::now();
    stopping.terminate();
    // Bob is told by the stopping instance itself once the drain is over, not
    // by its silence (an instance missing for MISSING_GRACE counts as dead).
    bob.expect(ServerMessage::StrangerLeft).await;
    let told = asked.elapsed();
    assert!(
        told < Duration::from_secs(1) + cluster::MISSING_GRACE,
        "told after {told:?}"
    );
    // It left the queue before that, long before its presence would have
    // expired: Carol's place went with it, so Dave is not paired with her.
    let mut dave = staying.client().await;
    dave.send(&ClientMessage::join_anyone()).await;
    dave.expect(ServerMessage::Waiting).await;
    let (_, clean) = stopping.exited(asked.into_std()).await;
    assert!(clean, "exited cleanly");
    let mut erin = staying.client().await;
    erin.send(&ClientMessage::join_anyone()).await;
    erin.expect(ServerMessage::Waiting).await;
    erin.expect(paired()).await;
    dave.expect(paired()).await;
    assert_eq!(
        redis.alive_instances().await,
        1,
        "it left no presence behind"
    );
}

/// The keys under the service's prefix that never expire, other than those it
/// must keep: its configuration (the address secret), bans, and the
/// operator's audit log.
async fn kept_for_good(redis: &Redis) -> Vec<String> {
    let allowed = ["address_secret", "bans", "ban_info", "audit"]
        .map(|name| format!("{}{name}", cluster::KEY_PREFIX));
    redis
        .keys_and_ttls(&format!("{}*", cluster::KEY_PREFIX))
        .await
        .into_iter()
        // -1: no expiry (-2: deleted since it was listed).
        .filter(|(key, ttl)| *ttl == -1 && !allowed.contains(key))
        .map(|(key, _)| key)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_in_redis_expires_after_a_crash_a_clean_stop_and_an_outage() {
    let redis = Redis::start();
    redis.wait_until_up().await;
    let mut crashing = process_at(&redis, &[]).await;
    let mut stopping = process_at(&redis, &[("STRANGERS_DRAIN_S", "0")]).await;
    let staying = instance_at(redis.url()).await;
    // On each instance: a stranger waiting with interests, and a chat across
    // instances with words said and a report filed.
    let mut kept = Vec::new();
    for (addr, interest) in [(crashing.addr, "chess"), (stopping.addr, "rust")] {
        let mut waiter = Client::connect(addr).await;
        waiter
            .send(&ClientMessage::Join {
                interests: vec![interest.into()],
                only_shared: true,
                browser: None,
                mode: Mode::Text,
                agreed: true,
                hide_ip: false,
                question: None,
                discuss: false,
                language: None,
            })
            .await;
        waiter.expect(ServerMessage::Waiting).await;
        let mut here = Client::connect(addr).await;
        let mut there = staying.client().await;
        pair_up(&mut here, &mut there).await;
        here.send(&say("hello from here")).await;
        there.expect(heard("hello from here")).await;
        kept.push((here, there, waiter));
    }
    let mut waiting_here = staying.client().await;
    waiting_here.send(&ClientMessage::join_anyone()).await;
    waiting_here.expect(ServerMessage::Waiting).await;
    for (_, there, _) in &mut kept {
        there.send(&common::report()).await;
    }

    common::until("the reports filed", PATIENCE, || async {
        redis.keys_and_ttls("strangers:report:*").await.len() >= 2
    })
    .await;
    crashing.kill();
    redis.until_alive(2, PATIENCE).await;
    assert_eq!(
        kept_for_good(&redis).await,
        Vec::<String>::new(),
        "after a crash"
    );

    stopping.terminate();
    stopping.exited(std::time::Instant::now()).await;
    assert_eq!(
        kept_for_good(&redis).await,
        Vec::<String>::new(),
        "after a clean stop"
    );

    redis.pause();
    tokio::time::sleep(cluster::ALIVE_FOR + Duration::from_secs(1)).await;
    redis.resume();
    redis.until_alive(1, PATIENCE).await;
    tokio::time::sleep(cluster::HEARTBEAT * 2).await;
    assert_eq!(
        kept_for_good(&redis).await,
        Vec::<String>::new(),
        "after an outage"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_sentinel_fails_redis_over_matching_resumes_and_nobody_is_paired_twice() {
    let mut failover = Failover::start().await;
    let one = instance_at(failover.url()).await;
    let two = instance_at(failover.url()).await;
    let mut alice = one.client().await;
    let mut bob = two.client().await;
    pair_up(&mut alice, &mut bob).await;
    alice.send(&say("before")).await;
    bob.expect(heard("before")).await;
    failover.until_replicated().await;

    let old = failover.kill_primary().await;
    let killed = Instant::now();
    // Carol asks for someone until she is waiting rather than told that
    // matching is paused: how long strangers saw "matching paused".
    let mut carol = one.client().await;
    // An instance gives up on Redis within two seconds: silence for longer
    // means she is in the queue.
    let (asked, answer) = carol
        .join_until_matching_resumes(Duration::from_secs(3))
        .await;
    assert_eq!(answer, None, "in the queue");
    let paused_for = asked.duration_since(killed);
    failover.until_failed_over(old, PATIENCE).await;
    println!("after the primary was killed, matching was paused for {paused_for:?}");

    // Matching works across the instances on the new primary, once.
    let mut dave = two.client().await;
    dave.send(&ClientMessage::join_anyone()).await;
    dave.expect(ServerMessage::Waiting).await;
    dave.expect(paired()).await;
    carol.expect(paired()).await;
    dave.send(&say("on the new primary")).await;
    carol.expect(heard("on the new primary")).await;

    // Alice and Bob's chat goes on, or ends plainly on both sides.
    alice.send(&say("after")).await;
    match bob.try_recv(PATIENCE).await {
        Some(ServerMessage::Message { text }) => {
            assert_eq!(text, "after");
            println!("the chat across instances went on");
        }
        Some(ServerMessage::StrangerLeft) => {
            // Alice is told too (and her "after" found no chat to go to).
            let mut told = Vec::new();
            while let Some(message) = alice.try_recv(Duration::from_secs(1)).await {
                told.push(message);
            }
            assert!(told.contains(&ServerMessage::StrangerLeft), "{told:?}");
            assert!(told.iter().all(|message| {
                *message == ServerMessage::StrangerLeft
                    || *message == ServerMessage::error(ErrorCode::NotInChat)
            }));
            println!("the chat across instances ended, both sides told");
        }
        other => panic!("Bob heard {other:?}"),
    }
    // Nobody is paired twice: no join of Carol's is left in the queue, and
    // nobody hears anything more (each answers the silence marker first).
    assert_eq!(
        (one.state.lobby.waiting(), two.state.lobby.waiting()),
        (0, 0),
        "nobody left waiting"
    );
    for stranger in [&mut alice, &mut bob, &mut carol, &mut dave] {
        stranger.expect_silence().await;
    }
}
