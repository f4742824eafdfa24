//! A stranger: one person's WebSocket connection, as the rest of the server sees it.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::network::AddressKey;
use crate::protocol::{CallSignal, ServerMessage};

/// How many messages may wait for one stranger's socket before we decide the
/// browser has stopped reading. Bounded so one slow reader cannot grow the
/// server's memory or hold up delivery to anyone else.
pub const OUTBOX_CAPACITY: usize = 256;

/// How many bytes of messages may wait for one stranger's socket. Messages
/// are small, but a call setup step may be 16 KiB: without this, a partner
/// sending a stream of those could pin 4 MiB per victim before the count
/// above is reached, and get a victim on a slow link cut off.
pub const OUTBOX_BYTES: usize = 256 * 1024;

/// A stranger's identity on this server: random, so it says nothing about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrangerId(Uuid);

impl StrangerId {
    /// A fresh random id.
    pub fn new() -> Self {
        StrangerId(Uuid::new_v4())
    }

    /// The id's 16 bytes (for franking stamps).
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
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
    outbox: Outbox,
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
    /// What it counts against [`OUTBOX_BYTES`].
    weight: usize,
}

/// The sending half of a stranger's outbox.
#[derive(Debug, Clone)]
pub struct Outbox {
    sender: flume::Sender<Outgoing>,
    /// Bytes queued and not yet taken by the writer.
    queued: Arc<AtomicUsize>,
    /// The most bytes that may be queued.
    max_bytes: usize,
}

/// The receiving end of a stranger's outbox, drained by the connection's writer.
#[derive(Debug)]
pub struct Inbox {
    receiver: flume::Receiver<Outgoing>,
    queued: Arc<AtomicUsize>,
}

impl Inbox {
    /// The next message, once there is one; `None` once every sender is gone.
    /// Cancel-safe: a message is taken only when this returns it.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        let outgoing = self.receiver.recv_async().await.ok()?;
        Some(self.took(outgoing))
    }

    /// The next message and its arrival time, if one is waiting.
    pub fn try_take(&mut self) -> Option<Outgoing> {
        let outgoing = self.receiver.try_recv().ok()?;
        Some(self.took(outgoing))
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Result<ServerMessage, flume::TryRecvError> {
        let outgoing = self.receiver.try_recv()?;
        Ok(self.took(outgoing).message)
    }

    /// `outgoing`, taken from the queue: it no longer counts against its bytes.
    fn took(&self, outgoing: Outgoing) -> Outgoing {
        self.queued.fetch_sub(outgoing.weight, Ordering::Relaxed);
        outgoing
    }
}

/// A bounded outbox of `capacity` messages and [`OUTBOX_BYTES`]: the sending
/// half for a [`Stranger`], the receiving half for the connection's writer.
///
/// Its memory grows with what is queued, not with `capacity`: most strangers have
/// nothing waiting most of the time, and 19,000 of them share one server.
pub fn outbox(capacity: usize) -> (Outbox, Inbox) {
    outbox_of(capacity, OUTBOX_BYTES)
}

/// [`outbox`] holding at most `max_bytes`.
pub fn outbox_of(capacity: usize, max_bytes: usize) -> (Outbox, Inbox) {
    let (sender, receiver) = flume::bounded(capacity);
    let queued = Arc::new(AtomicUsize::new(0));
    (
        Outbox {
            sender,
            queued: queued.clone(),
            max_bytes,
        },
        Inbox { receiver, queued },
    )
}

/// About how many bytes `message` takes on the wire: its text, plus a little
/// for the JSON around it.
fn weight(message: &ServerMessage) -> usize {
    const FRAME: usize = 64;
    FRAME
        + match message {
            ServerMessage::Message { text } => text.len(),
            ServerMessage::Signal { signal } => match signal {
                CallSignal::Offer { sdp } | CallSignal::Answer { sdp } => sdp.len(),
                CallSignal::Candidate {
                    candidate, sdp_mid, ..
                } => candidate.len() + sdp_mid.as_ref().map_or(0, String::len),
            },
            ServerMessage::Paired {
                common_interests,
                call,
                common_language,
            } => {
                common_interests.iter().map(String::len).sum::<usize>()
                    + common_language.as_ref().map_or(0, String::len)
                    + call.as_ref().map_or(0, |call| 256 * call.ice_servers.len())
            }
            _ => 0,
        }
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
    pub fn new(outbox: Outbox, kick: CancellationToken) -> Self {
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
        let outbox = &self.outbox;
        let weight = weight(&message);
        let before = outbox.queued.fetch_add(weight, Ordering::Relaxed);
        if before > 0 && before + weight > outbox.max_bytes {
            outbox.queued.fetch_sub(weight, Ordering::Relaxed);
            if outbox.sender.is_disconnected() {
                return Delivery::Gone;
            }
            self.kick(Kick::TooSlow);
            return Delivery::Overflowed;
        }
        let outgoing = Outgoing {
            message,
            since,
            weight,
        };
        match outbox.sender.try_send(outgoing) {
            Ok(()) => Delivery::Queued,
            Err(error) => {
                outbox.queued.fetch_sub(weight, Ordering::Relaxed);
                match error {
                    flume::TrySendError::Full(_) => {
                        self.kick(Kick::TooSlow);
                        Delivery::Overflowed
                    }
                    flume::TrySendError::Disconnected(_) => Delivery::Gone,
                }
            }
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
    fn a_stranger_who_stops_reading_large_messages_is_kicked_long_before_the_count() {
        let (tx, mut rx) = outbox(OUTBOX_CAPACITY);
        let slow = Stranger::new(tx, CancellationToken::new());
        let offer = || ServerMessage::Signal {
            signal: CallSignal::Offer {
                sdp: "x".repeat(16 * 1024),
            },
        };
        let fits = OUTBOX_BYTES / (16 * 1024 + 64);
        for _ in 0..fits {
            assert_eq!(slow.deliver(offer()), Delivery::Queued);
        }
        assert_eq!(slow.deliver(offer()), Delivery::Overflowed);
        assert_eq!(slow.kicked_for(), Some(Kick::TooSlow));
        assert!(fits < 20, "{fits} offers of 16 KiB, not 256");

        let (tx, mut rx_ok) = outbox(OUTBOX_CAPACITY);
        let reader = Stranger::new(tx, CancellationToken::new());
        for _ in 0..fits * 10 {
            assert_eq!(reader.deliver(offer()), Delivery::Queued);
            assert!(rx_ok.try_recv().is_ok(), "one that reads is never cut off");
        }
        drop(rx.try_recv());
    }

    #[test]
    fn one_message_bigger_than_the_cap_still_goes_to_an_empty_outbox() {
        let (tx, mut rx) = outbox_of(OUTBOX_CAPACITY, 100);
        let stranger = Stranger::new(tx, CancellationToken::new());
        let big = ServerMessage::Message {
            text: "x".repeat(500),
        };
        assert_eq!(stranger.deliver(big.clone()), Delivery::Queued);
        assert_eq!(rx.try_recv(), Ok(big));
    }

    #[test]
    fn delivering_to_a_closed_connection_reports_it_gone() {
        let (gone, rx) = stranger();
        drop(rx);
        assert_eq!(gone.deliver(ServerMessage::Waiting), Delivery::Gone);
    }
}
