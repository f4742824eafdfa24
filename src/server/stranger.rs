//! A stranger: one person's WebSocket connection, as the rest of the server sees it.

use std::fmt;
use std::sync::{Arc, OnceLock};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::network::AddressKey;
use crate::protocol::ServerMessage;

/// How many messages may wait for one stranger's socket before we decide the
/// browser has stopped reading. Bounded so one slow reader cannot grow the
/// server's memory or hold up delivery to anyone else.
pub const OUTBOX_CAPACITY: usize = 256;

/// A stranger's identity on this server: random, so it says nothing about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrangerId(Uuid);

impl StrangerId {
    /// A fresh random id.
    pub fn new() -> Self {
        StrangerId(Uuid::new_v4())
    }
}

impl std::str::FromStr for StrangerId {
    type Err = uuid::Error;

    /// Reads an id written by [`Display`](fmt::Display), e.g. by another instance.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text).map(StrangerId)
    }
}

impl Default for StrangerId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for StrangerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The handle other parts of the server use to reach one stranger. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Stranger {
    /// Who this is.
    id: StrangerId,
    /// The bounded queue drained by the task that owns the socket's sending side.
    outbox: flume::Sender<Outgoing>,
    /// Cancelled to make the connection close itself, e.g. when its outbox overflows.
    kick: CancellationToken,
    /// Why it was kicked; the first reason given wins.
    kick_reason: Arc<OnceLock<Kick>>,
    /// The network address it came from, as a keyed hash (for reports and bans).
    address: Option<AddressKey>,
}

/// Why the server closes a stranger's connection on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// The browser stopped reading and its outbox filled up.
    TooSlow,
    /// Its network was banned; the ban notice is in the outbox.
    Banned,
}

/// A message waiting in a stranger's outbox, and since when it has been on its
/// way (for the relay time in the metrics).
#[derive(Debug)]
pub struct Outgoing {
    /// What to send.
    pub message: ServerMessage,
    /// When it arrived at the server (a relayed message) or was made.
    pub since: Instant,
}

/// The receiving end of a stranger's outbox, drained by the connection's writer.
#[derive(Debug)]
pub struct Inbox(flume::Receiver<Outgoing>);

impl Inbox {
    /// The next message, once there is one; `None` once every sender is gone.
    /// Cancel-safe: a message is taken only when this returns it.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        self.0.recv_async().await.ok()
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Result<ServerMessage, flume::TryRecvError> {
        self.0.try_recv().map(|outgoing| outgoing.message)
    }
}

/// A bounded outbox of `capacity` messages: the sending half for a [`Stranger`],
/// the receiving half for the connection's writer.
///
/// Its memory grows with what is queued, not with `capacity`: most strangers have
/// nothing waiting most of the time, and 19,000 of them share one server.
pub fn outbox(capacity: usize) -> (flume::Sender<Outgoing>, Inbox) {
    let (sender, receiver) = flume::bounded(capacity);
    (sender, Inbox(receiver))
}

/// What happened to a message handed to [`Stranger::deliver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Queued for the socket, behind everything queued before it.
    Queued,
    /// The stranger is not reading; the connection has been told to close.
    Overflowed,
    /// The connection is already gone.
    Gone,
}

impl Stranger {
    /// A new stranger with a fresh id, reached through `outbox`.
    pub fn new(outbox: flume::Sender<Outgoing>, kick: CancellationToken) -> Self {
        Stranger {
            id: StrangerId::new(),
            outbox,
            kick,
            kick_reason: Arc::default(),
            address: None,
        }
    }

    /// The same stranger, known to come from `address`.
    pub fn from_address(self, address: AddressKey) -> Self {
        Stranger {
            address: Some(address),
            ..self
        }
    }

    /// This stranger's id.
    pub fn id(&self) -> StrangerId {
        self.id
    }

    /// The network address it came from, as a keyed hash, if known.
    pub fn address(&self) -> Option<AddressKey> {
        self.address
    }

    /// Makes the connection close itself for `reason`.
    pub fn kick(&self, reason: Kick) {
        let _ = self.kick_reason.set(reason);
        self.kick.cancel();
    }

    /// Why the connection was kicked, once it has been.
    pub fn kicked_for(&self) -> Option<Kick> {
        self.kick_reason.get().copied()
    }

    /// Queues `message` for this stranger without waiting, so it is safe under a lock.
    /// A full queue means the browser stopped reading: rather than slow everyone
    /// else down, that connection is closed.
    pub fn deliver(&self, message: ServerMessage) -> Delivery {
        self.deliver_since(message, Instant::now())
    }

    /// [`deliver`](Self::deliver) for a message on its way since `since`.
    pub fn deliver_since(&self, message: ServerMessage, since: Instant) -> Delivery {
        match self.outbox.try_send(Outgoing { message, since }) {
            Ok(()) => Delivery::Queued,
            Err(flume::TrySendError::Full(_)) => {
                self.kick(Kick::TooSlow);
                Delivery::Overflowed
            }
            Err(flume::TrySendError::Disconnected(_)) => Delivery::Gone,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stranger whose outbox the test can read.
    pub(crate) fn stranger() -> (Stranger, Inbox) {
        let (tx, rx) = outbox(OUTBOX_CAPACITY);
        (Stranger::new(tx, CancellationToken::new()), rx)
    }

    #[test]
    fn user_creation() {
        let (alice, mut alice_rx) = stranger();
        let (bob, _bob_rx) = stranger();
        assert_ne!(alice.id(), bob.id(), "every stranger gets their own id");
        assert_eq!(
            alice.clone().id(),
            alice.id(),
            "a handle keeps its identity"
        );

        assert_eq!(alice.deliver(ServerMessage::Waiting), Delivery::Queued);
        assert_eq!(alice_rx.try_recv().ok(), Some(ServerMessage::Waiting));
    }

    #[test]
    fn a_stranger_who_stops_reading_is_kicked_not_waited_for() {
        let (tx, _rx) = outbox(2);
        let kick = CancellationToken::new();
        let slow = Stranger::new(tx, kick.clone());
        assert_eq!(slow.deliver(ServerMessage::Waiting), Delivery::Queued);
        assert_eq!(
            slow.deliver(ServerMessage::Typing { typing: true }),
            Delivery::Queued
        );
        assert!(!kick.is_cancelled());
        assert_eq!(
            slow.deliver(ServerMessage::StrangerLeft),
            Delivery::Overflowed
        );
        assert!(kick.is_cancelled());
        assert_eq!(slow.kicked_for(), Some(Kick::TooSlow));
    }

    #[test]
    fn delivering_to_a_closed_connection_reports_it_gone() {
        let (gone, rx) = stranger();
        drop(rx);
        assert_eq!(gone.deliver(ServerMessage::Waiting), Delivery::Gone);
    }
}
