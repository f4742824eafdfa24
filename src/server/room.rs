//! A room: the strangers chatting together, and the relay between them.

use std::fmt;

use tokio::time::Instant;
use uuid::Uuid;

use super::stranger::{Stranger, StrangerId};
use crate::protocol::{Mode, ServerMessage};

/// Identifies one chat; a new room is made for every pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomId(Uuid);

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
    /// The members, in the order they joined.
    members: Vec<Stranger>,
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
            id: RoomId(Uuid::new_v4()),
            mode,
            members: Vec::with_capacity(2),
        }
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

    /// Whether `id` is a member.
    pub fn contains(&self, id: StrangerId) -> bool {
        self.members.iter().any(|m| m.id() == id)
    }

    /// The members' ids, in the order they joined.
    pub fn member_ids(&self) -> impl Iterator<Item = StrangerId> + '_ {
        self.members.iter().map(Stranger::id)
    }

    /// How many members are here.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nobody is here.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// A chat needs two: with fewer, the room has nothing left to do.
    pub fn is_over(&self) -> bool {
        self.members.len() < 2
    }

    /// Removes `id` and tells everyone still here that the stranger left.
    /// Returns the removed member, or `None` if `id` was not here.
    pub fn remove(&mut self, id: StrangerId) -> Option<Stranger> {
        let index = self.members.iter().position(|m| m.id() == id)?;
        let gone = self.members.remove(index);
        self.broadcast(id, ServerMessage::StrangerLeft, Instant::now());
        Some(gone)
    }

    /// Relays `message` (a chat message, a typing notice) from `from` to every
    /// other member, behind whatever each of them already has queued, so order is kept.
    pub fn relay(&self, from: StrangerId, message: ServerMessage) -> Result<(), NotAMember> {
        self.relay_since(from, message, Instant::now())
    }

    /// [`relay`](Self::relay) for a message that arrived at the server at `since`.
    pub fn relay_since(
        &self,
        from: StrangerId,
        message: ServerMessage,
        since: Instant,
    ) -> Result<(), NotAMember> {
        if !self.contains(from) {
            return Err(NotAMember);
        }
        self.broadcast(from, message, since);
        Ok(())
    }

    /// Sends `message` to every member except `from`.
    fn broadcast(&self, from: StrangerId, message: ServerMessage, since: Instant) {
        for member in self.members.iter().filter(|m| m.id() != from) {
            member.deliver_since(message.clone(), since);
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
