//! The lobby: every stranger connected to this server and where each one is.
//!
//! A stranger is in exactly one place: idle, waiting in the matchmaker's queue,
//! or chatting in one room. All three live behind one lock so every change of
//! place is a single step and no one can be seen in two places or none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::matchmaker::{Joined, Matchmaker};
use super::room::{Room, RoomId};
use super::stranger::{Stranger, StrangerId};
use crate::protocol::ServerMessage;

/// Where a stranger is right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Connected, neither waiting nor chatting.
    Idle,
    /// In the matchmaker's queue.
    Waiting,
    /// Chatting in this room.
    Chatting(RoomId),
}

/// Why the lobby refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LobbyError {
    /// A chat message from someone who is not in a chat.
    #[error("not in a chat")]
    NotInChat,
    /// A request for a stranger who is not connected (already departed).
    #[error("no such stranger")]
    UnknownStranger,
}

/// A cheap-to-clone handle to the lobby shared by every connection.
///
/// The lock is a `std::sync::Mutex`, held only for in-memory bookkeeping and
/// non-blocking queue pushes, never across an `.await`.
#[derive(Debug, Clone, Default)]
pub struct Lobby {
    state: Arc<Mutex<State>>,
}

/// Everything the lobby knows.
#[derive(Debug, Default)]
struct State {
    /// Every connected stranger and their place.
    strangers: HashMap<StrangerId, Seat>,
    /// The queue of strangers waiting for a partner.
    matchmaker: Matchmaker,
    /// The chats in progress.
    rooms: HashMap<RoomId, Room>,
}

/// One connected stranger.
#[derive(Debug)]
struct Seat {
    /// How to reach them.
    stranger: Stranger,
    /// Where they are.
    place: Place,
}

impl Lobby {
    /// An empty lobby.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock must not take every chat down
        // with it; the state is only ever changed in whole steps.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new connection: the stranger starts idle.
    pub fn arrive(&self, stranger: Stranger) {
        let seat = Seat {
            stranger,
            place: Place::Idle,
        };
        self.state().strangers.insert(seat.stranger.id(), seat);
    }

    /// `id` wants a (new) stranger: ends their current chat, then pairs or queues them.
    pub fn join(&self, id: StrangerId) -> Result<(), LobbyError> {
        self.state().join(id)
    }

    /// Relays a chat message from `id` to the others in their room.
    pub fn say(&self, id: StrangerId, text: &str) -> Result<(), LobbyError> {
        let state = self.state();
        let seat = state
            .strangers
            .get(&id)
            .ok_or(LobbyError::UnknownStranger)?;
        let Place::Chatting(room_id) = seat.place else {
            return Err(LobbyError::NotInChat);
        };
        let room = state.rooms.get(&room_id).ok_or(LobbyError::NotInChat)?;
        room.relay(id, text).map_err(|_| LobbyError::NotInChat)
    }

    /// `id` stops waiting or ends their chat; they stay connected.
    pub fn leave(&self, id: StrangerId) {
        self.state().leave(id);
    }

    /// `id`'s connection is gone: they leave wherever they were and are forgotten,
    /// in one step, so nobody can be matched with them afterwards.
    pub fn depart(&self, id: StrangerId) {
        let mut state = self.state();
        state.leave(id);
        state.strangers.remove(&id);
    }

    /// Where `id` is, if connected.
    pub fn place(&self, id: StrangerId) -> Option<Place> {
        self.state().strangers.get(&id).map(|seat| seat.place)
    }

    /// How many strangers are connected.
    pub fn online(&self) -> usize {
        self.state().strangers.len()
    }

    /// How many strangers are waiting for a partner.
    pub fn waiting(&self) -> usize {
        self.state().matchmaker.waiting()
    }

    /// How many chats are in progress.
    pub fn rooms(&self) -> usize {
        self.state().rooms.len()
    }

    /// Panics if the lobby's bookkeeping disagrees with itself. For tests.
    pub fn assert_consistent(&self) {
        self.state().assert_consistent();
    }
}

impl State {
    fn join(&mut self, id: StrangerId) -> Result<(), LobbyError> {
        let seat = self.strangers.get(&id).ok_or(LobbyError::UnknownStranger)?;
        match seat.place {
            Place::Waiting => {
                seat.stranger.deliver(ServerMessage::Waiting);
                return Ok(());
            }
            Place::Chatting(room) => self.leave_room(id, room),
            Place::Idle => {}
        }
        match self.matchmaker.join(id) {
            Joined::Waiting => {
                self.set_place(id, Place::Waiting);
                self.tell(id, ServerMessage::Waiting);
            }
            Joined::Paired(partner) => {
                let mut room = Room::new();
                for member in [partner, id] {
                    if let Some(seat) = self.strangers.get_mut(&member) {
                        seat.place = Place::Chatting(room.id());
                        room.add(seat.stranger.clone());
                        seat.stranger.deliver(ServerMessage::Paired);
                    }
                }
                self.rooms.insert(room.id(), room);
            }
        }
        Ok(())
    }

    fn leave(&mut self, id: StrangerId) {
        match self.strangers.get(&id).map(|seat| seat.place) {
            Some(Place::Waiting) => {
                self.matchmaker.remove(id);
                self.set_place(id, Place::Idle);
            }
            Some(Place::Chatting(room)) => self.leave_room(id, room),
            Some(Place::Idle) | None => {}
        }
    }

    /// Takes `id` out of `room_id`; the others are told. A room left with fewer
    /// than two members is over: it is removed and the rest become idle.
    fn leave_room(&mut self, id: StrangerId, room_id: RoomId) {
        self.set_place(id, Place::Idle);
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        room.remove(id);
        if room.is_over()
            && let Some(room) = self.rooms.remove(&room_id)
        {
            for member in room.member_ids() {
                self.set_place(member, Place::Idle);
            }
        }
    }

    fn set_place(&mut self, id: StrangerId, place: Place) {
        if let Some(seat) = self.strangers.get_mut(&id) {
            seat.place = place;
        }
    }

    fn tell(&self, id: StrangerId, message: ServerMessage) {
        if let Some(seat) = self.strangers.get(&id) {
            seat.stranger.deliver(message);
        }
    }

    fn assert_consistent(&self) {
        let mut seated = 0;
        for (id, seat) in &self.strangers {
            assert_eq!(*id, seat.stranger.id());
            match seat.place {
                Place::Idle => assert!(!self.matchmaker.is_waiting(*id)),
                Place::Waiting => assert!(self.matchmaker.is_waiting(*id), "{id} lost from queue"),
                Place::Chatting(room) => {
                    assert!(!self.matchmaker.is_waiting(*id), "{id} in two places");
                    let room = self.rooms.get(&room).expect("a chatter's room exists");
                    assert!(room.contains(*id));
                    seated += 1;
                }
            }
        }
        assert_eq!(
            self.matchmaker.waiting(),
            self.strangers
                .values()
                .filter(|s| s.place == Place::Waiting)
                .count(),
            "the queue holds only waiting strangers"
        );
        let members: usize = self.rooms.values().map(Room::len).sum();
        assert_eq!(members, seated, "every room member is seated in that room");
        for room in self.rooms.values() {
            assert!(!room.is_over(), "a finished room was left behind");
            for member in room.member_ids() {
                let place = self.strangers.get(&member).map(|s| s.place);
                assert_eq!(place, Some(Place::Chatting(room.id())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::stranger::tests::stranger;
    use tokio::sync::mpsc::Receiver;

    fn arrive(lobby: &Lobby) -> (StrangerId, Receiver<ServerMessage>) {
        let (s, rx) = stranger();
        let id = s.id();
        lobby.arrive(s);
        (id, rx)
    }

    fn drain(rx: &mut Receiver<ServerMessage>) -> Vec<ServerMessage> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    type Arrival = (StrangerId, Receiver<ServerMessage>);

    /// A lobby where two strangers have just been paired, their queues read.
    fn paired() -> (Lobby, Arrival, Arrival) {
        let lobby = Lobby::new();
        let (alice, mut alice_rx) = arrive(&lobby);
        let (bob, mut bob_rx) = arrive(&lobby);
        lobby.join(alice).unwrap();
        lobby.join(bob).unwrap();
        drain(&mut alice_rx);
        drain(&mut bob_rx);
        (lobby, (alice, alice_rx), (bob, bob_rx))
    }

    #[test]
    fn two_joiners_are_paired_and_chat() {
        let lobby = Lobby::new();
        let (alice, mut alice_rx) = arrive(&lobby);
        let (bob, mut bob_rx) = arrive(&lobby);
        lobby.join(alice).unwrap();
        lobby.join(bob).unwrap();
        lobby.assert_consistent();
        assert_eq!(
            drain(&mut alice_rx),
            [ServerMessage::Waiting, ServerMessage::Paired]
        );
        assert_eq!(drain(&mut bob_rx), [ServerMessage::Paired]);

        lobby.say(bob, "hi").unwrap();
        assert_eq!(
            drain(&mut alice_rx),
            [ServerMessage::Message { text: "hi".into() }]
        );
        assert_eq!(lobby.rooms(), 1);
    }

    #[test]
    fn leaving_a_chat_frees_both_and_removes_the_room() {
        let (lobby, (alice, mut alice_rx), (bob, mut bob_rx)) = paired();

        lobby.leave(alice);
        lobby.assert_consistent();
        assert_eq!(drain(&mut bob_rx), [ServerMessage::StrangerLeft]);
        assert_eq!(lobby.place(alice), Some(Place::Idle));
        assert_eq!(lobby.place(bob), Some(Place::Idle));
        assert_eq!(lobby.rooms(), 0, "the finished room is removed");
        assert_eq!(lobby.say(bob, "anyone?"), Err(LobbyError::NotInChat));
        assert!(drain(&mut alice_rx).is_empty());
    }

    #[test]
    fn joining_again_during_a_chat_is_a_skip() {
        let (lobby, (alice, _alice_rx), (bob, mut bob_rx)) = paired();

        lobby.join(alice).unwrap();
        lobby.assert_consistent();
        assert_eq!(drain(&mut bob_rx), [ServerMessage::StrangerLeft]);
        assert_eq!(lobby.place(alice), Some(Place::Waiting));
        assert_eq!(
            lobby.place(bob),
            Some(Place::Idle),
            "bob is not re-queued behind his back"
        );
    }

    #[test]
    fn a_departed_waiter_is_never_matched() {
        let lobby = Lobby::new();
        let (ghost, _ghost_rx) = arrive(&lobby);
        lobby.join(ghost).unwrap();
        lobby.depart(ghost);
        assert_eq!(lobby.online(), 0);
        assert_eq!(lobby.waiting(), 0);

        let (alice, mut alice_rx) = arrive(&lobby);
        let (bob, _bob_rx) = arrive(&lobby);
        lobby.join(alice).unwrap();
        lobby.join(bob).unwrap();
        lobby.assert_consistent();
        assert_eq!(
            drain(&mut alice_rx),
            [ServerMessage::Waiting, ServerMessage::Paired]
        );
        assert_eq!(lobby.join(ghost), Err(LobbyError::UnknownStranger));
    }

    #[test]
    fn a_departure_mid_chat_frees_the_partner() {
        let (lobby, (alice, _alice_rx), (bob, mut bob_rx)) = paired();
        lobby.depart(alice);
        lobby.assert_consistent();
        assert_eq!(drain(&mut bob_rx), [ServerMessage::StrangerLeft]);
        lobby.join(bob).unwrap();
        assert_eq!(drain(&mut bob_rx), [ServerMessage::Waiting]);
    }

    #[test]
    fn leaving_the_queue_and_idle_leaves_are_harmless() {
        let lobby = Lobby::new();
        let (alice, _rx) = arrive(&lobby);
        lobby.leave(alice);
        lobby.join(alice).unwrap();
        lobby.join(alice).unwrap();
        assert_eq!(lobby.waiting(), 1);
        lobby.leave(alice);
        lobby.assert_consistent();
        assert_eq!(lobby.waiting(), 0);
        assert_eq!(lobby.place(alice), Some(Place::Idle));
    }
}
