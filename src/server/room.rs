//! A room: the strangers chatting together, and the relay between them.

use std::fmt;

use tokio::time::Instant;
use uuid::Uuid;

use super::franking;
use super::network::AddressKey;
use super::seam::{Link, Outbound};
use super::stranger::{Stranger, StrangerId};
use crate::protocol::{CallSignal, Mode, ServerMessage};

/// Identifies one chat; a new room is made for every pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomId(Uuid);

impl RoomId {
    /// A fresh random id.
    pub fn new() -> Self {
        RoomId(Uuid::new_v4())
    }

    /// The id's 16 bytes (for franking stamps).
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl Default for RoomId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One chat. Two members for a text chat; the type allows more for group modes.
///
/// A room never waits: relaying only queues onto each member's bounded outbox,
/// so it is safe to use under the lobby's lock.
#[derive(Debug)]
pub struct Room {
    /// Who this chat is.
    id: RoomId,
    /// Text, or video (where the members may exchange call setup steps).
    mode: Mode,
    /// The members connected to this instance, in the order they joined.
    members: Vec<Stranger>,
    /// A partner connected to another instance (with `--redis-url`).
    remote: Option<RemotePartner>,
    /// When the chat began: a report of a chat this young counts toward a ban
    /// only if the reported stranger sent something.
    opened: Instant,
    /// Who has sent something: a message, or a call's offer or answer (their
    /// camera). Few entries: the members of one chat.
    senders: Vec<StrangerId>,
    /// Call offers and answers relayed so far; a call needs a handful.
    descriptions: u16,
    /// Question mode: the member who asked the question and reads along, until they
    /// stop. They hear the others as "discusser 1" and "discusser 2", and
    /// cannot write.
    reader: Option<StrangerId>,
    /// Who has offered their end-to-end encryption key: once each a chat.
    keyed: Vec<StrangerId>,
}

/// The most offers and answers one video chat may relay. Setting up a call
/// takes one of each, and renegotiating (a restart after a network change)
/// a few more; a stream of junk offers would only pin the partner's memory.
pub const MAX_DESCRIPTIONS_PER_CALL: u16 = 16;

/// What a report needs to know about the chat it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatFacts {
    /// How long the chat lasted.
    pub lasted: std::time::Duration,
    /// Whether the reported stranger sent anything.
    pub reported_sent: bool,
}

/// A member of a room who is connected to another instance.
#[derive(Debug, Clone)]
pub struct RemotePartner {
    /// Who.
    pub id: StrangerId,
    /// The instance they are connected to.
    pub instance: String,
    /// Their network, should they be reported.
    pub address: Option<AddressKey>,
    /// The way to reach it.
    pub link: Link,
}

/// A message was aimed at a room by someone who is not in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAMember;

impl Room {
    /// An empty text room with a fresh id.
    pub fn new() -> Self {
        Self::for_mode(Mode::Text)
    }

    /// An empty room for a chat in `mode`, with a fresh id.
    pub fn for_mode(mode: Mode) -> Self {
        Room {
            id: RoomId::new(),
            mode,
            members: Vec::with_capacity(2),
            remote: None,
            opened: Instant::now(),
            senders: Vec::new(),
            descriptions: 0,
            reader: None,
            keyed: Vec::new(),
        }
    }

    /// Adds the member who asked this room's question, who reads along. (A
    /// discussion is a text room with a reader; the lobby tells everyone the
    /// question as it seats them.)
    pub fn add_reader(&mut self, stranger: Stranger) {
        self.reader = Some(stranger.id());
        self.add(stranger);
    }

    /// Whether `id` asked this room's question and reads along.
    pub fn is_reader(&self, id: StrangerId) -> bool {
        self.reader == Some(id)
    }

    /// Which discusser `id` is in a discussion (1 or 2, in the order they
    /// were seated); `None` for the reader, or with no reader (outside a
    /// discussion, or once its reader left: then nobody needs the numbers).
    pub fn discusser_number(&self, id: StrangerId) -> Option<u8> {
        self.reader?;
        let index = self
            .members
            .iter()
            .filter(|m| !self.is_reader(m.id()))
            .position(|m| m.id() == id)?;
        u8::try_from(index + 1).ok()
    }

    /// The members who write (everyone but a reader).
    pub fn writers(&self) -> impl Iterator<Item = StrangerId> + '_ {
        self.member_ids().filter(|&id| !self.is_reader(id))
    }

    /// This room's id.
    pub fn id(&self) -> RoomId {
        self.id
    }

    /// Whether this is a text or a video chat.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Adds a member. Adding someone already here changes nothing.
    pub fn add(&mut self, stranger: Stranger) {
        if !self.contains(stranger.id()) {
            self.members.push(stranger);
        }
    }

    /// Seats a partner connected to another instance.
    pub fn add_remote(&mut self, partner: RemotePartner) {
        self.remote = Some(partner);
    }

    /// The partner on another instance, if any.
    pub fn remote(&self) -> Option<&RemotePartner> {
        self.remote.as_ref()
    }

    /// Whether `id` is a member.
    pub fn contains(&self, id: StrangerId) -> bool {
        self.members.iter().any(|m| m.id() == id)
    }

    /// The members' ids, in the order they joined.
    pub fn member_ids(&self) -> impl Iterator<Item = StrangerId> + '_ {
        self.members.iter().map(Stranger::id)
    }

    /// How many members are here, on this instance or another.
    pub fn len(&self) -> usize {
        self.members.len() + usize::from(self.remote.is_some())
    }

    /// Whether nobody is here.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A chat needs two who write: with fewer, the room has nothing left to
    /// do (a discussion ends when a discusser leaves, not when its reader does).
    pub fn is_over(&self) -> bool {
        self.len() - usize::from(self.reader.is_some()) < 2
    }

    /// Notes that `from` sent `message`, if it is something they said or showed.
    fn note_sent(&mut self, from: StrangerId, message: &ServerMessage) {
        let said = match message {
            ServerMessage::Message { .. } | ServerMessage::Sealed { .. } => true,
            ServerMessage::Signal { signal } => {
                matches!(signal, CallSignal::Offer { .. } | CallSignal::Answer { .. })
            }
            _ => false,
        };
        if said && !self.senders.contains(&from) {
            self.senders.push(from);
        }
    }

    /// When the chat began.
    pub fn opened(&self) -> Instant {
        self.opened
    }

    /// What a report by `reporter` now should know: how long the chat has
    /// lasted and whether anyone else in it sent something.
    pub fn facts_for(&self, reporter: StrangerId) -> ChatFacts {
        ChatFacts {
            lasted: self.opened.elapsed(),
            reported_sent: self.senders.iter().any(|&sender| sender != reporter),
        }
    }

    /// Whether the chat can be end-to-end encrypted: not a discussion, whose
    /// reader must read it.
    pub fn sealable(&self) -> bool {
        self.reader.is_none()
    }

    /// Notes that `from` offered their encryption key; false if they already
    /// did in this chat (a second key would only confuse the stranger's browser).
    pub fn note_key(&mut self, from: StrangerId) -> bool {
        if self.keyed.contains(&from) {
            return false;
        }
        self.keyed.push(from);
        true
    }

    /// Whether `proof` shows that another writer of this chat sent `text` to
    /// `reporter` sealed, through this server (see [`franking`]).
    pub fn verifies(&self, reporter: StrangerId, text: &str, proof: &str) -> bool {
        let remote = self.remote.as_ref().map(|r| r.id);
        self.writers()
            .chain(remote)
            .filter(|&writer| writer != reporter)
            .any(|writer| franking::verify(self.id, writer, text, proof))
    }

    /// Counts one call offer or answer; false once the call has had its share.
    pub fn allow_description(&mut self) -> bool {
        if self.descriptions >= MAX_DESCRIPTIONS_PER_CALL {
            return false;
        }
        self.descriptions += 1;
        true
    }

    /// The remote partner `from` left (or their instance died): everyone here
    /// is told. False if `from` is not this room's remote partner.
    pub fn remote_left(&mut self, from: StrangerId) -> bool {
        if self.remote.as_ref().is_none_or(|r| r.id != from) {
            return false;
        }
        self.remote = None;
        self.broadcast(from, ServerMessage::StrangerLeft, Instant::now());
        true
    }

    /// Passes on `message` from the remote partner `from` to the members here.
    pub fn relay_from_remote(
        &mut self,
        from: StrangerId,
        message: ServerMessage,
    ) -> Result<(), NotAMember> {
        match &self.remote {
            Some(remote) if remote.id == from => {
                self.note_sent(from, &message);
                self.broadcast(from, message, Instant::now());
                Ok(())
            }
            _ => Err(NotAMember),
        }
    }

    /// Removes `id` and tells everyone still here that the stranger left.
    /// Returns the removed member, or `None` if `id` was not here.
    pub fn remove(&mut self, id: StrangerId) -> Option<Stranger> {
        let index = self.members.iter().position(|m| m.id() == id)?;
        // Told while still seated, so the reader hears which discusser left.
        self.broadcast(id, ServerMessage::StrangerLeft, Instant::now());
        if self.is_reader(id) {
            self.reader = None;
        }
        Some(self.members.remove(index))
    }

    /// Relays `message` (a chat message, a typing notice) from `from` to every
    /// other member, behind whatever each of them already has queued, so order is kept.
    pub fn relay(&mut self, from: StrangerId, message: ServerMessage) -> Result<(), NotAMember> {
        self.relay_since(from, message, Instant::now())
    }

    /// [`relay`](Self::relay) for a message that arrived at the server at `since`.
    pub fn relay_since(
        &mut self,
        from: StrangerId,
        message: ServerMessage,
        since: Instant,
    ) -> Result<(), NotAMember> {
        if !self.contains(from) || self.is_reader(from) {
            return Err(NotAMember);
        }
        self.note_sent(from, &message);
        self.broadcast(from, message, since);
        Ok(())
    }

    /// Sends `message` to every member except `from`: here through their
    /// outboxes, on another instance through the link.
    fn broadcast(&self, from: StrangerId, message: ServerMessage, since: Instant) {
        if let Some(remote) = self.remote.as_ref().filter(|r| r.id != from) {
            remote.link.send(Outbound {
                instance: remote.instance.clone(),
                from,
                to: remote.id,
                message: message.clone(),
            });
        }
        for member in self.members.iter().filter(|m| m.id() != from) {
            member.deliver_since(self.as_heard_by(member.id(), from, &message), since);
        }
    }

    /// `message` from `from` as `member` hears it: in a discussion, the reader
    /// hears which discusser wrote, typed or left, and the discussers hear
    /// that the reader left; everywhere else, as it was sent.
    fn as_heard_by(
        &self,
        member: StrangerId,
        from: StrangerId,
        message: &ServerMessage,
    ) -> ServerMessage {
        let discusser = self.discusser_number(from);
        match (self.is_reader(member), discusser, message) {
            (true, Some(discusser), ServerMessage::Message { text }) => ServerMessage::Discussed {
                discusser,
                text: text.clone(),
            },
            (true, Some(discusser), ServerMessage::Typing { typing }) => {
                ServerMessage::DiscusserTyping {
                    discusser,
                    typing: *typing,
                }
            }
            (true, Some(discusser), ServerMessage::StrangerLeft) => {
                ServerMessage::DiscusserLeft { discusser }
            }
            (false, _, ServerMessage::StrangerLeft) if self.is_reader(from) => {
                ServerMessage::AskerLeft
            }
            // Stamped as it is delivered, on the recipient's instance: a report
            // of it is checked there, against this room.
            (
                _,
                _,
                ServerMessage::Sealed {
                    data, commitment, ..
                },
            ) => ServerMessage::Sealed {
                data: data.clone(),
                commitment: commitment.clone(),
                stamp: franking::stamp(self.id, from, commitment),
            },
            _ => message.clone(),
        }
    }
}

impl Default for Room {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::seam::Outgoing;
    use crate::server::stranger::tests::stranger;

    #[test]
    fn room_creation() {
        let a = Room::new();
        let b = Room::new();
        assert_ne!(a.id(), b.id(), "every chat gets its own room");
        assert!(a.is_empty());
        assert!(a.is_over(), "an empty room holds no chat");
    }

    #[test]
    fn add_user_to_room() {
        let (alice, _a) = stranger();
        let (bob, _b) = stranger();
        let mut room = Room::new();
        room.add(alice.clone());
        assert!(room.contains(alice.id()));
        assert!(room.is_over(), "one person alone is not a chat");
        room.add(bob.clone());
        room.add(bob.clone());
        assert_eq!(
            room.len(),
            2,
            "adding the same stranger twice keeps one seat"
        );
        assert_eq!(
            room.member_ids().collect::<Vec<_>>(),
            [alice.id(), bob.id()]
        );
        assert!(!room.is_over());
    }

    #[test]
    fn remove_user_from_room() {
        let (alice, mut alice_rx) = stranger();
        let (bob, mut bob_rx) = stranger();
        let mut room = Room::new();
        room.add(alice.clone());
        room.add(bob.clone());

        let removed = room.remove(alice.id()).map(|s| s.id());
        assert_eq!(removed, Some(alice.id()));
        assert!(!room.contains(alice.id()));
        assert!(room.is_over());
        assert_eq!(bob_rx.try_recv().ok(), Some(ServerMessage::StrangerLeft));
        assert!(
            alice_rx.try_recv().is_err(),
            "the leaver is not told they left"
        );
        assert!(
            room.remove(alice.id()).is_none(),
            "removing twice is harmless"
        );
    }

    #[test]
    fn broadcast_message() {
        let (alice, mut alice_rx) = stranger();
        let (bob, mut bob_rx) = stranger();
        let (carol, mut carol_rx) = stranger();
        let mut room = Room::new();
        for member in [&alice, &bob, &carol] {
            room.add(member.clone());
        }

        for text in ["one", "two", "three"] {
            let message = ServerMessage::Message { text: text.into() };
            room.relay(alice.id(), message).expect("alice is a member");
        }

        let expected: Vec<_> = ["one", "two", "three"]
            .map(|t| ServerMessage::Message { text: t.into() })
            .into();
        for rx in [&mut bob_rx, &mut carol_rx] {
            let got: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
            assert_eq!(
                got, expected,
                "every other member gets every message, in order"
            );
        }
        assert!(alice_rx.try_recv().is_err(), "the sender gets no echo");
    }

    /// A room of `alice`, here, and a partner on instance "b"; what the room
    /// sends that partner comes out of the returned receiver.
    fn with_remote_partner(
        alice: &Stranger,
    ) -> (
        Room,
        StrangerId,
        tokio::sync::mpsc::UnboundedReceiver<Outgoing>,
    ) {
        let (link, outbound) = Link::new();
        let bob = StrangerId::new();
        let mut room = Room::new();
        room.add(alice.clone());
        room.add_remote(RemotePartner {
            id: bob,
            instance: "b".into(),
            address: None,
            link,
        });
        (room, bob, outbound)
    }

    /// The next message the link carries.
    fn relayed(outbound: &mut tokio::sync::mpsc::UnboundedReceiver<Outgoing>) -> Outbound {
        match outbound.try_recv() {
            Ok(Outgoing::Relay(message)) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn a_partner_on_another_instance_is_reached_through_the_link_in_order() {
        let (alice, mut alice_rx) = stranger();
        let (mut room, bob, mut outbound) = with_remote_partner(&alice);
        assert!(!room.is_over());
        for text in ["one", "two"] {
            room.relay(alice.id(), ServerMessage::Message { text: text.into() })
                .unwrap();
        }
        for text in ["one", "two"] {
            let sent = relayed(&mut outbound);
            assert_eq!(
                (sent.instance.as_str(), sent.from, sent.to),
                ("b", alice.id(), bob)
            );
            assert_eq!(sent.message, ServerMessage::Message { text: text.into() });
        }
        assert!(alice_rx.try_recv().is_err(), "no echo");

        room.relay_from_remote(bob, ServerMessage::Typing { typing: true })
            .unwrap();
        assert_eq!(
            alice_rx.try_recv().ok(),
            Some(ServerMessage::Typing { typing: true })
        );
        let earlier_partner = StrangerId::new();
        assert_eq!(
            room.relay_from_remote(earlier_partner, ServerMessage::StrangerLeft),
            Err(NotAMember),
            "a late message from an earlier chat reaches nobody"
        );
        assert!(!room.remote_left(earlier_partner));
        assert!(room.remote_left(bob));
        assert_eq!(alice_rx.try_recv().ok(), Some(ServerMessage::StrangerLeft));
        assert!(room.is_over());
    }

    #[test]
    fn leaving_tells_the_partner_on_another_instance() {
        let (alice, _a) = stranger();
        let (mut room, bob, mut outbound) = with_remote_partner(&alice);
        room.remove(alice.id());
        let sent = relayed(&mut outbound);
        assert_eq!((sent.to, sent.message), (bob, ServerMessage::StrangerLeft));
        assert!(room.is_over());
    }

    #[test]
    fn outsiders_cannot_speak_in_a_room() {
        let (alice, _a) = stranger();
        let (mallory, _m) = stranger();
        let mut room = Room::new();
        room.add(alice.clone());
        assert_eq!(
            room.relay(mallory.id(), ServerMessage::StrangerLeft),
            Err(NotAMember)
        );
    }
}
