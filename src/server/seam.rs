//! What crosses between the lobby (and its rooms) and the cluster task: the
//! requests the lobby makes, the pairings and messages the task brings back,
//! and the link rooms use to reach partners on other instances. A leaf module:
//! `lobby` and `room` import it instead of `cluster`, so `cluster` is the only
//! one of them that knows the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::matchmaker::Seeker;
use super::moderation::FiledReport;
use super::network::AddressKey;
use super::stranger::StrangerId;
use crate::protocol::{Mode, ServerMessage};

/// What the lobby asks of the shared queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Find this stranger (connected from this network) a partner on any
    /// instance, or queue them.
    Join(Seeker, Option<AddressKey>),
    /// Take this stranger out of the shared queue.
    Leave(StrangerId),
}

/// How many joins may wait for Redis at once: beyond this (Redis slow or
/// away while strangers keep arriving) a join is refused at once with
/// "matching paused" instead of queueing without bound.
pub const MAX_PENDING_JOINS: usize = 10_000;

/// The lobby's side of the cluster: its instance's name, and the queues to the
/// cluster task (requests, and messages for partners on other instances).
#[derive(Debug, Clone)]
pub struct ClusterSide {
    /// This instance's name.
    pub instance: String,
    /// Joins and leaves, handled in order.
    pub requests: Requests,
    /// Messages for partners on other instances, and reports.
    pub link: Link,
}

/// The lobby's queue of [`Request`]s to the cluster task, each stamped with
/// when it was made. Joins are capped in number ([`MAX_PENDING_JOINS`]);
/// leaves always go through (there are never more than joins before them).
#[derive(Debug, Clone)]
pub struct Requests {
    sender: mpsc::UnboundedSender<(Instant, Request)>,
    pending_joins: Arc<AtomicUsize>,
}

/// The cluster task's end of [`Requests`].
#[derive(Debug)]
pub struct RequestQueue {
    receiver: mpsc::UnboundedReceiver<(Instant, Request)>,
    pending_joins: Arc<AtomicUsize>,
}

impl Requests {
    /// A queue of requests, and the end the cluster task reads.
    pub fn new() -> (Requests, RequestQueue) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let pending_joins = Arc::new(AtomicUsize::new(0));
        let requests = Requests {
            sender,
            pending_joins: pending_joins.clone(),
        };
        (
            requests,
            RequestQueue {
                receiver,
                pending_joins,
            },
        )
    }

    /// Queues `request`; false if it is a join and [`MAX_PENDING_JOINS`] are
    /// already waiting, or if the cluster task is gone.
    pub fn send(&self, request: Request) -> bool {
        let join = matches!(request, Request::Join(..));
        if join && self.pending_joins.fetch_add(1, Ordering::Relaxed) >= MAX_PENDING_JOINS {
            self.pending_joins.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        let sent = self.sender.send((Instant::now(), request)).is_ok();
        if join && !sent {
            self.pending_joins.fetch_sub(1, Ordering::Relaxed);
        }
        sent
    }
}

impl RequestQueue {
    /// The next request and when it was made; `None` once the lobby is gone.
    pub async fn recv(&mut self) -> Option<(Instant, Request)> {
        let taken = self.receiver.recv().await;
        self.taken(taken)
    }

    /// The next request if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<(Instant, Request)> {
        let taken = self.receiver.try_recv().ok();
        self.taken(taken)
    }

    fn taken(&self, taken: Option<(Instant, Request)>) -> Option<(Instant, Request)> {
        if let Some((_, Request::Join(..))) = &taken {
            self.pending_joins.fetch_sub(1, Ordering::Relaxed);
        }
        taken
    }
}

/// A message for a stranger connected to another instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// The instance the stranger is connected to.
    pub instance: String,
    /// Their partner here, so a late message from an earlier chat is recognised.
    pub from: StrangerId,
    /// Who it is for.
    pub to: StrangerId,
    /// What to tell them.
    pub message: ServerMessage,
}

/// What goes out through the [`Link`], in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A message for a stranger on another instance.
    Relay(Outbound),
    /// A report to file and count. It travels behind the messages queued
    /// before it, so a reported partner hears "stranger left" before any ban.
    Report(FiledReport),
}

/// How rooms reach partners on other instances without waiting: each message is
/// queued for this instance's relay task, which writes them, in order, to the
/// partner instance's inbox. The channel itself is unbounded because a room
/// must never block or drop one message silently; the relay task drains it
/// at once and holds what Redis cannot take yet within caps in count and age
/// (see `cluster::task`), beyond which the chats across instances end.
#[derive(Debug, Clone)]
pub struct Link(mpsc::UnboundedSender<Outgoing>);

impl Link {
    /// A link, and the receiving end the relay task drains.
    pub fn new() -> (Link, mpsc::UnboundedReceiver<Outgoing>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Link(sender), receiver)
    }

    /// Queues `message`; false if the relay task is gone (the server is stopping).
    pub fn send(&self, message: Outbound) -> bool {
        self.0.send(Outgoing::Relay(message)).is_ok()
    }

    /// Queues a report behind the messages already queued.
    pub fn report(&self, report: FiledReport) -> bool {
        self.0.send(Outgoing::Report(report)).is_ok()
    }
}

/// One side of a pairing: who the partner is and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Our stranger.
    pub me: StrangerId,
    /// Their partner.
    pub partner: StrangerId,
    /// The instance the partner is connected to.
    pub partner_instance: String,
    /// The partner's network, should our stranger report them.
    pub partner_address: Option<AddressKey>,
    /// The mode both asked for.
    pub mode: Mode,
    /// How long our stranger waited.
    pub waited: Duration,
    /// How long the partner waited, when we made the pairing (else zero: the
    /// partner's instance counts it).
    pub partner_waited: Duration,
    /// The interests both listed.
    pub common_interests: Vec<String>,
    /// Whether our stranger starts the video call (the one who joined last).
    pub offers: bool,
}
