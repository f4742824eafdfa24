//! What crosses between the lobby (and its rooms) and the cluster task: the
//! requests the lobby makes, the pairings and messages the task brings back,
//! and the link rooms use to reach partners on other instances. A leaf module:
//! `lobby` and `room` import it instead of `cluster`, so `cluster` is the only
//! one of them that knows the others.

use std::time::Duration;

use tokio::sync::mpsc;

use super::matchmaker::Seeker;
use super::moderation::FiledReport;
use super::network::AddressKey;
use super::stranger::StrangerId;
use crate::protocol::{Mode, ServerMessage};

/// What the lobby asks of the cluster task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Find this stranger (connected from this network) a partner on any
    /// instance, or queue them.
    Join(Seeker, Option<AddressKey>),
    /// Take this stranger out of the shared queue.
    Leave(StrangerId),
    /// File a report for the operator and count it against the reported network.
    Report(FiledReport),
}

/// The lobby's side of the cluster: its instance's name, and the queues to the
/// cluster task (requests, and messages for partners on other instances).
#[derive(Debug, Clone)]
pub struct ClusterSide {
    /// This instance's name.
    pub instance: String,
    /// Joins and leaves, handled in order.
    pub requests: mpsc::UnboundedSender<Request>,
    /// Messages for partners on other instances.
    pub link: Link,
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

/// How rooms reach partners on other instances without waiting: each message is
/// queued for this instance's cluster task, which writes them, in order, to the
/// partner instance's inbox. Unbounded because a room must never drop a message;
/// what can be queued is bounded by every stranger's rate limits.
#[derive(Debug, Clone)]
pub struct Link(mpsc::UnboundedSender<Outbound>);

impl Link {
    /// A link, and the receiving end the cluster task drains.
    pub fn new() -> (Link, mpsc::UnboundedReceiver<Outbound>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Link(sender), receiver)
    }

    /// Queues `message`; false if the cluster task is gone (the server is stopping).
    pub fn send(&self, message: Outbound) -> bool {
        self.0.send(message).is_ok()
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
