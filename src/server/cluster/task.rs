//! The cluster task: carries the lobby's requests to the shared queue and
//! messages to other instances, brings back pairings, messages and bans, and
//! keeps this instance's presence alive.

use std::collections::HashMap;
use std::time::Duration;

use redis::RedisResult;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::inbox::Inbox;
use super::queue::{SharedJoin, SharedQueue};
use super::wire::Event;
use crate::server::apply_ban;
use crate::server::lobby::Lobby;
use crate::server::moderation::FiledReport;
use crate::server::network::Gatekeeper;
use crate::server::seam::{Outbound, Request};

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

/// The cluster task: carries the lobby's requests to the shared queue and
/// messages to other instances, and brings back pairings and messages from them.
///
/// Requests, and events from the inbox, are handled one at a time in this
/// task, so a pairing is always seated before anything its partner sends.
pub async fn run(
    queue: SharedQueue,
    lobby: Lobby,
    gate: Gatekeeper,
    mut requests: mpsc::UnboundedReceiver<Request>,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
    shutdown: CancellationToken,
) {
    let (events_in, mut events) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_inbox(queue.clone(), events_in, shutdown.clone()));
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Messages for other instances not yet written (Redis unreachable); new
    // ones wait behind them, so order holds.
    let mut batch = Vec::new();
    let mut retry = tokio::time::interval(RETRY);
    let mut missing = Missing::default();
    // Reports not yet counted (Redis unreachable), tried again each heartbeat.
    let mut reports = Vec::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(request) = requests.recv() => match request {
                Request::Join(seeker, address) => match queue.join(&seeker, address).await {
                    Ok(SharedJoin::Waiting) => {}
                    Ok(SharedJoin::Paired(pairing)) => lobby.paired(pairing),
                    Err(error) => {
                        tracing::warn!(%error, "the shared queue is unreachable");
                        lobby.matching_failed(seeker.id);
                    }
                },
                Request::Leave(id) => {
                    if let Err(error) = queue.leave(id).await {
                        // Left in the queue, it is harmless: a pairing with it
                        // finds it gone here, and its partner asks again.
                        tracing::warn!(%error, "could not take a stranger out of the shared queue");
                    }
                }
                Request::Report(report) => {
                    // What the chat's end sent the reported partner goes first,
                    // so they hear "stranger left" before any ban.
                    while let Ok(message) = outbound.try_recv() {
                        batch.push(message);
                    }
                    if !batch.is_empty() {
                        send_batch(&queue, &mut batch).await;
                    }
                    reports.push(report);
                    count_reports(&queue, &mut reports).await;
                }
            },
            Some(event) = events.recv() => match event {
                Event::Paired(pairing) => lobby.paired(pairing),
                Event::Relayed { from, to, message } => lobby.from_remote(from, to, message),
                Event::Banned { address, remaining } => apply_ban(&lobby, &gate, address, remaining),
                Event::Unbanned { address } => gate.unban(address),
            },
            count = outbound.recv_many(&mut batch, 256), if batch.is_empty() => {
                if count == 0 {
                    break;
                }
                send_batch(&queue, &mut batch).await;
            }
            _ = retry.tick(), if !batch.is_empty() => send_batch(&queue, &mut batch).await,
            _ = heartbeat.tick() => {
                if let Err(error) = beat(&queue, &lobby, &gate, &mut missing).await {
                    tracing::warn!(%error, "could not reach Redis for the heartbeat");
                }
                count_reports(&queue, &mut reports).await;
            }
        }
    }
    reader.abort();
}

/// Counts `reports` in Redis, oldest first, and empties it; on an error keeps
/// what is left for the next try. (The ban a report brings comes back through
/// the inbox, like a ban from any other instance.)
async fn count_reports(queue: &SharedQueue, reports: &mut Vec<FiledReport>) {
    while let Some(report) = reports.first() {
        match queue.report(report).await {
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
async fn catch_up_on_bans(
    queue: &SharedQueue,
    lobby: &Lobby,
    gate: &Gatekeeper,
) -> RedisResult<()> {
    for (address, remaining) in queue.bans().await? {
        apply_ban(lobby, gate, address, remaining);
    }
    Ok(())
}

/// Writes `batch` to the other instances' inboxes and empties it; on an error
/// keeps it for the next try.
async fn send_batch(queue: &SharedQueue, batch: &mut Vec<Outbound>) {
    match queue.send(batch).await {
        Ok(()) => batch.clear(),
        Err(error) => tracing::warn!(%error, "could not reach Redis to relay; will retry"),
    }
}

/// Reads this instance's inbox into `events` until shutdown, reconnecting
/// after errors.
async fn read_inbox(
    queue: SharedQueue,
    events: mpsc::UnboundedSender<Event>,
    shutdown: CancellationToken,
) {
    let mut inbox = loop {
        match open_inbox(&queue, &events).await {
            Ok(inbox) => break inbox,
            Err(error) => tracing::warn!(%error, "could not open the inbox; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    };
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

/// Opens this instance's inbox, then passes on the bans already in force:
/// those told between this instance being listed and its inbox opening would
/// be missed otherwise.
async fn open_inbox(
    queue: &SharedQueue,
    events: &mpsc::UnboundedSender<Event>,
) -> RedisResult<Inbox> {
    let inbox = queue.inbox().await?;
    for (address, remaining) in queue.bans().await? {
        let _ = events.send(Event::Banned { address, remaining });
    }
    Ok(inbox)
}

/// Since when each instance our strangers' partners are on has been missing.
/// An instance counts as dead only once missing for [`MISSING_GRACE`]: after
/// Redis restarts, every instance is missing until its next heartbeat.
#[derive(Debug, Default)]
struct Missing(HashMap<String, tokio::time::Instant>);

/// See [`Missing`].
pub const MISSING_GRACE: Duration = Duration::from_secs(2);

/// One heartbeat: alive again for [`ALIVE_FOR`]; our waiters queued again if
/// Redis had forgotten them; interest timeouts and dead instances swept; the
/// online count shared; partners on dead instances noticed.
async fn beat(
    queue: &SharedQueue,
    lobby: &Lobby,
    gate: &Gatekeeper,
    missing: &mut Missing,
) -> RedisResult<()> {
    if !queue.heartbeat(ALIVE_FOR).await? {
        // Counted dead (its inbox swept, bans told meanwhile lost) or Redis
        // restarted empty (the address secret lost too). Chats across
        // instances end on both sides rather than go on one-sided.
        lobby.forgotten();
        if queue.share_address_secret(gate.secret()).await? != gate.secret() {
            tracing::warn!(
                "Redis holds another address secret than this instance's (an instance started \
                 while Redis had lost it): bans reach instances that hash alike until this one \
                 restarts"
            );
        }
        catch_up_on_bans(queue, lobby, gate).await?;
        for (seeker, address) in lobby.waiting_seekers() {
            match queue.join(&seeker, address).await? {
                SharedJoin::Waiting => {}
                SharedJoin::Paired(pairing) => lobby.paired(pairing),
            }
        }
    }
    queue.tick().await?;
    let here = lobby.online();
    let everywhere = queue.online(here).await? as usize;
    lobby.set_online_elsewhere(everywhere.saturating_sub(here));
    let now = tokio::time::Instant::now();
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
