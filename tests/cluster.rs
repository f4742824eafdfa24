//! The queue shared by several instances through Redis: each test starts its own
//! `redis-server` (Debian's, installed by `.ci/setup`) on a private Unix socket.
#![cfg(all(feature = "ssr", unix))]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::redis::Redis;
use common::until;

use strangers::protocol::Mode;
use strangers::protocol::ServerMessage;
use strangers::protocol::{Author, ReportReason};
use strangers::server::cluster::{Event, INBOX_KEEP_MS, Match, Outbound, SharedJoin, SharedQueue};
use strangers::server::matchmaker::Seeker;
use strangers::server::moderation::{BanOrigin, FOREVER_MS, FiledReport, ReportedLine, now_ms};
use strangers::server::network::{AddressKey, AddressLimits, Gatekeeper};
use strangers::server::stranger::StrangerId;

const INTEREST_TIMEOUT: Duration = Duration::from_millis(300);

/// A new instance's view of the shared queue.
async fn instance(redis: &Redis) -> SharedQueue {
    instance_alive_for(redis, Duration::from_secs(10)).await
}

async fn instance_alive_for(redis: &Redis, alive_for: Duration) -> SharedQueue {
    redis.wait_until_up().await;
    SharedQueue::connect(
        &redis.url(),
        "test:",
        INTEREST_TIMEOUT,
        AddressLimits::default(),
        alive_for,
    )
    .await
    .expect("connect to the test Redis")
}

/// A report by the network `reporter` against `reported`, with one line of evidence.
fn filed(reporter: AddressKey, reported: AddressKey) -> FiledReport {
    let evidence = vec![ReportedLine {
        from: Author::Stranger,
        text: "buy my stuff".into(),
        verified: false,
    }];
    FiledReport::new(ReportReason::Spam, evidence, Mode::Text, reporter, reported)
}

fn seeker(interests: &[&str]) -> Seeker {
    Seeker {
        interests: interests.iter().map(|i| i.to_string()).collect(),
        ..Seeker::anyone(StrangerId::new())
    }
}

fn paired(joined: SharedJoin) -> Match {
    match joined {
        SharedJoin::Paired(pairing) => pairing,
        other => panic!("expected a pairing, got {other:?}"),
    }
}

/// The pairing an inbox event tells of.
fn pairing(event: Event) -> Match {
    match event {
        Event::Paired(pairing) => pairing,
        other => panic!("expected a pairing, got {other:?}"),
    }
}

/// The keys of `ips`, hashed as every instance on `queue`'s Redis hashes them.
async fn addresses<const N: usize>(queue: &SharedQueue, ips: [&str; N]) -> [AddressKey; N] {
    let secret = queue.address_secret().await.unwrap();
    let gate = Gatekeeper::with_secret(AddressLimits::default(), Default::default(), secret);
    ips.map(|ip| gate.key_of(ip.parse().unwrap()))
}

/// Waits until Redis no longer counts `queue`'s instance alive: its presence
/// key expired, as when the instance stops refreshing it.
async fn until_counted_dead(redis: &Redis, queue: &SharedQueue) {
    let presence = format!("test:alive:{}", queue.instance());
    until("counted dead", Duration::from_secs(2), || async {
        redis.keys_and_ttls(&presence).await.is_empty()
    })
    .await;
}

/// Reads `queue`'s inbox until `count` events have arrived.
async fn events(inbox: &mut strangers::server::cluster::Inbox, count: usize) -> Vec<Event> {
    let mut got = Vec::new();
    while got.len() < count {
        let more = inbox.next(Duration::from_secs(2)).await.unwrap();
        assert!(!more.is_empty(), "expected {count} events, got {got:?}");
        got.extend(more);
    }
    got
}

#[tokio::test]
async fn strangers_on_two_instances_are_paired_and_both_instances_know() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut a_inbox = a.inbox();
    let alice = Seeker {
        mode: Mode::Video,
        ..seeker(&[])
    };
    let bob = Seeker {
        mode: Mode::Video,
        ..seeker(&[])
    };
    let [alice_home, bob_home] = addresses(&a, ["203.0.113.1", "203.0.113.2"]).await;
    assert_eq!(
        a.join(&alice, Some(alice_home)).await.unwrap(),
        SharedJoin::Waiting
    );
    assert_eq!(b.waiting().await.unwrap(), 1);

    let on_b = paired(b.join(&bob, Some(bob_home)).await.unwrap());
    assert_eq!((on_b.me, on_b.partner), (bob.id, alice.id));
    assert_eq!(on_b.partner_instance, a.instance());
    assert_eq!(on_b.partner_address, Some(alice_home), "to report them");
    assert!(on_b.offers, "the one who joined last starts the call");

    let on_a = pairing(events(&mut a_inbox, 1).await.remove(0));
    assert_eq!((on_a.me, on_a.partner), (alice.id, bob.id));
    assert_eq!(on_a.partner_instance, b.instance());
    assert_eq!(on_a.partner_address, Some(bob_home));
    assert_eq!(on_a.mode, Mode::Video);
    assert!(!on_a.offers);
    assert_eq!(b.waiting().await.unwrap(), 0);
}

#[tokio::test]
async fn nobody_meets_themselves_their_own_browser_or_another_mode() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let me = seeker(&[]);
    assert_eq!(a.join(&me, None).await.unwrap(), SharedJoin::Waiting);
    assert_eq!(
        b.join(&me, None).await.unwrap(),
        SharedJoin::Waiting,
        "joining twice"
    );

    let tab = |browser: &str| Seeker {
        browser: Some(browser.into()),
        ..seeker(&["cats"])
    };
    assert_eq!(a.join(&tab("b1"), None).await.unwrap(), SharedJoin::Waiting);
    assert_eq!(b.join(&tab("b1"), None).await.unwrap(), SharedJoin::Waiting);

    let video = Seeker {
        mode: Mode::Video,
        ..seeker(&[])
    };
    assert_eq!(b.join(&video, None).await.unwrap(), SharedJoin::Waiting);
    assert_eq!(a.waiting().await.unwrap(), 4);

    // Another browser sharing the interest meets the oldest of those tabs.
    let other = paired(b.join(&tab("b2"), None).await.unwrap());
    assert_eq!(other.common_interests, vec!["cats".to_string()]);
    assert_eq!(other.partner_instance, a.instance());
}

#[tokio::test]
async fn after_a_chat_the_two_meet_others_first_and_each_other_only_as_a_last_resort() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    // Alice and Carol are two tabs of one browser: they never meet, so both can wait.
    let tab = |seeker: Seeker| Seeker {
        browser: Some("one-browser".into()),
        ..seeker
    };
    let (alice, carol, bob) = (tab(seeker(&[])), tab(seeker(&[])), seeker(&[]));
    assert_eq!(a.join(&alice, None).await.unwrap(), SharedJoin::Waiting);
    assert_eq!(paired(b.join(&bob, None).await.unwrap()).partner, alice.id);

    // Both search again: Alice waits longest, but Bob just met her.
    assert_eq!(a.join(&alice, None).await.unwrap(), SharedJoin::Waiting);
    assert_eq!(a.join(&carol, None).await.unwrap(), SharedJoin::Waiting);
    assert_eq!(
        paired(b.join(&bob, None).await.unwrap()).partner,
        carol.id,
        "not the stranger he just left"
    );
    // With nobody else waiting, a recent partner is better than nobody.
    assert_eq!(paired(b.join(&bob, None).await.unwrap()).partner, alice.id);
}

#[tokio::test]
async fn the_longest_waiting_is_paired_first_and_shared_interests_win() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let anyone = seeker(&[]);
    let jazz = seeker(&["jazz"]);
    let films = seeker(&["films"]);
    a.join(&anyone, None).await.unwrap();
    b.join(&jazz, None).await.unwrap();
    a.join(&films, None).await.unwrap();

    // Both interests are shared with someone: the one waiting longer wins.
    let fan = paired(a.join(&seeker(&["films", "jazz"]), None).await.unwrap());
    assert_eq!(fan.partner, jazz.id);
    assert_eq!(fan.common_interests, vec!["jazz".to_string()]);
    assert_eq!(fan.partner_instance, b.instance());
    // Without interests: the open waiter, not the one waiting for films.
    assert_eq!(
        paired(b.join(&seeker(&[]), None).await.unwrap()).partner,
        anyone.id
    );
    let buff = paired(b.join(&seeker(&["films"]), None).await.unwrap());
    assert_eq!(
        (buff.partner, buff.common_interests),
        (films.id, vec!["films".to_string()])
    );
}

#[tokio::test]
async fn interests_nobody_shares_give_way_to_anyone_after_the_timeout() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let (mut a_inbox, mut b_inbox) = (a.inbox(), b.inbox());
    let picky = seeker(&["origami"]);
    let strict = Seeker {
        only_shared: true,
        ..seeker(&["chess"])
    };
    let easy = seeker(&[]);
    a.join(&picky, None).await.unwrap();
    a.join(&strict, None).await.unwrap();
    b.join(&easy, None).await.unwrap();
    assert_eq!(a.tick().await.unwrap(), 0, "before the timeout");

    until(
        "paired after the timeout",
        Duration::from_secs(2),
        || async { b.tick().await.unwrap() == 1 },
    )
    .await;
    let on_a = pairing(events(&mut a_inbox, 1).await.remove(0));
    let on_b = pairing(events(&mut b_inbox, 1).await.remove(0));
    assert_eq!((on_a.me, on_a.partner), (picky.id, easy.id));
    assert_eq!((on_b.me, on_b.partner), (easy.id, picky.id));
    assert!(on_a.offers != on_b.offers, "exactly one starts the call");
    assert!(on_a.waited >= INTEREST_TIMEOUT);
    assert_eq!(a.waiting().await.unwrap(), 1, "only-shared keeps waiting");
}

#[tokio::test]
async fn the_waiters_of_a_dead_instance_leave_the_queue() {
    let redis = Redis::start();
    let dying = instance_alive_for(&redis, Duration::from_millis(300)).await;
    let alive = instance(&redis).await;
    dying.join(&seeker(&[]), None).await.unwrap();
    dying.join(&seeker(&["cats"]), None).await.unwrap();
    until_counted_dead(&redis, &dying).await;

    // Nobody is paired with a ghost, even before the sweep.
    let newcomer = seeker(&["cats"]);
    assert_eq!(
        alive.join(&newcomer, None).await.unwrap(),
        SharedJoin::Waiting
    );
    alive.tick().await.unwrap();
    assert_eq!(alive.waiting().await.unwrap(), 1, "only the newcomer waits");
    assert!(alive.leave(newcomer.id).await.unwrap());
    assert!(!alive.leave(newcomer.id).await.unwrap());
    assert_eq!(alive.waiting().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_joins_at_once_across_three_instances_pair_everyone_once() {
    let redis = Redis::start();
    let instances = [
        instance(&redis).await,
        instance(&redis).await,
        instance(&redis).await,
    ];
    let mut inboxes = Vec::new();
    for instance in &instances {
        inboxes.push(instance.inbox());
    }
    const STRANGERS: usize = 300;
    let joins = (0..STRANGERS).map(|n| {
        let queue = instances[n % 3].clone();
        let seeker = seeker(if n % 2 == 0 { &["a"] } else { &[] });
        tokio::spawn(async move {
            let outcome = queue.join(&seeker, None).await.unwrap();
            (seeker.id, queue.instance().to_owned(), outcome)
        })
    });
    let mut partner_of: HashMap<StrangerId, StrangerId> = HashMap::new();
    let mut across = 0;
    for joined in futures_util::future::join_all(joins).await {
        let (me, instance, outcome) = joined.unwrap();
        if let SharedJoin::Paired(pairing) = outcome {
            assert!(partner_of.insert(me, pairing.partner).is_none());
            if pairing.partner_instance == instance {
                // The reply is all a waiter on the joiner's own instance needs.
                assert!(partner_of.insert(pairing.partner, me).is_none());
            } else {
                across += 1;
            }
        }
    }
    // Each pairing across instances also reached the waiter's instance, once.
    let mut heard = 0;
    for inbox in &mut inboxes {
        loop {
            let more = inbox.next(Duration::from_millis(300)).await.unwrap();
            if more.is_empty() {
                break;
            }
            for event in more {
                let made = pairing(event);
                heard += 1;
                assert!(
                    partner_of.insert(made.me, made.partner).is_none(),
                    "{} paired twice",
                    made.me
                );
            }
        }
    }
    assert_eq!(heard, across);
    for (me, partner) in &partner_of {
        assert_ne!(me, partner);
        assert_eq!(partner_of.get(partner), Some(me), "pairs are mutual");
    }
    // Whoever is not paired is still waiting: nobody lost.
    let still_waiting = instances[0].waiting().await.unwrap() as usize;
    assert_eq!(partner_of.len() + still_waiting, STRANGERS);
    assert!(
        still_waiting <= 2,
        "at most one waiter per interest group is left unpaired, got {still_waiting}"
    );
}

#[tokio::test]
async fn reports_from_three_networks_on_any_instances_ban_on_every_instance() {
    let redis = Redis::start();
    let (a, b, c) = (
        instance(&redis).await,
        instance(&redis).await,
        instance(&redis).await,
    );
    let secret = a.address_secret().await.unwrap();
    assert_eq!(
        b.address_secret().await.unwrap(),
        secret,
        "one secret for all"
    );
    let mut inboxes = [a.inbox(), b.inbox(), c.inbox()];
    let [troll, one, two, three] = addresses(
        &a,
        ["198.51.100.66", "203.0.113.1", "203.0.113.2", "203.0.113.3"],
    )
    .await;

    assert_eq!(a.report(&filed(one, troll)).await.unwrap(), None);
    assert_eq!(
        b.report(&filed(one, troll)).await.unwrap(),
        None,
        "one network counts once, on whichever instance"
    );
    assert_eq!(b.report(&filed(two, troll)).await.unwrap(), None);
    assert_eq!(a.bans().await.unwrap(), []);
    let day = AddressLimits::default().ban_duration;
    assert_eq!(c.report(&filed(three, troll)).await.unwrap(), Some(day));

    for inbox in &mut inboxes {
        match &events(inbox, 1).await[..] {
            [Event::Banned { address, remaining }] => {
                assert_eq!((*address, *remaining), (troll, day));
            }
            other => panic!("expected the ban, got {other:?}"),
        }
    }
    // An instance that starts later reads the bans in force.
    let late = instance(&redis).await;
    match &late.bans().await.unwrap()[..] {
        [(address, left)] => {
            assert_eq!(*address, troll);
            assert!(day - *left < Duration::from_secs(5), "{left:?}");
        }
        other => panic!("expected one ban, got {other:?}"),
    }
    // Reports start over after a ban; the others are untouched.
    assert_eq!(a.report(&filed(one, three)).await.unwrap(), None);
}

#[tokio::test]
async fn in_redis_uncounted_reports_ban_nobody_a_network_counts_ten_a_day_and_bans_grow() {
    let redis = Redis::start();
    redis.wait_until_up().await;
    let limits = AddressLimits {
        reports_to_ban: 1,
        reports_per_day: 3,
        ..AddressLimits::default()
    };
    let queue = SharedQueue::connect(
        &redis.url(),
        "test:",
        INTEREST_TIMEOUT,
        limits.clone(),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let [one, two, silent, a, b, c] = addresses(
        &queue,
        [
            "203.0.113.1",
            "203.0.113.2",
            "198.51.100.1",
            "198.51.100.2",
            "198.51.100.3",
            "198.51.100.4",
        ],
    )
    .await;

    let instant = filed(one, silent).counting(false);
    assert_eq!(queue.report(&instant).await.unwrap(), None);
    let kept = queue.stored_report(&instant.id).await.unwrap().unwrap();
    assert!(!kept.counted, "filed, marked as not counting");

    // The daily allowance: three counted reports, then no more.
    for target in [a, b, c] {
        assert_eq!(
            queue.report(&filed(one, target)).await.unwrap(),
            Some(limits.ban_for(0))
        );
    }
    let over = filed(one, silent);
    assert_eq!(queue.report(&over).await.unwrap(), None);
    assert!(
        !queue
            .stored_report(&over.id)
            .await
            .unwrap()
            .unwrap()
            .counted
    );

    // Another network reports `a` again: its second ban is four times longer.
    assert_eq!(
        queue.report(&filed(two, a)).await.unwrap(),
        Some(limits.ban_for(1))
    );
    assert_eq!(limits.ban_for(1), 4 * limits.ban_for(0));
}

#[tokio::test]
async fn reports_filed_on_one_instance_are_read_and_acted_on_from_another() {
    let redis = Redis::start();
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut inboxes = [a.inbox(), b.inbox()];
    let [troll, one, two] = addresses(&a, ["198.51.100.66", "203.0.113.1", "203.0.113.2"]).await;

    let first = filed(one, troll);
    a.report(&first).await.unwrap();
    let second = FiledReport {
        at_ms: first.at_ms + 1,
        ..filed(two, troll)
    };
    a.report(&second).await.unwrap();
    let seen = b.reports(0).await.unwrap();
    assert_eq!(
        seen,
        [second.clone(), first.clone()],
        "newest first, evidence and all"
    );
    assert_eq!(seen[1].evidence[0].text, "buy my stuff");
    assert!(
        b.reports(second.at_ms).await.unwrap().is_empty(),
        "only reports made after the cut-off"
    );

    // An operator on b bans the network for good: both instances are told.
    let until = b
        .ban(troll, Duration::from_millis(FOREVER_MS))
        .await
        .unwrap();
    assert_eq!(until, FOREVER_MS);
    for inbox in &mut inboxes {
        match &events(inbox, 1).await[..] {
            [Event::Banned { address, remaining }] => {
                assert_eq!(*address, troll);
                assert!(*remaining > Duration::from_secs(100 * 365 * 86_400));
            }
            other => panic!("expected the ban, got {other:?}"),
        }
    }
    let bans = a.ban_records().await.unwrap();
    assert_eq!(bans.len(), 1);
    assert_eq!(
        (bans[0].origin, bans[0].until_ms),
        (BanOrigin::Operator, FOREVER_MS)
    );
    assert!(now_ms() - bans[0].since_ms < 5_000);

    // Lifted from a: both are told, and it is gone from the list.
    assert!(a.lift(troll).await.unwrap());
    for inbox in &mut inboxes {
        assert_eq!(events(inbox, 1).await, [Event::Unbanned { address: troll }]);
    }
    assert!(b.ban_records().await.unwrap().is_empty());
    assert!(!a.lift(troll).await.unwrap(), "nothing left to lift");

    assert!(b.delete_report(&first.id).await.unwrap());
    assert_eq!(a.reports(0).await.unwrap(), [second]);

    let entry = strangers::server::moderation::AuditEntry {
        at_ms: now_ms(),
        action: "Lifted the ban".into(),
    };
    a.audit(&entry).await.unwrap();
    assert_eq!(b.audit_log().await.unwrap(), [entry]);
}

#[tokio::test]
async fn reports_in_redis_are_deleted_after_the_retention_time() {
    let redis = Redis::start();
    let queue = instance(&redis)
        .await
        .keeping_reports_for(Duration::from_millis(300));
    let [troll, one] = addresses(&queue, ["198.51.100.66", "203.0.113.1"]).await;
    let report = filed(one, troll);
    queue.report(&report).await.unwrap();
    assert_eq!(queue.reports(0).await.unwrap(), [report]);
    let filed_at = tokio::time::Instant::now();
    until("expired in Redis", Duration::from_secs(2), || async {
        queue.reports(0).await.unwrap().is_empty()
    })
    .await;
    assert!(
        filed_at.elapsed() >= Duration::from_millis(200),
        "kept for about the retention time"
    );
}

#[tokio::test]
async fn a_ban_after_reports_is_listed_as_automatic() {
    let redis = Redis::start();
    let queue = instance(&redis).await;
    let [troll, one, two, three] = addresses(
        &queue,
        ["198.51.100.66", "203.0.113.1", "203.0.113.2", "203.0.113.3"],
    )
    .await;
    for reporter in [one, two, three] {
        queue.report(&filed(reporter, troll)).await.unwrap();
    }
    let bans = queue.ban_records().await.unwrap();
    assert_eq!(bans.len(), 1);
    assert_eq!(
        (bans[0].address, bans[0].origin),
        (troll, BanOrigin::Reports)
    );
    let day = AddressLimits::default().ban_duration.as_millis() as u64;
    assert!(bans[0].until_ms.abs_diff(now_ms() + day) < 5_000);
}

#[tokio::test]
async fn relayed_chat_text_never_stays_in_redis_not_even_for_a_dead_reader() {
    let redis = Redis::start();
    let alive = instance(&redis).await;
    let dying = instance_alive_for(&redis, Duration::from_millis(300)).await;
    let (from, to) = (StrangerId::new(), StrangerId::new());
    let relay = |text: &str| Outbound {
        instance: dying.instance().to_owned(),
        from,
        to,
        message: ServerMessage::Message { text: text.into() },
    };
    assert_eq!(
        alive.send(&[relay("held for a reader")]).await.unwrap(),
        Vec::<String>::new(),
        "delivered"
    );
    let inbox = format!("test:inbox:{}", dying.instance());
    let ttl = redis
        .keys_and_ttls("test:*")
        .await
        .into_iter()
        .find(|(key, _)| *key == inbox)
        .map(|(_, ttl)| ttl);
    assert!(
        matches!(ttl, Some(ms) if ms > 0 && ms <= INBOX_KEEP_MS as i64),
        "an unread inbox expires: {ttl:?}"
    );

    // Its reader dies: the sweep deletes the inbox, and a late writer does
    // not bring it back.
    until_counted_dead(&redis, &dying).await;
    alive.tick().await.unwrap();
    assert_eq!(
        alive
            .send(&[relay("sent after the reader died")])
            .await
            .unwrap(),
        [dying.instance().to_owned()],
        "the sender learns the partner's instance is gone"
    );
    let keys = redis.keys_and_ttls("test:*").await;
    assert!(
        !keys.iter().any(|(key, _)| *key == inbox),
        "the dead instance's inbox is gone for good: {keys:?}"
    );
    for (key, ttl) in &keys {
        if key.starts_with("test:inbox:") {
            assert!(*ttl > 0, "{key} has no expiry");
        }
    }
}

#[tokio::test]
async fn an_instance_redis_forgot_must_come_back_before_it_can_queue_anyone() {
    let redis = Redis::start();
    let lapsed = instance_alive_for(&redis, Duration::from_millis(100)).await;
    let other = instance(&redis).await;
    until_counted_dead(&redis, &lapsed).await;
    // Counted dead (its presence expired): its strangers are not queued, so
    // nobody elsewhere can be paired with one whose instance is not listening.
    assert_eq!(
        lapsed.join(&seeker(&[]), None).await.unwrap(),
        SharedJoin::Forgotten
    );
    assert_eq!(other.waiting().await.unwrap(), 0);
    assert!(
        !lapsed.heartbeat(Duration::from_secs(10)).await.unwrap(),
        "it was forgotten"
    );
    assert_eq!(
        lapsed.join(&seeker(&[]), None).await.unwrap(),
        SharedJoin::Waiting
    );
}

#[tokio::test]
async fn nobody_is_paired_with_a_stranger_queued_before_their_instance_came_back() {
    // As when Redis froze past the presence bound: the instance told its
    // waiters that matching paused. Whatever comes first when Redis wakes, a
    // sweep or the instance's comeback, those waiters are not paired.
    let redis = Redis::start();
    let lapsed = instance_alive_for(&redis, Duration::from_millis(100)).await;
    let other = instance(&redis).await;
    let paused = seeker(&[]);
    assert_eq!(
        lapsed.join(&paused, None).await.unwrap(),
        SharedJoin::Waiting
    );
    until_counted_dead(&redis, &lapsed).await;
    assert!(
        !lapsed.heartbeat(Duration::from_secs(10)).await.unwrap(),
        "it was forgotten"
    );
    let newcomer = seeker(&[]);
    assert_eq!(
        other.join(&newcomer, None).await.unwrap(),
        SharedJoin::Waiting,
        "not paired with the paused stranger"
    );
    assert_eq!(other.waiting().await.unwrap(), 1, "only the newcomer waits");
    assert!(other.leave(newcomer.id).await.unwrap());

    // Cut off but still known (Redis ran its heartbeats, their answers came
    // too late): starting over drops its waiters all the same.
    let slow = instance(&redis).await;
    assert_eq!(
        slow.join(&seeker(&[]), None).await.unwrap(),
        SharedJoin::Waiting
    );
    assert!(
        slow.heartbeat_before(
            Duration::from_secs(10),
            true,
            std::time::SystemTime::now() + Duration::from_secs(2)
        )
        .await
        .unwrap(),
        "still known"
    );
    assert_eq!(
        other.join(&seeker(&[]), None).await.unwrap(),
        SharedJoin::Waiting,
        "not paired with the stranger of the instance that started over"
    );
}

#[tokio::test]
async fn a_heartbeat_redis_runs_after_its_deadline_brings_no_instance_back() {
    // As when Redis froze with heartbeats on their way: run when it wakes,
    // they must not make an instance the others counted dead alive again
    // (it would never learn it had been forgotten, nor drop its waiters).
    let redis = Redis::start();
    let lapsed = instance_alive_for(&redis, Duration::from_millis(100)).await;
    until_counted_dead(&redis, &lapsed).await;
    let late = lapsed
        .heartbeat_before(
            Duration::from_secs(10),
            false,
            std::time::SystemTime::now() - Duration::from_secs(1),
        )
        .await;
    assert!(late.is_err(), "{late:?}");
    let presence = format!("test:alive:{}", lapsed.instance());
    assert!(
        redis.keys_and_ttls(&presence).await.is_empty(),
        "still dead"
    );
    assert!(
        !lapsed.heartbeat(Duration::from_secs(10)).await.unwrap(),
        "the next timely heartbeat learns it was forgotten"
    );
}

#[tokio::test]
async fn a_join_redis_runs_after_its_deadline_queues_nobody() {
    // As when Redis froze with the join on its way, and the stranger was told
    // matching is paused long before Redis woke and ran it.
    let redis = Redis::start();
    let queue = instance(&redis).await;
    let other = instance(&redis).await;
    assert_eq!(
        queue
            .join_before(
                &seeker(&[]),
                None,
                std::time::SystemTime::now() - Duration::from_secs(1)
            )
            .await
            .unwrap(),
        SharedJoin::Late
    );
    assert_eq!(
        queue.waiting().await.unwrap(),
        0,
        "nobody queued behind their back"
    );
    assert_eq!(
        other.join(&seeker(&[]), None).await.unwrap(),
        SharedJoin::Waiting
    );
}

/// One join in a scenario: who (a letter), from which browser, with which
/// interests and mode, and what must come of it.
struct Step {
    who: char,
    browser: Option<&'static str>,
    interests: &'static [&'static str],
    only_shared: bool,
    mode: Mode,
    /// `None`: waits; `Some((partner, common interests))`: paired at once.
    outcome: Option<(char, &'static [&'static str])>,
}

/// A join of anyone, in text, from no particular browser.
const fn step(who: char, outcome: Option<(char, &'static [&'static str])>) -> Step {
    Step {
        who,
        browser: None,
        interests: &[],
        only_shared: false,
        mode: Mode::Text,
        outcome,
    }
}

const WAITS: Option<(char, &[&str])> = None;

/// The matchmaking rules as scenarios, run against the in-memory matchmaker
/// and the shared queue's scripts alike, so the two cannot drift.
fn scenarios() -> Vec<(&'static str, Vec<Step>)> {
    let from = |browser, s: Step| Step {
        browser: Some(browser),
        ..s
    };
    let liking = |interests, s: Step| Step { interests, ..s };
    vec![
        (
            "the oldest waiter first",
            vec![
                step('a', WAITS),
                step('b', Some(('a', &[]))),
                step('c', WAITS),
                step('d', Some(('c', &[]))),
                step('e', WAITS),
            ],
        ),
        (
            "nobody meets themselves",
            vec![step('a', WAITS), step('a', WAITS)],
        ),
        (
            "nobody meets their own tabs",
            vec![
                from("tab", step('a', WAITS)),
                from("tab", step('b', WAITS)),
                step('c', Some(('a', &[]))),
            ],
        ),
        (
            "modes apart",
            vec![
                step('a', WAITS),
                Step {
                    mode: Mode::Video,
                    ..step('b', WAITS)
                },
                Step {
                    mode: Mode::Video,
                    ..step('c', Some(('b', &[])))
                },
            ],
        ),
        (
            "a shared interest, and the others wait for theirs",
            vec![
                liking(&["chess"], step('a', WAITS)),
                step('b', WAITS),
                liking(&["go", "chess"], step('c', Some(('a', &["chess"])))),
                step('d', Some(('b', &[]))),
            ],
        ),
        (
            "a shared language is preferred as a shared interest is",
            vec![
                liking(&["lang:fr"], step('a', WAITS)),
                step('b', WAITS),
                liking(&["jazz", "lang:fr"], step('c', Some(('a', &["lang:fr"])))),
                liking(&["lang:de"], step('d', WAITS)),
            ],
        ),
        (
            "only a shared interest will do",
            vec![
                Step {
                    only_shared: true,
                    ..liking(&["chess"], step('a', WAITS))
                },
                liking(&["go"], step('b', WAITS)),
            ],
        ),
        (
            "no rematch while someone else waits, a rematch as a last resort",
            vec![
                from("one", step('a', WAITS)),
                from("two", step('b', Some(('a', &[])))),
                from("one", step('a', WAITS)),
                from("one", step('c', WAITS)),
                from("two", step('b', Some(('c', &[])))),
                from("three", step('d', Some(('a', &[])))),
                from("two", step('b', WAITS)),
                from("three", step('d', Some(('b', &[])))),
            ],
        ),
    ]
}

/// `step`'s seeker, with `ids` naming the letters.
fn seeker_of(step: &Step, ids: &mut HashMap<char, StrangerId>) -> Seeker {
    Seeker {
        id: *ids.entry(step.who).or_default(),
        browser: step.browser.map(str::to_owned),
        interests: step.interests.iter().map(|i| i.to_string()).collect(),
        only_shared: step.only_shared,
        mode: step.mode,
    }
}

/// Who `id` is in a scenario.
fn letter(ids: &HashMap<char, StrangerId>, id: StrangerId) -> char {
    ids.iter()
        .find(|(_, known)| **known == id)
        .map(|(c, _)| *c)
        .unwrap()
}

#[tokio::test]
async fn the_same_scenarios_pair_the_same_strangers_in_memory_and_in_redis() {
    use strangers::server::matchmaker::{Joined, Matchmaker};
    for (name, steps) in scenarios() {
        // In memory.
        let mut matchmaker = Matchmaker::new(INTEREST_TIMEOUT);
        let mut ids = HashMap::new();
        for (n, step) in steps.iter().enumerate() {
            let seeker = seeker_of(step, &mut ids);
            let got = match matchmaker.join(seeker, tokio::time::Instant::now()) {
                Joined::Waiting => None,
                Joined::Paired(pairing) => Some((
                    letter(&ids, pairing.waiter),
                    pairing.common_interests.clone(),
                )),
            };
            let want = step
                .outcome
                .map(|(c, common)| (c, common.iter().map(|i| i.to_string()).collect()));
            assert_eq!(got, want, "in memory: {name}, step {n}");
        }
        // In Redis, the steps alternating between two instances.
        let redis = Redis::start();
        let queues = [instance(&redis).await, instance(&redis).await];
        let mut ids = HashMap::new();
        for (n, step) in steps.iter().enumerate() {
            let seeker = seeker_of(step, &mut ids);
            let got = match queues[n % 2].join(&seeker, None).await.unwrap() {
                SharedJoin::Paired(pairing) => Some((
                    letter(&ids, pairing.partner),
                    pairing.common_interests.clone(),
                )),
                SharedJoin::Waiting => None,
                other => panic!("{other:?}"),
            };
            let want = step
                .outcome
                .map(|(c, common)| (c, common.iter().map(|i| i.to_string()).collect()));
            assert_eq!(got, want, "in Redis: {name}, step {n}");
        }
    }
}
