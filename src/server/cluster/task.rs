//! The cluster's tasks: one carries the lobby's joins and leaves to the shared
//! queue and brings back pairings and messages from the inbox; one relays
//! messages and reports to other instances; one keeps this instance's presence
//! alive. Apart, so that a flood of joins delays neither a heartbeat nor a
//! message (each waits for Redis in its own task, over one multiplexed
//! connection).

use std::collections::HashMap;
use std::time::Duration;

use redis::RedisResult;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::queue::{SharedJoin, SharedQueue};
use super::wire::Event;
use crate::server::lobby::{Lobby, Place};
use crate::server::matchmaker::Seeker;
use crate::server::moderation::FiledReport;
use crate::server::network::AddressKey;
use crate::server::sanctions::Sanctions;
use crate::server::seam::{Outbound, Outgoing, Request, RequestQueue};

/// Every key this service writes starts with this.
pub const KEY_PREFIX: &str = "strangers:";

/// How long to wait before trying Redis again after an error.
const RETRY: Duration = Duration::from_millis(500);

/// How often an instance proves it is alive, sweeps the queue and checks the
/// instances its strangers' partners are on.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long an instance counts as alive after its last heartbeat: its
/// strangers' partners are told they left within about this long of it dying,
/// plus [`MISSING_GRACE`] and a heartbeat.
pub const ALIVE_FOR: Duration = Duration::from_secs(3);

/// A join that waited this long for its turn (Redis slow or away) is not tried:
/// the stranger is told matching is paused, and "New" asks again.
pub const MAX_JOIN_AGE: Duration = Duration::from_secs(2);

/// Redis runs a join or a heartbeat within this long of its sending or not at
/// all: well within [`REDIS_PATIENCE`] and the beat's own bound (two
/// heartbeats), so a join that timed out here (the stranger told matching is
/// paused) never queues anyone later, and a heartbeat that waited in a frozen
/// Redis cannot bring this instance back behind its back after the others
/// counted it dead.
const RUN_BY: Duration = Duration::from_millis(1_500);

/// At most this many messages for other instances are held while Redis cannot
/// take them, and none longer than the presence bound (by then the partner's
/// instance may have ended the chat): beyond either, what is held is dropped
/// and every chat across instances ends, on both sides, with "stranger left".
pub const MAX_HELD_MESSAGES: usize = 10_000;
/// See [`MAX_HELD_MESSAGES`].
pub const MAX_HELD_AGE: Duration = ALIVE_FOR.saturating_add(MISSING_GRACE);

/// The longest a join or leave waits for Redis (reconnecting, say) before it
/// counts as failed, so one stuck call cannot hold up the joins behind it.
const REDIS_PATIENCE: Duration = Duration::from_secs(2);

/// `call`, failed if it takes longer than `patience`.
async fn within<T>(
    patience: Duration,
    call: impl Future<Output = RedisResult<T>>,
) -> RedisResult<T> {
    tokio::time::timeout(patience, call)
        .await
        .unwrap_or_else(|_| {
            let late =
                std::io::Error::new(std::io::ErrorKind::TimedOut, "Redis did not answer in time");
            Err(late.into())
        })
}

/// At most this many reports wait for Redis; beyond it the oldest are dropped.
const MAX_HELD_REPORTS: usize = 1_000;

/// How long a stopping instance tries to deliver its last messages (the
/// goodbyes to partners elsewhere).
const LAST_DELIVERY: Duration = Duration::from_secs(2);

/// The cluster: runs until `shutdown`, then leaves the shared queue, tells
/// every partner on other instances that their stranger left, and returns.
///
/// Joins, leaves and the events from the inbox are handled one at a time in
/// one task, so a pairing is always seated before anything its partner sends.
pub async fn run(
    queue: SharedQueue,
    lobby: Lobby,
    sanctions: Sanctions,
    requests: RequestQueue,
    outgoing: mpsc::UnboundedReceiver<Outgoing>,
    shutdown: CancellationToken,
) {
    let (events_in, events) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_inbox(queue.clone(), events_in, shutdown.clone()));
    let presence = tokio::spawn(keep_alive(
        queue.clone(),
        lobby.clone(),
        sanctions.clone(),
        shutdown.clone(),
    ));
    let finish_relays = CancellationToken::new();
    let relays = tokio::spawn(relay(
        queue.clone(),
        lobby.clone(),
        outgoing,
        finish_relays.clone(),
    ));
    match_and_deliver(&queue, &lobby, &sanctions, requests, events, &shutdown).await;
    reader.abort();
    presence.abort();
    // Leaving: nobody elsewhere may be paired with our waiters any more, and
    // every partner elsewhere hears their stranger left.
    if let Err(error) = within(LAST_DELIVERY, queue.retire()).await {
        tracing::warn!(%error, "could not leave the shared queue");
    }
    lobby.end_chats_across_instances(Instant::now());
    finish_relays.cancel();
    let _ = relays.await;
}

/// Joins and leaves to the shared queue; pairings, messages and bans from the
/// inbox to the lobby; both in order, until `shutdown`.
async fn match_and_deliver(
    queue: &SharedQueue,
    lobby: &Lobby,
    sanctions: &Sanctions,
    mut requests: RequestQueue,
    mut events: mpsc::UnboundedReceiver<Event>,
    shutdown: &CancellationToken,
) {
    // After an error, joins are refused at once until this time (no waiting
    // on a Redis known to be away).
    let mut paused_until = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some((made, request)) = requests.recv() => match request {
                Request::Join(seeker, address) => {
                    let now = Instant::now();
                    // Paired, gone or left meanwhile (a leave follows): nothing to ask.
                    if lobby.place(seeker.id) != Some(Place::Waiting) {
                        continue;
                    }
                    if paused_until.is_some_and(|until| now < until)
                        || now.duration_since(made) > MAX_JOIN_AGE
                    {
                        lobby.matching_failed(seeker.id);
                        continue;
                    }
                    let deadline = std::time::SystemTime::now() + RUN_BY;
                    let joined = join(queue, lobby, sanctions, &seeker, address, deadline);
                    match within(REDIS_PATIENCE, joined).await {
                        Ok(()) => paused_until = None,
                        Err(error) => {
                            tracing::warn!(%error, "the shared queue is unreachable");
                            paused_until = Some(Instant::now() + RETRY);
                            lobby.matching_failed(seeker.id);
                        }
                    }
                }
                Request::Leave(id) => {
                    if let Err(error) = within(REDIS_PATIENCE, queue.leave(id)).await {
                        // Left in the queue, it is harmless: a pairing with it
                        // finds it gone here, and its partner asks again.
                        tracing::warn!(%error, "could not take a stranger out of the shared queue");
                    }
                }
            },
            Some(event) = events.recv() => match event {
                Event::Paired(pairing) => lobby.paired(pairing),
                Event::Relayed { from, to, message } => lobby.from_remote(from, to, message),
                Event::Banned { address, remaining } => sanctions.apply_ban(address, remaining),
                Event::Unbanned { address } => sanctions.apply_lift(address),
            },
        }
    }
}

/// Asks the shared queue for a partner for `seeker` (to be run by Redis before
/// `deadline`), and seats the pairing if one is made. If Redis forgot this instance, it comes back first (see
/// [`come_back`]) and asks once more.
async fn join(
    queue: &SharedQueue,
    lobby: &Lobby,
    sanctions: &Sanctions,
    seeker: &Seeker,
    address: Option<AddressKey>,
    deadline: std::time::SystemTime,
) -> RedisResult<()> {
    for _ in 0..2 {
        match queue.join_before(seeker, address, deadline).await? {
            SharedJoin::Waiting => return Ok(()),
            SharedJoin::Paired(pairing) => {
                lobby.paired(pairing);
                return Ok(());
            }
            SharedJoin::Late => {
                return Err(super::wire::unexpected("join", &["run after its deadline"]));
            }
            SharedJoin::Forgotten => {
                let asked = Instant::now();
                if !queue.heartbeat(ALIVE_FOR).await? {
                    come_back(queue, lobby, sanctions, asked).await?;
                }
            }
        }
    }
    Err(super::wire::unexpected("join", &["forgotten twice"]))
}

/// Writes messages and reports for other instances, in order, as they come;
/// holds them while Redis cannot take them, within [`MAX_HELD_MESSAGES`] and
/// [`MAX_HELD_AGE`]. After `finish`, delivers what is queued (for at most
/// [`LAST_DELIVERY`]) and returns.
async fn relay(
    queue: SharedQueue,
    lobby: Lobby,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    finish: CancellationToken,
) {
    let mut held = Held::default();
    let mut arrived = Vec::new();
    let mut next_try = Instant::now();
    loop {
        tokio::select! {
            biased;
            () = finish.cancelled() => break,
            count = outgoing.recv_many(&mut arrived, 256) => {
                if count == 0 {
                    break;
                }
                held.take(arrived.drain(..));
            }
            () = tokio::time::sleep_until(next_try), if !held.is_empty() => {}
        }
        if held.too_much() {
            tracing::warn!(
                held = held.messages.len(),
                "messages for other instances could not be delivered in time; \
                 ending the chats across instances"
            );
            held.drop_messages();
            lobby.end_chats_across_instances(Instant::now());
        }
        if Instant::now() >= next_try && !held.deliver(&queue, &lobby).await {
            next_try = Instant::now() + RETRY;
        }
    }
    while let Ok(last) = outgoing.try_recv() {
        held.take([last]);
    }
    let _ = tokio::time::timeout(LAST_DELIVERY, async {
        while !held.deliver(&queue, &lobby).await {
            tokio::time::sleep(RETRY).await;
        }
    })
    .await;
}

/// What the relay task has not delivered yet.
#[derive(Debug, Default)]
struct Held {
    /// Messages, oldest first.
    messages: Vec<Outbound>,
    /// Since when messages have been waiting: they go out together, so this
    /// is the oldest's age.
    since: Option<Instant>,
    /// Reports, filed once every message before them is delivered.
    reports: Vec<FiledReport>,
}

impl Held {
    fn take(&mut self, arrived: impl IntoIterator<Item = Outgoing>) {
        for outgoing in arrived {
            match outgoing {
                Outgoing::Relay(message) => {
                    self.since.get_or_insert_with(Instant::now);
                    self.messages.push(message);
                }
                Outgoing::Report(report) => self.reports.push(report),
            }
        }
        if self.reports.len() > MAX_HELD_REPORTS {
            let dropped = self.reports.len() - MAX_HELD_REPORTS;
            tracing::warn!(
                dropped,
                "too many reports waiting for Redis; dropped the oldest"
            );
            self.reports.drain(..dropped);
        }
    }

    fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.reports.is_empty()
    }

    /// Past [`MAX_HELD_MESSAGES`] or [`MAX_HELD_AGE`].
    fn too_much(&self) -> bool {
        self.messages.len() > MAX_HELD_MESSAGES
            || self
                .since
                .is_some_and(|since| since.elapsed() > MAX_HELD_AGE)
    }

    /// Drops the messages held.
    fn drop_messages(&mut self) {
        self.messages.clear();
        self.since = None;
    }

    /// Delivers the messages, then counts the reports; whether all went.
    /// A message for an instance that is gone ends the chats with its
    /// strangers at once: the sender hears the stranger left, instead of
    /// talking on into nothing until the instance is noticed dead.
    async fn deliver(&mut self, queue: &SharedQueue, lobby: &Lobby) -> bool {
        if !self.messages.is_empty() {
            match within(REDIS_PATIENCE, queue.send(&self.messages)).await {
                Ok(gone) => {
                    for instance in gone {
                        lobby.instance_died(&instance);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "could not reach Redis to relay; will retry");
                    return false;
                }
            }
            self.drop_messages();
        }
        count_reports(queue, &mut self.reports).await;
        self.reports.is_empty()
    }
}

/// Proves this instance alive every [`HEARTBEAT`], whatever else is waiting
/// for Redis. Cut off for longer than [`ALIVE_FOR`] (the others will count it
/// dead), it ends its chats across instances and pauses its waiters rather
/// than leave anyone in a chat or a queue that cannot go on.
async fn keep_alive(
    queue: SharedQueue,
    lobby: Lobby,
    sanctions: Sanctions,
    shutdown: CancellationToken,
) {
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut missing = Missing::default();
    let mut last_beat = Instant::now();
    let mut cut_off = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = heartbeat.tick() => {}
        }
        // With Sentinel, where the primary is, every beat: a failover is
        // followed as soon as Sentinel names the new primary. (Asking only
        // after a failed beat saved a connection a second, but came late
        // enough that the failover test's chat across instances always ended.)
        if let Err(error) = within(HEARTBEAT, queue.follow_primary()).await {
            tracing::warn!(%error, "could not ask Sentinel for the primary");
        }
        if beat_once(&queue, &lobby, &sanctions, &mut missing, cut_off).await {
            last_beat = Instant::now();
            cut_off = false;
        }
        if !cut_off && last_beat.elapsed() > ALIVE_FOR {
            cut_off = true;
            tracing::warn!("cut off from Redis: ending chats across instances, pausing matching");
            lobby.end_chats_across_instances(Instant::now());
            lobby.pause_matching();
        }
    }
}

/// Counts `reports` in Redis, oldest first, and empties it; on an error keeps
/// what is left for the next try. (The ban a report brings comes back through
/// the inbox, like a ban from any other instance.)
async fn count_reports(queue: &SharedQueue, reports: &mut Vec<FiledReport>) {
    while let Some(report) = reports.first() {
        match within(REDIS_PATIENCE, queue.report(report)).await {
            Ok(ban) => {
                if let Some(ban) = ban {
                    tracing::info!(?ban, "a network was banned after reports");
                }
                reports.remove(0);
            }
            Err(error) => {
                tracing::warn!(%error, "could not reach Redis to count a report; will retry");
                return;
            }
        }
    }
}

/// Applies every ban in force in Redis here: for an instance that may have
/// missed some being told.
async fn catch_up_on_bans(queue: &SharedQueue, sanctions: &Sanctions) -> RedisResult<()> {
    for (address, remaining) in queue.bans().await? {
        sanctions.apply_ban(address, remaining);
    }
    Ok(())
}

/// Reads this instance's inbox into `events` until shutdown, reconnecting
/// after errors.
async fn read_inbox(
    queue: SharedQueue,
    events: mpsc::UnboundedSender<Event>,
    shutdown: CancellationToken,
) {
    // The bans in force before this instance was listed (those told since
    // are in its inbox).
    loop {
        match queue.bans().await {
            Ok(bans) => {
                for (address, remaining) in bans {
                    let _ = events.send(Event::Banned { address, remaining });
                }
                break;
            }
            Err(error) => tracing::warn!(%error, "could not read the bans in force; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
    let mut inbox = queue.inbox();
    loop {
        let read = tokio::select! {
            () = shutdown.cancelled() => return,
            read = inbox.next(HEARTBEAT) => read,
        };
        match read {
            Ok(arrived) => {
                for event in arrived {
                    if events.send(event).is_err() {
                        return;
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the inbox; will retry");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// One [`beat`], bounded in time; whether it went through.
async fn beat_once(
    queue: &SharedQueue,
    lobby: &Lobby,
    sanctions: &Sanctions,
    missing: &mut Missing,
    cut_off: bool,
) -> bool {
    let beat = beat(queue, lobby, sanctions, missing, cut_off);
    match within(HEARTBEAT * 2, beat).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "could not reach Redis for the heartbeat");
            false
        }
    }
}

/// Redis did not know this instance when asked at `asked` (it restarted empty,
/// or counted this instance dead; the heartbeat just made it known again).
/// Chats across instances that began before then end on both sides rather
/// than go on one-sided; the bans told meanwhile are caught up on; the
/// strangers waiting here are queued again.
async fn come_back(
    queue: &SharedQueue,
    lobby: &Lobby,
    sanctions: &Sanctions,
    asked: Instant,
) -> RedisResult<()> {
    lobby.end_chats_across_instances(asked);
    if queue
        .share_address_secret(sanctions.gate().secret())
        .await?
        != sanctions.gate().secret()
    {
        tracing::warn!(
            "Redis holds another address secret than this instance's (an instance started \
             while Redis had lost it): bans reach instances that hash alike until this one \
             restarts"
        );
    }
    catch_up_on_bans(queue, sanctions).await?;
    lobby.ask_again_for_waiters();
    Ok(())
}

/// Since when each instance our strangers' partners are on has been missing.
/// An instance counts as dead only once missing for [`MISSING_GRACE`]: after
/// Redis restarts, every instance is missing until its next heartbeat.
#[derive(Debug, Default)]
struct Missing(HashMap<String, Instant>);

/// See [`Missing`].
pub const MISSING_GRACE: Duration = Duration::from_secs(2);

/// One heartbeat: alive again for [`ALIVE_FOR`]; our waiters queued again if
/// Redis had forgotten them, or if this instance was `cut_off` (it told them
/// matching paused, so Redis drops what it held of them); interest timeouts
/// and dead instances swept; the online count shared; partners on dead
/// instances noticed.
async fn beat(
    queue: &SharedQueue,
    lobby: &Lobby,
    sanctions: &Sanctions,
    missing: &mut Missing,
    cut_off: bool,
) -> RedisResult<()> {
    let asked = Instant::now();
    let deadline = std::time::SystemTime::now() + RUN_BY;
    if !queue.heartbeat_before(ALIVE_FOR, cut_off, deadline).await? {
        come_back(queue, lobby, sanctions, asked).await?;
    } else if cut_off {
        // Still known (Redis ran our heartbeats, but their answers came too
        // late): the chats across instances ended when we were cut off, and
        // whoever asked for someone since is queued again.
        lobby.ask_again_for_waiters();
    }
    queue.tick().await?;
    let here = lobby.online();
    let everywhere = queue.online(here).await? as usize;
    lobby.set_online_elsewhere(everywhere.saturating_sub(here));
    let now = Instant::now();
    let instances = lobby.remote_instances();
    missing.0.retain(|instance, _| instances.contains(instance));
    for instance in instances {
        if queue.is_alive(&instance).await? {
            missing.0.remove(&instance);
            continue;
        }
        let since = *missing.0.entry(instance.clone()).or_insert(now);
        if now.duration_since(since) >= MISSING_GRACE {
            lobby.instance_died(&instance);
            missing.0.remove(&instance);
        }
    }
    Ok(())
}
