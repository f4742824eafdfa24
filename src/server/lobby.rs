//! The lobby: every stranger connected to this server and where each one is.
//!
//! A stranger is in exactly one place: idle, waiting in the matchmaker's queue,
//! or chatting in one room. All three live behind one lock so every change of
//! place is a single step and no one can be seen in two places or none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::ice::{self, IceConfig};
use super::matchmaker::{Matchmaker, Pairing, Seeker};
use super::metrics::{Metrics, RejectionReason, Snapshot};
use super::moderation::FiledReport;
use super::network::AddressKey;
use super::questions::{Asker, Discusser, Discussion, QuestionDesk};
use super::queue::{Queue, Queued};
use super::room::{ChatFacts, RemotePartner, Room, RoomId};
use super::seam::{ClusterSide, Match, Outbound};
use super::stranger::{Kick, Stranger, StrangerId};
use crate::protocol::{
    Author, CallRole, CallSetup, CallSignal, Challenge, ErrorCode, EvidenceLine, LANGUAGE_PREFIX,
    Mode, ServerMessage,
};

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
    /// A call setup step from someone who is not in a video chat.
    #[error("not in a video chat")]
    NotInCall,
    /// A call offer or answer beyond what one call needs.
    #[error("too many call offers")]
    TooManyOffers,
    /// A message, or a report, from the asker of a question, who reads along.
    #[error("reading along")]
    ReadOnly,
    /// An encryption key in a discussion, or a second one in a chat.
    #[error("cannot be sealed")]
    NotSealable,
}

impl From<LobbyError> for ErrorCode {
    /// What the stranger is told when the lobby refused their request.
    fn from(error: LobbyError) -> Self {
        match error {
            LobbyError::NotInChat | LobbyError::UnknownStranger => ErrorCode::NotInChat,
            LobbyError::NotInCall => ErrorCode::NotInCall,
            LobbyError::TooManyOffers => ErrorCode::TooManyOffers,
            LobbyError::ReadOnly => ErrorCode::ReadOnly,
            LobbyError::NotSealable => ErrorCode::NotSealable,
        }
    }
}

/// A chat ended by a report: whom to report, and what the report should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportedChat {
    /// The reported stranger's network, if known.
    pub reported: Option<AddressKey>,
    /// Text or video.
    pub mode: Mode,
    /// How long it lasted, and whether the reported stranger sent anything.
    pub facts: ChatFacts,
}

/// Below this many strangers online every change of the count is announced;
/// above, only changes of 1% or more. Each announcement goes to everyone: with
/// tens of thousands online and someone arriving every moment, exact counts
/// would cost one message per stranger per second (the four-instance capacity
/// run of `.ci/bench-cluster` could not ramp up for them).
const EXACT_ONLINE_BELOW: usize = 100;

/// The most online-count messages one announcement sends. Every stranger is
/// told the count when they arrive; in a crowd, a changed count then reaches
/// them this many at a time, taking turns, over the next announcements. The
/// cost of the count is so bounded by this, not by the crowd: with everyone
/// told at every change, a ramp to N strangers cost about N messages per
/// announcement, N²/rate over the ramp (profiled in BENCHMARKS.md, issue 18).
/// At one announcement a second, 20,000 strangers all hear a 1% change within
/// ten seconds.
pub const ONLINE_NOTICES_PER_ANNOUNCEMENT: usize = 2_000;

/// Whether everyone should hear that `count` are online, having last heard `last`.
fn worth_announcing(last: Option<usize>, count: usize) -> bool {
    match last {
        None => true,
        Some(last) => {
            let change = last.abs_diff(count);
            change > 0 && (count.max(last) < EXACT_ONLINE_BELOW || change * 100 >= last)
        }
    }
}

/// How long a stranger with interests waits for a shared one, unless configured.
pub const DEFAULT_INTEREST_TIMEOUT: Duration = Duration::from_secs(5);

/// What a stranger asks for when they join.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinRequest {
    /// Interests, already checked by the protocol layer.
    pub interests: Vec<String>,
    /// Wait for a shared interest rather than fall back to anyone.
    pub only_shared: bool,
    /// The browser's random id, so its tabs are never paired together.
    pub browser: Option<String>,
    /// Text or video.
    pub mode: Mode,
    /// Video: hide this stranger's network address from the partner.
    pub hide_ip: bool,
    /// A chat, or question mode.
    pub kind: JoinKind,
    /// The language to chat in, already checked: preferred in a partner as a
    /// shared interest is, by whichever queue (it joins the interests as
    /// `lang:<code>`, see [`LANGUAGE_PREFIX`]).
    pub language: Option<String>,
}

/// Whether a join asks for a chat or for question mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum JoinKind {
    /// A chat with a stranger (the matchmaker's rules).
    #[default]
    Chat,
    /// Ask this question, and read two strangers discuss it.
    Ask(String),
    /// Discuss other people's questions.
    Discuss,
}

/// A cheap-to-clone handle to the lobby shared by every connection.
///
/// The lock is a `std::sync::Mutex`, held only for in-memory bookkeeping and
/// non-blocking queue pushes, never across an `.await`.
#[derive(Debug, Clone)]
pub struct Lobby {
    state: Arc<Mutex<State>>,
    /// The online count as last announced, for pages that show it without a
    /// chat connection (the landing page's feed).
    online: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Default for Lobby {
    fn default() -> Self {
        Self::new(DEFAULT_INTEREST_TIMEOUT)
    }
}

/// Everything the lobby knows.
#[derive(Debug)]
struct State {
    /// Every connected stranger and their place.
    strangers: HashMap<StrangerId, Seat>,
    /// Where strangers wait for a partner: here, or shared through Redis.
    queue: Queue,
    /// Where question mode's askers and discussers wait (always here: with
    /// several instances, a question is discussed by strangers on its own).
    questions: QuestionDesk,
    /// The chats in progress.
    rooms: HashMap<RoomId, Room>,
    /// How many seats the last announcement went past, so the next one takes
    /// up where it stopped and everyone gets their turn.
    online_cursor: usize,
    /// The STUN/TURN servers handed to both sides of every video chat.
    ice: IceConfig,
    /// Where pairings and relayed messages are counted.
    metrics: Arc<Metrics>,
    /// Strangers connected to other instances, last we heard.
    online_elsewhere: usize,
}

/// One connected stranger.
#[derive(Debug)]
struct Seat {
    /// How to reach them.
    stranger: Stranger,
    /// Where they are.
    place: Place,
    /// What they asked for while waiting in the queue (here or shared), to ask
    /// again if the partner it found vanished before the pairing completed.
    /// `None` while waiting for a question: that is how the two are told apart.
    seeking: Option<Seeker>,
    /// They asked to hide their network address in video calls: their call
    /// setup steps that would reveal one are dropped.
    hides_address: bool,
    /// The online count they were last told.
    told_online: usize,
}

impl Seat {
    /// If their online count is out of date, notes them told `count` and
    /// returns them to be told.
    fn tell_online(&mut self, count: usize) -> Option<Stranger> {
        worth_announcing(Some(self.told_online), count).then(|| {
            self.told_online = count;
            self.stranger.clone()
        })
    }
}

/// Tells the out-of-date seats of `seats` (numbered) `count`, adding them to
/// `told` until it holds [`ONLINE_NOTICES_PER_ANNOUNCEMENT`]; returns the
/// number after the last seat looked at, if any was.
fn tell_in_turn<'a>(
    seats: impl Iterator<Item = (usize, &'a mut Seat)>,
    count: usize,
    told: &mut Vec<Stranger>,
) -> Option<usize> {
    let mut after = None;
    for (n, seat) in seats {
        if told.len() == ONLINE_NOTICES_PER_ANNOUNCEMENT {
            break;
        }
        after = Some(n + 1);
        told.extend(seat.tell_online(count));
    }
    after
}

/// A pairing to seat in a new room, whichever queue made it.
#[derive(Debug)]
struct Seating {
    mode: Mode,
    common_interests: Vec<String>,
    /// How long each member waited, for the metrics (those this instance counts).
    waited: Vec<Duration>,
    /// The members connected here, each with their part in a video call.
    here: Vec<(StrangerId, CallRole)>,
    /// The member connected to another instance, if any.
    elsewhere: Option<RemotePartner>,
}

impl From<Pairing> for Seating {
    /// In a video chat the one who joined last makes the offer, so the two
    /// never offer at once.
    fn from(pairing: Pairing) -> Self {
        Seating {
            mode: pairing.mode,
            common_interests: pairing.common_interests,
            waited: pairing.waited.to_vec(),
            here: vec![
                (pairing.waiter, CallRole::Answer),
                (pairing.joiner, CallRole::Offer),
            ],
            elsewhere: None,
        }
    }
}

impl Lobby {
    /// An empty lobby whose strangers with interests wait `interest_timeout` for a
    /// shared one before anyone will do.
    pub fn new(interest_timeout: Duration) -> Self {
        let state = State {
            strangers: HashMap::new(),
            queue: Queue::Here(Box::new(Matchmaker::new(interest_timeout))),
            questions: QuestionDesk::default(),
            rooms: HashMap::new(),
            online_cursor: 0,
            ice: IceConfig::default(),
            metrics: Arc::default(),
            online_elsewhere: 0,
        };
        Lobby {
            state: Arc::new(Mutex::new(state)),
            online: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// The online count as announced, and every change to it from now on.
    pub fn online_counts(&self) -> tokio::sync::watch::Receiver<u64> {
        self.online.subscribe()
    }

    /// Hands the servers of `ice` to the browsers of every video chat from now on.
    pub fn with_ice(self, ice: IceConfig) -> Self {
        self.state().ice = ice;
        self
    }

    /// Counts pairings and relayed messages in `metrics` from now on.
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        self.state().metrics = metrics;
        self
    }

    /// Matches through the queue shared with other instances from now on.
    pub fn with_cluster(self, cluster: ClusterSide) -> Self {
        self.state().queue = Queue::Shared(cluster);
        self
    }

    /// The shared queue paired one of our strangers (`m.me`): seats them with
    /// their partner, here or on another instance, and tells them.
    ///
    /// Called by the cluster task, in the order Redis made the pairings, for
    /// joins it made and for pairings other instances made of our waiters.
    pub fn paired(&self, m: Match) {
        self.state().paired(m);
    }

    /// `message` from `from`, a stranger on another instance, for `to`, here.
    /// It reaches `to` only if `from` is still their partner.
    pub fn from_remote(&self, from: StrangerId, to: StrangerId, message: ServerMessage) {
        let mut state = self.state();
        let Ok(Some(room)) = state.room_of_mut(to) else {
            return;
        };
        let room_id = room.id();
        if message == ServerMessage::StrangerLeft {
            let over = state
                .rooms
                .get_mut(&room_id)
                .is_some_and(|room| room.remote_left(from) && room.is_over());
            if over {
                state.end_room(room_id);
            }
        } else {
            let _ = room.relay_from_remote(from, message);
        }
    }

    /// `instance` stopped proving it is alive: everyone chatting with one of
    /// its strangers is told the stranger left.
    pub fn instance_died(&self, instance: &str) {
        let mut state = self.state();
        let lost: Vec<(RoomId, StrangerId)> = state
            .rooms
            .values()
            .filter_map(|room| {
                let remote = room.remote()?;
                (remote.instance == instance).then_some((room.id(), remote.id))
            })
            .collect();
        for (room_id, partner) in lost {
            if let Some(room) = state.rooms.get_mut(&room_id) {
                room.remote_left(partner);
            }
            state.end_room(room_id);
        }
    }

    /// No chat across instances can be trusted to go on: the shared queue
    /// forgot this instance (Redis restarted empty, or the others counted it
    /// dead), or this instance has been cut off from Redis past the presence
    /// bound, or messages for other instances could not be delivered in time.
    /// Each such chat ends on both sides: our strangers hear the stranger
    /// left, and their partners elsewhere are told the same (when Redis can be
    /// reached again), so no chat is left open on one side only. Only chats
    /// that began before `began_before` end: one paired since Redis came back
    /// is sound.
    pub fn end_chats_across_instances(&self, began_before: Instant) {
        let mut state = self.state();
        let across: Vec<RoomId> = state
            .rooms
            .values()
            .filter(|room| room.remote().is_some() && room.opened() < began_before)
            .map(Room::id)
            .collect();
        for room_id in across {
            let Some(room) = state.rooms.get_mut(&room_id) else {
                continue;
            };
            let Some(remote) = room.remote().cloned() else {
                continue;
            };
            for member in room.member_ids() {
                remote.link.send(Outbound {
                    instance: remote.instance.clone(),
                    from: member,
                    to: remote.id,
                    message: ServerMessage::StrangerLeft,
                });
            }
            room.remote_left(remote.id);
            state.end_room(room_id);
        }
    }

    /// Queues every stranger waiting here again (after the shared queue
    /// forgot them): through the same queue as joins and leaves, so a leave
    /// made meanwhile is not overtaken.
    pub fn ask_again_for_waiters(&self) {
        let mut state = self.state();
        for id in state.waiting_here() {
            state.ask_again(id);
        }
    }

    /// Matching through Redis cannot go on for now: everyone waiting here
    /// stops waiting and is told plainly ("New" asks again).
    pub fn pause_matching(&self) {
        let mut state = self.state();
        for id in state.waiting_here() {
            state.stop_waiting(id);
        }
    }

    /// How many strangers are connected to the other instances (with a shared
    /// queue), for the online count.
    pub fn set_online_elsewhere(&self, count: usize) {
        self.state().online_elsewhere = count;
    }

    /// The instances our strangers' partners are connected to.
    pub fn remote_instances(&self) -> Vec<String> {
        let state = self.state();
        let mut instances: Vec<String> = state
            .rooms
            .values()
            .filter_map(|room| Some(room.remote()?.instance.clone()))
            .collect();
        instances.sort();
        instances.dedup();
        instances
    }

    /// The shared queue could not be asked for `id` (Redis is unreachable):
    /// they stop waiting and are told plainly.
    pub fn matching_failed(&self, id: StrangerId) {
        self.state().stop_waiting(id);
    }

    /// The lobby's numbers for a metrics scrape.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.state();
        Snapshot {
            online: state.strangers.len(),
            waiting: [Mode::Text, Mode::Video]
                .map(|mode| (mode, state.waiting_in(mode)))
                .to_vec(),
            rooms: state.rooms.len(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock must not take every chat down
        // with it; the state is only ever changed in whole steps.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new connection: the stranger starts idle, is welcomed with what the
    /// service offers, and hears how many are online.
    pub fn arrive(&self, stranger: Stranger, challenge: Option<Challenge>) {
        let mut state = self.state();
        let count = (state.strangers.len() + 1 + state.online_elsewhere) as u64;
        let relay = state.ice.relays();
        stranger.deliver(ServerMessage::Welcome { relay, challenge });
        stranger.deliver(ServerMessage::Online { count });
        // Everyone else hears of the newcomer at the next announcement: each
        // seat remembers the count it was told (see `announce_online`).
        let seat = Seat {
            stranger,
            place: Place::Idle,
            seeking: None,
            hides_address: false,
            told_online: count as usize,
        };
        state.strangers.insert(seat.stranger.id(), seat);
    }

    /// `id` wants a (new) stranger: ends their current chat, then pairs or queues them.
    pub fn join(&self, id: StrangerId, request: JoinRequest) -> Result<(), LobbyError> {
        self.state().join(id, request, Instant::now())
    }

    /// Relays a chat message from `id` to the others in their room.
    pub fn say(&self, id: StrangerId, text: &str) -> Result<(), LobbyError> {
        self.say_since(id, text, Instant::now())
    }

    /// [`say`](Self::say) for a message that arrived at the server at `received`.
    pub fn say_since(
        &self,
        id: StrangerId,
        text: &str,
        received: Instant,
    ) -> Result<(), LobbyError> {
        let message = ServerMessage::Message {
            text: text.to_owned(),
        };
        let mut state = self.state();
        state.relay(id, message, received)?;
        state.metrics.relayed(text.len());
        Ok(())
    }

    /// Passes `id`'s end-to-end encryption key to their partner: once a chat,
    /// and never in a discussion (its reader must be able to read).
    pub fn offer_key(&self, id: StrangerId, key: &str) -> Result<(), LobbyError> {
        let mut state = self.state();
        let room = state.room_of_mut(id)?.ok_or(LobbyError::NotInChat)?;
        if !room.sealable() || !room.note_key(id) {
            return Err(LobbyError::NotSealable);
        }
        let key = ServerMessage::Key {
            key: key.to_owned(),
        };
        room.relay(id, key).map_err(|_| LobbyError::NotInChat)
    }

    /// Relays a sealed (end-to-end encrypted) message from `id`, which reached
    /// the server at `received`; each recipient gets it with the server's
    /// franking stamp (see [`super::franking`]).
    pub fn say_sealed(
        &self,
        id: StrangerId,
        data: &str,
        commitment: &str,
        received: Instant,
    ) -> Result<(), LobbyError> {
        let message = ServerMessage::Sealed {
            data: data.to_owned(),
            commitment: commitment.to_owned(),
            stamp: String::new(),
        };
        let mut state = self.state();
        let room = state.room_of_mut(id)?.ok_or(LobbyError::NotInChat)?;
        // A discussion (its reader included) is never sealed.
        if !room.sealable() {
            return Err(LobbyError::NotSealable);
        }
        room.relay_since(id, message, received)
            .map_err(|_| LobbyError::NotInChat)?;
        state.metrics.relayed(data.len());
        Ok(())
    }

    /// Which of a report's `evidence` lines (sent by `id`, about their current
    /// chat) the server can confirm: lines the stranger sent sealed, with a
    /// franking proof that holds. Other lines are as the reporter's browser showed them.
    pub fn verify_evidence(&self, id: StrangerId, evidence: &[EvidenceLine]) -> Vec<bool> {
        let state = self.state();
        let room = state.room_of(id).ok().flatten();
        evidence
            .iter()
            .map(|line| {
                let proof = line
                    .franking
                    .as_deref()
                    .filter(|_| line.from == Author::Stranger);
                match (room, proof) {
                    (Some(room), Some(proof)) => room.verifies(id, &line.text, proof),
                    _ => false,
                }
            })
            .collect()
    }

    /// Tells the others in `id`'s room that `id` started or stopped typing.
    pub fn typing(&self, id: StrangerId, typing: bool) -> Result<(), LobbyError> {
        self.state()
            .relay(id, ServerMessage::Typing { typing }, Instant::now())
    }

    /// Passes a call setup step from `id` to their partner in a video chat.
    /// Outside a video chat it reaches nobody.
    /// A call gets at most [`MAX_DESCRIPTIONS_PER_CALL`] offers and answers.
    /// From a stranger hiding their address, a step that would reveal one is
    /// dropped (see [`ice::reveals_address`]).
    pub fn signal(&self, id: StrangerId, signal: CallSignal) -> Result<(), LobbyError> {
        let mut state = self.state();
        let hides = state
            .strangers
            .get(&id)
            .is_some_and(|seat| seat.hides_address);
        if hides && ice::reveals_address(&signal) {
            state.metrics.rejected(RejectionReason::Address);
            return Ok(());
        }
        let room = state.room_of_mut(id)?;
        let Some(room) = room.filter(|room| room.mode() == Mode::Video) else {
            return Err(LobbyError::NotInCall);
        };
        let description = matches!(signal, CallSignal::Offer { .. } | CallSignal::Answer { .. });
        if description && !room.allow_description() {
            return Err(LobbyError::TooManyOffers);
        }
        room.relay(id, ServerMessage::Signal { signal })
            .map_err(|_| LobbyError::NotInCall)
    }

    /// Pairs the strangers whose interest timeout has passed by `now`, as the
    /// matchmaker's rules allow.
    pub fn tick(&self, now: Instant) {
        let mut state = self.state();
        for pairing in state.queue.tick(now) {
            state.seat(Seating::from(pairing));
        }
    }

    /// Tells strangers how many are online, if that changed since they were
    /// last told: everyone while few are online, in a crowd at most
    /// [`ONLINE_NOTICES_PER_ANNOUNCEMENT`] of those out of date, taking turns.
    /// The deliveries happen after the lock is released, so a big crowd does
    /// not hold up everyone else's messages.
    pub fn announce_online(&self) {
        let (count, told) = {
            let mut state = self.state();
            let count = state.strangers.len() + state.online_elsewhere;
            (count, state.tell_online(count))
        };
        self.online.send_replace(count as u64);
        for stranger in told {
            stranger.deliver(ServerMessage::Online {
                count: count as u64,
            });
        }
    }

    /// `id` stops waiting or ends their chat; they stay connected.
    pub fn leave(&self, id: StrangerId) {
        self.state().leave(id);
    }

    /// `id` reports their partner: the chat ends (the partner hears only that the
    /// stranger left), and the partner's address and the chat's mode come back
    /// for the report.
    pub fn report(&self, id: StrangerId) -> Result<ReportedChat, LobbyError> {
        let mut state = self.state();
        let room = state.room_of(id)?.ok_or(LobbyError::NotInChat)?;
        if room.is_reader(id) {
            return Err(LobbyError::ReadOnly);
        }
        let mode = room.mode();
        let facts = room.facts_for(id);
        let remote = room.remote().and_then(|partner| partner.address);
        let reported = room
            .writers()
            .filter(|&member| member != id)
            .find_map(|member| state.strangers.get(&member)?.stranger.address())
            .or(remote);
        state.leave(id);
        Ok(ReportedChat {
            reported,
            mode,
            facts,
        })
    }

    /// With a shared queue, hands a report to Redis to be counted with those
    /// of every instance, and returns true; alone, returns false (the caller
    /// counts it here).
    pub fn share_report(&self, report: FiledReport) -> bool {
        match self.state().queue.cluster() {
            Some(cluster) => {
                let _ = cluster.link.report(report);
                true
            }
            None => false,
        }
    }

    /// Bans `address`: everyone connected from it is told for how long and
    /// disconnected (their partners hear that the stranger left).
    pub fn ban(&self, address: AddressKey, seconds: u64) {
        let state = self.state();
        for seat in state.strangers.values() {
            if seat.stranger.address() == Some(address) {
                seat.stranger.deliver(ServerMessage::Banned { seconds });
                seat.stranger.kick(Kick::Banned);
            }
        }
    }

    /// `id`'s connection is gone: they leave wherever they were and are forgotten,
    /// in one step, so nobody can be matched with them afterwards.
    pub fn depart(&self, id: StrangerId) {
        let mut state = self.state();
        state.leave(id);
        state.queue.forget(id);
        state.strangers.remove(&id);
    }

    /// Where `id` is, if connected.
    pub fn place(&self, id: StrangerId) -> Option<Place> {
        self.state().strangers.get(&id).map(|seat| seat.place)
    }

    /// How many strangers are connected to every instance together.
    pub fn online_everywhere(&self) -> usize {
        let state = self.state();
        state.strangers.len() + state.online_elsewhere
    }

    /// How many strangers are connected.
    pub fn online(&self) -> usize {
        self.state().strangers.len()
    }

    /// How many of this instance's strangers are waiting for a partner.
    pub fn waiting(&self) -> usize {
        let state = self.state();
        state.waiting_here().len() + state.questions.waiting()
    }

    /// How many chats are in progress.
    pub fn rooms(&self) -> usize {
        self.state().rooms.len()
    }

    /// The members of every chat in progress.
    pub fn chats(&self) -> Vec<Vec<StrangerId>> {
        let state = self.state();
        state
            .rooms
            .values()
            .map(|r| r.member_ids().collect())
            .collect()
    }

    /// Panics if the lobby's bookkeeping disagrees with itself. For tests.
    pub fn assert_consistent(&self) {
        self.state().assert_consistent();
    }
}

impl State {
    /// Marks up to [`ONLINE_NOTICES_PER_ANNOUNCEMENT`] strangers whose count
    /// is out of date as told `count`, from where the last call stopped, and
    /// returns them to be told.
    fn tell_online(&mut self, count: usize) -> Vec<Stranger> {
        let seats = self.strangers.len();
        let start = if self.online_cursor < seats {
            self.online_cursor
        } else {
            0
        };
        let mut told = Vec::new();
        // The seats from `start` to the end, then from the beginning to `start`.
        let after_tail = tell_in_turn(
            self.strangers.values_mut().enumerate().skip(start),
            count,
            &mut told,
        );
        let after_head = tell_in_turn(
            self.strangers.values_mut().enumerate().take(start),
            count,
            &mut told,
        );
        let resume_at = after_head.or(after_tail).unwrap_or(start);
        self.online_cursor = resume_at % seats.max(1);
        told
    }

    fn join(
        &mut self,
        id: StrangerId,
        request: JoinRequest,
        now: Instant,
    ) -> Result<(), LobbyError> {
        let seat = self.strangers.get(&id).ok_or(LobbyError::UnknownStranger)?;
        match seat.place {
            Place::Waiting => {
                seat.stranger.deliver(ServerMessage::Waiting);
                return Ok(());
            }
            Place::Chatting(room) => self.leave_room(id, room),
            Place::Idle => {}
        }
        if let Some(seat) = self.strangers.get_mut(&id) {
            seat.hides_address = request.hide_ip;
        }
        let discussion = match request.kind {
            JoinKind::Chat => None,
            JoinKind::Ask(question) => Some(self.questions.ask(Asker {
                id,
                browser: request.browser.clone(),
                question,
            })),
            JoinKind::Discuss => Some(self.questions.discuss(Discusser {
                id,
                browser: request.browser.clone(),
            })),
        };
        if let Some(discussion) = discussion {
            match discussion {
                Some(discussion) => self.seat_discussion(discussion),
                None => {
                    self.set_place(id, Place::Waiting);
                    self.tell(id, ServerMessage::Waiting);
                }
            }
            return Ok(());
        }
        let mut interests = request.interests;
        if let Some(language) = request.language {
            interests.push(format!("{LANGUAGE_PREFIX}{language}"));
        }
        let seeker = Seeker {
            id,
            browser: request.browser,
            interests,
            only_shared: request.only_shared,
            mode: request.mode,
        };
        let address = self.strangers.get(&id).and_then(|s| s.stranger.address());
        match self.queue.join(seeker.clone(), address, now) {
            Queued::Waiting => {
                if let Some(seat) = self.strangers.get_mut(&id) {
                    seat.seeking = Some(seeker);
                }
                self.set_place(id, Place::Waiting);
                self.tell(id, ServerMessage::Waiting);
            }
            Queued::Paired(pairing) => self.seat(Seating::from(pairing)),
            Queued::Refused => self.tell(id, ServerMessage::error(ErrorCode::MatchingPaused)),
        }
        Ok(())
    }

    /// Seats a pairing in a new room and tells each member here, whichever
    /// queue made it.
    fn seat(&mut self, seating: Seating) {
        for waited in seating.waited {
            self.metrics.waited(waited);
        }
        self.metrics.paired(seating.mode);
        let mut room = Room::for_mode(seating.mode);
        if let Some(partner) = seating.elsewhere {
            room.add_remote(partner);
        }
        let ice_servers = match seating.mode {
            Mode::Video => self.ice.for_call(std::time::SystemTime::now()),
            Mode::Text => Vec::new(),
        };
        // A shared language is told apart from shared interests.
        let (languages, interests): (Vec<String>, Vec<String>) = seating
            .common_interests
            .into_iter()
            .partition(|interest| interest.starts_with(LANGUAGE_PREFIX));
        let common_language = languages
            .first()
            .map(|language| language[LANGUAGE_PREFIX.len()..].to_owned());
        for (member, role) in seating.here {
            let call = (seating.mode == Mode::Video).then(|| CallSetup {
                role,
                ice_servers: ice_servers.clone(),
            });
            if let Some(seat) = self.strangers.get_mut(&member) {
                seat.place = Place::Chatting(room.id());
                seat.seeking = None;
                room.add(seat.stranger.clone());
                seat.stranger.deliver(ServerMessage::Paired {
                    common_interests: interests.clone(),
                    call,
                    common_language: common_language.clone(),
                });
            }
        }
        self.rooms.insert(room.id(), room);
    }

    /// Seats a question's asker and its two discussers in a new room: the
    /// discussers are paired and told the question; the asker is told they
    /// read along.
    fn seat_discussion(&mut self, discussion: Discussion) {
        self.metrics.paired(Mode::Text);
        let question = discussion.asker.question;
        let mut room = Room::for_mode(Mode::Text);
        let [first, second] = discussion.discussers;
        let seated = [
            (first.id, false),
            (second.id, false),
            (discussion.asker.id, true),
        ];
        for (member, reading) in seated {
            if let Some(seat) = self.strangers.get_mut(&member) {
                seat.place = Place::Chatting(room.id());
                seat.seeking = None;
                if reading {
                    room.add_reader(seat.stranger.clone());
                } else {
                    room.add(seat.stranger.clone());
                }
                seat.stranger.deliver(ServerMessage::Paired {
                    common_interests: Vec::new(),
                    call: None,
                    common_language: None,
                });
                seat.stranger.deliver(ServerMessage::Question {
                    text: question.clone(),
                    reading,
                });
            }
        }
        self.rooms.insert(room.id(), room);
    }

    /// The room `id` is chatting in, if any.
    fn room_of(&self, id: StrangerId) -> Result<Option<&Room>, LobbyError> {
        let seat = self.strangers.get(&id).ok_or(LobbyError::UnknownStranger)?;
        Ok(match seat.place {
            Place::Chatting(room_id) => self.rooms.get(&room_id),
            Place::Idle | Place::Waiting => None,
        })
    }

    /// The room `id` is chatting in, if any, to change it.
    fn room_of_mut(&mut self, id: StrangerId) -> Result<Option<&mut Room>, LobbyError> {
        let seat = self.strangers.get(&id).ok_or(LobbyError::UnknownStranger)?;
        Ok(match seat.place {
            Place::Chatting(room_id) => self.rooms.get_mut(&room_id),
            Place::Idle | Place::Waiting => None,
        })
    }

    /// Relays `message`, which reached the server at `since`, from `id` to
    /// the others in their room.
    fn relay(
        &mut self,
        id: StrangerId,
        message: ServerMessage,
        since: Instant,
    ) -> Result<(), LobbyError> {
        let room = self.room_of_mut(id)?.ok_or(LobbyError::NotInChat)?;
        if room.is_reader(id) {
            return Err(LobbyError::ReadOnly);
        }
        room.relay_since(id, message, since)
            .map_err(|_| LobbyError::NotInChat)
    }

    fn leave(&mut self, id: StrangerId) {
        match self.strangers.get(&id).map(|seat| seat.place) {
            Some(Place::Waiting) => {
                // Those in the queue carry what they seek; those waiting for a
                // question do not.
                let seeking = self
                    .strangers
                    .get_mut(&id)
                    .and_then(|seat| seat.seeking.take());
                if seeking.is_some() {
                    self.queue.leave(id);
                } else {
                    self.questions.leave(id);
                }
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
        if room.is_over() {
            self.end_room(room_id);
        }
    }

    /// Removes a room whose chat is over; whoever is still in it becomes idle.
    fn end_room(&mut self, room_id: RoomId) {
        if let Some(room) = self.rooms.remove(&room_id) {
            for member in room.member_ids() {
                self.set_place(member, Place::Idle);
            }
        }
    }

    /// How many of this instance's strangers wait in `mode`: the matchmaker
    /// knows, or with a shared queue, their seats do.
    fn waiting_in(&self, mode: Mode) -> usize {
        if let Some(count) = self.queue.waiting_in(mode) {
            return count;
        }
        self.strangers
            .values()
            .filter(|seat| seat.place == Place::Waiting)
            .filter(|seat| seat.seeking.as_ref().is_some_and(|s| s.mode == mode))
            .count()
    }

    /// See [`Lobby::paired`].
    fn paired(&mut self, m: Match) {
        let Some(cluster) = self.queue.cluster().cloned() else {
            return;
        };
        let local_partner = m.partner_instance == cluster.instance;
        let place_of = |state: &State, id| state.strangers.get(&id).map(|seat| seat.place);
        // Both on this instance and already seated together: the same pairing,
        // told to each of them (the interest timeout's pairings are).
        if let Some(Place::Chatting(room)) = place_of(self, m.me)
            && self.rooms.get(&room).is_some_and(|r| r.contains(m.partner))
        {
            return;
        }
        if place_of(self, m.me) != Some(Place::Waiting) {
            // Ours left or departed while Redis paired them: the pairing does
            // not happen. A partner here asks again; one elsewhere is told.
            if local_partner {
                self.ask_again(m.partner);
            } else {
                cluster.link.send(Outbound {
                    instance: m.partner_instance.clone(),
                    from: m.me,
                    to: m.partner,
                    message: ServerMessage::StrangerLeft,
                });
            }
            return;
        }
        if local_partner && place_of(self, m.partner) != Some(Place::Waiting) {
            self.ask_again(m.me);
            return;
        }
        let role = |offers| {
            if offers {
                CallRole::Offer
            } else {
                CallRole::Answer
            }
        };
        let seating = if local_partner {
            Seating {
                mode: m.mode,
                common_interests: m.common_interests,
                waited: vec![m.waited, m.partner_waited],
                here: vec![(m.me, role(m.offers)), (m.partner, role(!m.offers))],
                elsewhere: None,
            }
        } else {
            Seating {
                mode: m.mode,
                common_interests: m.common_interests,
                waited: vec![m.waited],
                here: vec![(m.me, role(m.offers))],
                elsewhere: Some(RemotePartner {
                    id: m.partner,
                    instance: m.partner_instance,
                    address: m.partner_address,
                    link: cluster.link.clone(),
                }),
            }
        };
        self.seat(seating);
    }

    /// `id`, still waiting here, lost the partner Redis found: back in the queue.
    fn ask_again(&mut self, id: StrangerId) {
        let Some(seat) = self.strangers.get(&id) else {
            return;
        };
        let (Place::Waiting, Some(seeker)) = (seat.place, seat.seeking.clone()) else {
            return;
        };
        let address = seat.stranger.address();
        match self.queue.join(seeker, address, Instant::now()) {
            Queued::Waiting => {}
            Queued::Paired(pairing) => self.seat(Seating::from(pairing)),
            Queued::Refused => self.stop_waiting(id),
        }
    }

    /// `id`, if waiting, stops: matching cannot go on for now. They are told
    /// plainly ("New" asks again).
    fn stop_waiting(&mut self, id: StrangerId) {
        if self.strangers.get(&id).map(|seat| seat.place) != Some(Place::Waiting) {
            return;
        }
        self.set_place(id, Place::Idle);
        if let Some(seat) = self.strangers.get_mut(&id) {
            seat.seeking = None;
        }
        self.tell(id, ServerMessage::error(ErrorCode::MatchingPaused));
    }

    /// The strangers of this instance who are waiting in the queue (here or
    /// shared), not for a question.
    fn waiting_here(&self) -> Vec<StrangerId> {
        self.strangers
            .iter()
            .filter(|(_, seat)| seat.place == Place::Waiting && seat.seeking.is_some())
            .map(|(id, _)| *id)
            .collect()
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
        self.queue.assert_consistent();
        let mut seated = 0;
        for (id, seat) in &self.strangers {
            assert_eq!(*id, seat.stranger.id());
            let queued = self.queue.holds(*id);
            match seat.place {
                Place::Idle => {
                    assert_ne!(queued, Some(true), "{id} idle but queued");
                    assert!(
                        !self.questions.holds(*id),
                        "{id} idle but waits for a question"
                    );
                }
                Place::Waiting => assert!(
                    queued != Some(false) || self.questions.holds(*id),
                    "{id} lost from queue"
                ),
                Place::Chatting(room) => {
                    assert_ne!(queued, Some(true), "{id} in two places");
                    let room = self.rooms.get(&room).expect("a chatter's room exists");
                    assert!(room.contains(*id));
                    seated += 1;
                }
            }
        }
        if let Queue::Here(matchmaker) = &self.queue {
            assert_eq!(
                matchmaker.waiting(),
                self.waiting_here().len(),
                "the queue holds only waiting strangers"
            );
        }
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
    use crate::protocol::IceServer;
    use crate::server::stranger::Inbox;
    use crate::server::stranger::tests::stranger;

    fn arrive(lobby: &Lobby) -> (StrangerId, Inbox) {
        let (s, mut rx) = stranger();
        let id = s.id();
        lobby.arrive(s, None);
        assert!(matches!(rx.try_recv(), Ok(ServerMessage::Welcome { .. })));
        assert!(matches!(rx.try_recv(), Ok(ServerMessage::Online { .. })));
        (id, rx)
    }

    const PAIRED: ServerMessage = ServerMessage::Paired {
        common_interests: Vec::new(),
        call: None,
        common_language: None,
    };

    fn drain(rx: &mut Inbox) -> Vec<ServerMessage> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    type Arrival = (StrangerId, Inbox);

    /// A lobby where two strangers have just been paired, their queues read.
    fn paired() -> (Lobby, Arrival, Arrival) {
        let lobby = Lobby::default();
        let (alice, mut alice_rx) = arrive(&lobby);
        let (bob, mut bob_rx) = arrive(&lobby);
        lobby.join(alice, JoinRequest::default()).unwrap();
        lobby.join(bob, JoinRequest::default()).unwrap();
        drain(&mut alice_rx);
        drain(&mut bob_rx);
        (lobby, (alice, alice_rx), (bob, bob_rx))
    }

    fn ask(question: &str) -> JoinRequest {
        JoinRequest {
            kind: JoinKind::Ask(question.to_owned()),
            ..JoinRequest::default()
        }
    }

    fn discuss() -> JoinRequest {
        JoinRequest {
            kind: JoinKind::Discuss,
            ..JoinRequest::default()
        }
    }

    /// A question asked by the first, discussed by the second and third,
    /// their queues read.
    fn discussion() -> (Lobby, Arrival, Arrival, Arrival) {
        let lobby = Lobby::default();
        let (asker, mut asker_rx) = arrive(&lobby);
        let (one, mut one_rx) = arrive(&lobby);
        let (two, mut two_rx) = arrive(&lobby);
        lobby.join(asker, ask("Cats or dogs?")).unwrap();
        lobby.join(one, discuss()).unwrap();
        lobby.join(two, discuss()).unwrap();
        let question = |reading| ServerMessage::Question {
            text: "Cats or dogs?".into(),
            reading,
        };
        assert_eq!(
            drain(&mut asker_rx),
            [ServerMessage::Waiting, PAIRED, question(true)]
        );
        assert_eq!(
            drain(&mut one_rx),
            [ServerMessage::Waiting, PAIRED, question(false)]
        );
        assert_eq!(drain(&mut two_rx), [PAIRED, question(false)]);
        lobby.assert_consistent();
        (lobby, (asker, asker_rx), (one, one_rx), (two, two_rx))
    }

    #[test]
    fn a_question_is_discussed_by_two_while_its_asker_reads_who_said_what() {
        let (lobby, (asker, mut asker_rx), (one, mut one_rx), (two, mut two_rx)) = discussion();
        assert_eq!(lobby.chats(), [vec![one, two, asker]]);

        lobby.say(one, "cats").unwrap();
        lobby.typing(two, true).unwrap();
        lobby.say(two, "dogs").unwrap();
        assert_eq!(
            drain(&mut asker_rx),
            [
                ServerMessage::Discussed {
                    discusser: 1,
                    text: "cats".into()
                },
                ServerMessage::DiscusserTyping {
                    discusser: 2,
                    typing: true
                },
                ServerMessage::Discussed {
                    discusser: 2,
                    text: "dogs".into()
                },
            ]
        );
        // The discussers hear each other as in any chat.
        assert_eq!(
            drain(&mut two_rx),
            [ServerMessage::Message {
                text: "cats".into()
            }]
        );
        assert_eq!(
            drain(&mut one_rx),
            [
                ServerMessage::Typing { typing: true },
                ServerMessage::Message {
                    text: "dogs".into()
                }
            ]
        );
    }

    #[test]
    fn the_asker_reads_along_and_can_neither_write_nor_report() {
        let (lobby, (asker, mut asker_rx), (_, mut one_rx), (_, mut two_rx)) = discussion();
        assert_eq!(lobby.say(asker, "me too"), Err(LobbyError::ReadOnly));
        assert_eq!(lobby.report(asker), Err(LobbyError::ReadOnly));
        let _ = lobby.typing(asker, true);
        assert!(
            drain(&mut one_rx).is_empty(),
            "nothing from the reader reaches anyone"
        );
        assert!(drain(&mut two_rx).is_empty());
        assert!(drain(&mut asker_rx).is_empty());
        assert_eq!(lobby.rooms(), 1, "refusals end nothing");
        lobby.assert_consistent();
    }

    #[test]
    fn a_discusser_leaving_ends_the_discussion_and_the_asker_hears_which() {
        let (lobby, (asker, mut asker_rx), (one, mut one_rx), (two, mut two_rx)) = discussion();
        lobby.leave(two);
        assert_eq!(
            drain(&mut asker_rx),
            [ServerMessage::DiscusserLeft { discusser: 2 }]
        );
        assert_eq!(drain(&mut one_rx), [ServerMessage::StrangerLeft]);
        assert!(drain(&mut two_rx).is_empty());
        assert_eq!(lobby.rooms(), 0);
        for id in [asker, one, two] {
            assert_eq!(lobby.place(id), Some(Place::Idle));
        }
        lobby.assert_consistent();
    }

    #[test]
    fn when_the_asker_stops_the_two_chat_on_unread() {
        let (lobby, (asker, mut asker_rx), (one, mut one_rx), (two, mut two_rx)) = discussion();
        lobby.depart(asker);
        assert_eq!(drain(&mut one_rx), [ServerMessage::AskerLeft]);
        assert_eq!(drain(&mut two_rx), [ServerMessage::AskerLeft]);
        lobby.say(one, "just us now").unwrap();
        assert_eq!(
            drain(&mut two_rx),
            [ServerMessage::Message {
                text: "just us now".into()
            }]
        );
        assert!(drain(&mut asker_rx).is_empty());
        assert_eq!(lobby.chats(), [vec![one, two]]);
        // A report now names the other discusser, as in any chat.
        lobby.report(two).unwrap();
        assert_eq!(drain(&mut one_rx), [ServerMessage::StrangerLeft]);
        lobby.assert_consistent();
    }

    #[test]
    fn only_those_who_chose_to_discuss_are_chosen_and_leaving_the_queue_works() {
        let lobby = Lobby::default();
        let (asker, mut asker_rx) = arrive(&lobby);
        let (chatter, mut chatter_rx) = arrive(&lobby);
        let (other, _other_rx) = arrive(&lobby);
        lobby.join(asker, ask("Why?")).unwrap();
        lobby.join(chatter, JoinRequest::default()).unwrap();
        lobby.join(other, discuss()).unwrap();
        assert_eq!(
            lobby.rooms(),
            0,
            "a stranger looking for a chat is never made to discuss"
        );
        assert_eq!(lobby.waiting(), 3);
        lobby.assert_consistent();

        lobby.leave(asker);
        assert_eq!(lobby.place(asker), Some(Place::Idle));
        let (late, _late_rx) = arrive(&lobby);
        lobby.join(late, discuss()).unwrap();
        assert_eq!(lobby.rooms(), 0, "the question left with its asker");
        assert_eq!(drain(&mut asker_rx), [ServerMessage::Waiting]);
        assert_eq!(drain(&mut chatter_rx), [ServerMessage::Waiting]);
        lobby.assert_consistent();
    }

    fn speaking(language: &str, interests: &[&str]) -> JoinRequest {
        JoinRequest {
            language: Some(language.to_owned()),
            interests: interests.iter().map(|i| i.to_string()).collect(),
            ..JoinRequest::default()
        }
    }

    #[test]
    fn two_who_chat_in_french_are_paired_over_one_who_does_not_and_told_apart_from_interests() {
        let lobby = Lobby::default();
        let (french, mut french_rx) = arrive(&lobby);
        let (anyone, mut anyone_rx) = arrive(&lobby);
        let (also_french, mut also_french_rx) = arrive(&lobby);
        lobby.join(french, speaking("fr", &["jazz"])).unwrap();
        lobby.join(anyone, JoinRequest::default()).unwrap();
        lobby
            .join(also_french, speaking("fr", &["jazz", "chess"]))
            .unwrap();
        assert_eq!(lobby.chats(), [vec![french, also_french]]);
        let told = ServerMessage::Paired {
            common_interests: vec!["jazz".into()],
            call: None,
            common_language: Some("fr".into()),
        };
        assert_eq!(
            drain(&mut french_rx),
            [ServerMessage::Waiting, told.clone()]
        );
        assert_eq!(drain(&mut also_french_rx), [told]);
        assert_eq!(drain(&mut anyone_rx), [ServerMessage::Waiting]);
        lobby.assert_consistent();
    }

    #[test]
    fn a_language_nobody_else_chose_falls_back_to_anyone_like_an_interest() {
        let lobby = Lobby::new(Duration::from_secs(5));
        let (spanish, mut spanish_rx) = arrive(&lobby);
        let (german, mut german_rx) = arrive(&lobby);
        let start = Instant::now();
        lobby.join(spanish, speaking("es", &[])).unwrap();
        lobby.join(german, speaking("de", &[])).unwrap();
        lobby.tick(start + Duration::from_secs(1));
        assert_eq!(lobby.rooms(), 0, "each waits for their own language first");
        lobby.tick(start + Duration::from_secs(6));
        assert_eq!(lobby.rooms(), 1, "then anyone will do");
        for rx in [&mut spanish_rx, &mut german_rx] {
            assert_eq!(
                drain(rx),
                [ServerMessage::Waiting, PAIRED],
                "no shared language told"
            );
        }
    }

    #[test]
    fn in_a_crowd_each_announcement_tells_a_bounded_share_and_everyone_in_turn() {
        let lobby = Lobby::new(DEFAULT_INTEREST_TIMEOUT);
        let crowd = ONLINE_NOTICES_PER_ANNOUNCEMENT * 5 / 2;
        let mut inboxes: Vec<Inbox> = (0..crowd).map(|_| arrive(&lobby).1).collect();
        for inbox in &mut inboxes {
            while inbox.try_recv().is_ok() {} // the welcome and the count then
        }
        let told_of = |inboxes: &mut Vec<Inbox>, count: u64| {
            inboxes
                .iter_mut()
                .map(|inbox| {
                    std::iter::from_fn(|| inbox.try_recv().ok())
                        .any(|message| message == ServerMessage::Online { count })
                })
                .filter(|&heard| heard)
                .count()
        };
        // Everyone was told a count on arrival; 5% more arrive (not read here).
        let newcomers: Vec<_> = (0..crowd / 20).map(|_| arrive(&lobby)).collect();
        let now = (crowd + newcomers.len()) as u64;
        let mut heard = 0;
        for announcement in 1..=3 {
            lobby.announce_online();
            let told = told_of(&mut inboxes, now);
            assert!(
                told <= ONLINE_NOTICES_PER_ANNOUNCEMENT,
                "announcement {announcement}"
            );
            heard += told;
        }
        assert_eq!(
            heard, crowd,
            "after three announcements everyone has heard, once"
        );
        lobby.announce_online();
        assert_eq!(
            told_of(&mut inboxes, now),
            0,
            "nobody hears the same count twice"
        );
    }

    #[test]
    fn small_counts_are_announced_exactly_and_crowds_by_the_percent() {
        assert!(worth_announcing(None, 5));
        assert!(worth_announcing(Some(5), 6));
        assert!(!worth_announcing(Some(6), 6));
        assert!(worth_announcing(Some(98), 99));
        assert!(!worth_announcing(Some(20_000), 20_150));
        assert!(worth_announcing(Some(20_000), 20_200));
        assert!(worth_announcing(Some(20_000), 19_800));
    }

    #[test]
    fn two_joiners_are_paired_and_chat() {
        let lobby = Lobby::default();
        let (alice, mut alice_rx) = arrive(&lobby);
        let (bob, mut bob_rx) = arrive(&lobby);
        lobby.join(alice, JoinRequest::default()).unwrap();
        lobby.join(bob, JoinRequest::default()).unwrap();
        lobby.assert_consistent();
        assert_eq!(drain(&mut alice_rx), [ServerMessage::Waiting, PAIRED]);
        assert_eq!(drain(&mut bob_rx), [PAIRED]);

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

        lobby.join(alice, JoinRequest::default()).unwrap();
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
        let lobby = Lobby::default();
        let (ghost, _ghost_rx) = arrive(&lobby);
        lobby.join(ghost, JoinRequest::default()).unwrap();
        lobby.depart(ghost);
        assert_eq!(lobby.online(), 0);
        assert_eq!(lobby.waiting(), 0);

        let (alice, mut alice_rx) = arrive(&lobby);
        let (bob, _bob_rx) = arrive(&lobby);
        lobby.join(alice, JoinRequest::default()).unwrap();
        lobby.join(bob, JoinRequest::default()).unwrap();
        lobby.assert_consistent();
        assert_eq!(drain(&mut alice_rx), [ServerMessage::Waiting, PAIRED]);
        assert_eq!(
            lobby.join(ghost, JoinRequest::default()),
            Err(LobbyError::UnknownStranger)
        );
    }

    #[test]
    fn a_departure_mid_chat_frees_the_partner() {
        let (lobby, (alice, _alice_rx), (bob, mut bob_rx)) = paired();
        lobby.depart(alice);
        lobby.assert_consistent();
        assert_eq!(drain(&mut bob_rx), [ServerMessage::StrangerLeft]);
        lobby.join(bob, JoinRequest::default()).unwrap();
        assert_eq!(drain(&mut bob_rx), [ServerMessage::Waiting]);
    }

    #[test]
    fn video_strangers_get_call_roles_and_signal_only_to_their_partner() {
        let turn = IceServer {
            urls: vec!["turn:turn.example.org:3478".into()],
            username: Some("user".into()),
            credential: Some("secret".into()),
        };
        let ice = IceConfig {
            servers: vec![turn.clone()],
            ..IceConfig::default()
        };
        let lobby = Lobby::default().with_ice(ice);
        let video = JoinRequest {
            mode: Mode::Video,
            ..JoinRequest::default()
        };
        let (alice, mut alice_rx) = {
            let (s, rx) = stranger();
            let id = s.id();
            lobby.arrive(s, None);
            (id, rx)
        };
        assert_eq!(
            alice_rx.try_recv(),
            Ok(ServerMessage::Welcome {
                relay: true,
                challenge: None
            }),
            "a TURN server means addresses can be hidden"
        );
        let (bob, mut bob_rx) = arrive(&lobby);
        let (carol, mut carol_rx) = arrive(&lobby);
        let offer = CallSignal::Offer { sdp: "v=0".into() };
        assert_eq!(
            lobby.signal(alice, offer.clone()),
            Err(LobbyError::NotInCall),
            "idle"
        );
        lobby.join(carol, JoinRequest::default()).unwrap();
        lobby.join(alice, video.clone()).unwrap();
        assert_eq!(
            lobby.signal(alice, offer.clone()),
            Err(LobbyError::NotInCall),
            "waiting"
        );
        lobby.join(bob, video).unwrap();
        lobby.assert_consistent();
        let paired_as = |role| ServerMessage::Paired {
            common_interests: Vec::new(),
            call: Some(CallSetup {
                role,
                ice_servers: vec![turn.clone()],
            }),
            common_language: None,
        };
        let alice_heard = drain(&mut alice_rx);
        assert_eq!(
            alice_heard.last(),
            Some(&paired_as(CallRole::Answer)),
            "the one who waited answers"
        );
        assert_eq!(drain(&mut bob_rx), [paired_as(CallRole::Offer)]);

        lobby.signal(bob, offer.clone()).unwrap();
        assert_eq!(
            drain(&mut alice_rx),
            [ServerMessage::Signal { signal: offer }]
        );
        assert_eq!(drain(&mut bob_rx), [], "not echoed to the sender");
        assert_eq!(
            drain(&mut carol_rx),
            [ServerMessage::Waiting],
            "nobody else hears it"
        );
    }

    #[test]
    fn a_report_ends_the_chat_and_names_the_partners_address() {
        let gate = crate::server::network::Gatekeeper::new(Default::default(), Default::default());
        let troll_home = gate.key_of("198.51.100.66".parse().unwrap());
        let lobby = Lobby::default();
        let (reporter, mut reporter_rx) = arrive(&lobby);
        let (s, mut troll_rx) = stranger();
        let troll = s.id();
        lobby.arrive(s.clone().from_address(troll_home), None);
        lobby.join(reporter, JoinRequest::default()).unwrap();
        lobby.join(troll, JoinRequest::default()).unwrap();
        drain(&mut reporter_rx);
        drain(&mut troll_rx);
        lobby.say(reporter, "hello?").unwrap();
        drain(&mut troll_rx);

        let reported = lobby.report(reporter).unwrap();
        assert_eq!(
            (reported.reported, reported.mode),
            (Some(troll_home), Mode::Text)
        );
        assert!(
            !reported.facts.reported_sent,
            "the reporter's own message is not the stranger's"
        );
        assert!(reported.facts.lasted < Duration::from_secs(10));
        lobby.assert_consistent();
        assert_eq!(drain(&mut troll_rx), [ServerMessage::StrangerLeft]);
        assert_eq!(lobby.place(reporter), Some(Place::Idle));
        assert_eq!(
            lobby.report(reporter),
            Err(LobbyError::NotInChat),
            "only in a chat"
        );

        lobby.ban(troll_home, 60);
        assert_eq!(
            drain(&mut troll_rx),
            [ServerMessage::Banned { seconds: 60 }]
        );
        assert_eq!(s.kicked_for(), Some(Kick::Banned));
        assert_eq!(drain(&mut reporter_rx), [], "others are left alone");
    }

    #[test]
    fn with_a_shared_queue_a_partner_on_another_instance_is_reported_to_redis() {
        use crate::server::seam::{
            ClusterSide, Link, Match, Outbound, Outgoing, Request, Requests,
        };
        let gate = crate::server::network::Gatekeeper::new(Default::default(), Default::default());
        let [home, troll_home] =
            ["203.0.113.1", "198.51.100.66"].map(|ip| gate.key_of(ip.parse().unwrap()));
        let (requests, mut asked) = Requests::new();
        let (link, mut outbound) = Link::new();
        let lobby = Lobby::default().with_cluster(ClusterSide {
            instance: "here".into(),
            requests,
            link,
        });
        let (s, mut reporter_rx) = stranger();
        let reporter = s.id();
        lobby.arrive(s.from_address(home), None);
        lobby.join(reporter, JoinRequest::default()).unwrap();
        assert!(
            matches!(
                asked.try_recv(),
                Some((_, Request::Join(_, Some(address)))) if address == home
            ),
            "the queue learns the joiner's network"
        );
        let troll = StrangerId::new();
        lobby.paired(Match {
            me: reporter,
            partner: troll,
            partner_instance: "there".into(),
            partner_address: Some(troll_home),
            mode: Mode::Text,
            waited: Duration::ZERO,
            partner_waited: Duration::ZERO,
            common_interests: Vec::new(),
            offers: true,
        });
        drain(&mut reporter_rx);
        lobby.from_remote(
            troll,
            reporter,
            ServerMessage::Message {
                text: "spam".into(),
            },
        );
        drain(&mut reporter_rx);

        let reported = lobby.report(reporter).unwrap();
        assert_eq!(
            (reported.reported, reported.mode),
            (Some(troll_home), Mode::Text)
        );
        assert!(reported.facts.reported_sent, "the remote partner spoke");
        assert_eq!(
            outbound.try_recv().unwrap(),
            Outgoing::Relay(Outbound {
                instance: "there".into(),
                from: reporter,
                to: troll,
                message: ServerMessage::StrangerLeft,
            })
        );
        let report = FiledReport::new(
            crate::protocol::ReportReason::Spam,
            Vec::new(),
            Mode::Text,
            home,
            troll_home,
        );
        assert!(lobby.share_report(report.clone()));
        assert_eq!(
            outbound.try_recv().unwrap(),
            Outgoing::Report(report.clone()),
            "behind the partner's goodbye"
        );
        assert!(
            !Lobby::default().share_report(report),
            "alone: counted here"
        );
        lobby.assert_consistent();
    }

    #[test]
    fn call_setup_is_refused_in_a_text_chat() {
        let (lobby, (alice, _), (_, mut bob_rx)) = paired();
        let offer = CallSignal::Offer { sdp: "v=0".into() };
        assert_eq!(lobby.signal(alice, offer), Err(LobbyError::NotInCall));
        assert_eq!(drain(&mut bob_rx), []);
    }

    #[test]
    fn leaving_the_queue_and_idle_leaves_are_harmless() {
        let lobby = Lobby::default();
        let (alice, _rx) = arrive(&lobby);
        lobby.leave(alice);
        lobby.join(alice, JoinRequest::default()).unwrap();
        lobby.join(alice, JoinRequest::default()).unwrap();
        assert_eq!(lobby.waiting(), 1);
        lobby.leave(alice);
        lobby.assert_consistent();
        assert_eq!(lobby.waiting(), 0);
        assert_eq!(lobby.place(alice), Some(Place::Idle));
    }

    #[test]
    fn a_forgotten_instance_ends_its_chats_across_instances_on_both_sides() {
        use crate::server::seam::{ClusterSide, Link, Match, Outbound, Outgoing, Requests};
        let (requests, _asked) = Requests::new();
        let (link, mut outbound) = Link::new();
        let lobby = Lobby::default().with_cluster(ClusterSide {
            instance: "here".into(),
            requests,
            link,
        });
        let (alice, mut alice_rx) = arrive(&lobby);
        let (carol, mut carol_rx) = arrive(&lobby);
        lobby.join(alice, JoinRequest::default()).unwrap();
        let bob = StrangerId::new();
        lobby.paired(Match {
            me: alice,
            partner: bob,
            partner_instance: "there".into(),
            partner_address: None,
            mode: Mode::Text,
            waited: Duration::ZERO,
            partner_waited: Duration::ZERO,
            common_interests: Vec::new(),
            offers: true,
        });
        // Carol waits: the heartbeat queues her again; she has no chat to end.
        lobby.join(carol, JoinRequest::default()).unwrap();
        for rx in [&mut alice_rx, &mut carol_rx] {
            drain(rx);
        }

        lobby.end_chats_across_instances(Instant::now());
        assert_eq!(drain(&mut alice_rx), [ServerMessage::StrangerLeft]);
        assert_eq!(lobby.place(alice), Some(Place::Idle));
        assert_eq!(
            outbound.try_recv().unwrap(),
            Outgoing::Relay(Outbound {
                instance: "there".into(),
                from: alice,
                to: bob,
                message: ServerMessage::StrangerLeft,
            }),
            "the partner elsewhere is told too"
        );
        assert_eq!(drain(&mut carol_rx), []);
        assert_eq!(lobby.place(carol), Some(Place::Waiting));
    }

    #[test]
    fn a_call_relays_a_bounded_number_of_offers_and_answers_but_any_candidates() {
        let lobby = Lobby::default();
        let (alice, mut alice_rx) = arrive(&lobby);
        let (bob, mut bob_rx) = arrive(&lobby);
        let video = || JoinRequest {
            mode: Mode::Video,
            ..JoinRequest::default()
        };
        lobby.join(alice, video()).unwrap();
        lobby.join(bob, video()).unwrap();
        drain(&mut alice_rx);
        drain(&mut bob_rx);
        let offer = || CallSignal::Offer {
            sdp: "v=0".repeat(1000),
        };
        for _ in 0..crate::server::room::MAX_DESCRIPTIONS_PER_CALL {
            lobby.signal(alice, offer()).unwrap();
        }
        assert_eq!(lobby.signal(alice, offer()), Err(LobbyError::TooManyOffers));
        let answer = CallSignal::Answer { sdp: "v=0".into() };
        assert_eq!(lobby.signal(bob, answer), Err(LobbyError::TooManyOffers));
        let candidate = CallSignal::Candidate {
            candidate: "candidate:1".into(),
            sdp_mid: None,
            sdp_m_line_index: None,
        };
        assert_eq!(lobby.signal(bob, candidate), Ok(()));
        assert_eq!(
            drain(&mut bob_rx).len(),
            usize::from(crate::server::room::MAX_DESCRIPTIONS_PER_CALL)
        );
        lobby.assert_consistent();
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::collections::HashSet;

        /// Something one of a handful of strangers does.
        #[derive(Debug, Clone)]
        enum Op {
            Join {
                who: usize,
                interests: Vec<usize>,
                only_shared: bool,
                video: bool,
            },
            /// Question mode: asks, or offers to discuss.
            Question {
                who: usize,
                asks: bool,
            },
            Say(usize),
            Leave(usize),
            Disconnect(usize),
            Reconnect(usize),
            Wait(u64),
        }

        const TOPICS: [&str; 3] = ["chess", "jazz", "go"];
        const PEOPLE: usize = 6;

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                4 => (0..PEOPLE, proptest::collection::vec(0..TOPICS.len(), 0..3), any::<bool>(), proptest::bool::weighted(0.3))
                    .prop_map(|(who, interests, only_shared, video)| Op::Join { who, interests, only_shared, video }),
                2 => (0..PEOPLE, any::<bool>()).prop_map(|(who, asks)| Op::Question { who, asks }),
                2 => (0..PEOPLE).prop_map(Op::Say),
                1 => (0..PEOPLE).prop_map(Op::Leave),
                1 => (0..PEOPLE).prop_map(Op::Disconnect),
                1 => (0..PEOPLE).prop_map(Op::Reconnect),
                1 => (0..8000u64).prop_map(Op::Wait),
            ]
        }

        proptest! {
            #[test]
            fn nobody_is_paired_with_themselves_their_own_tab_or_lost_and_messages_arrive_once_in_order(ops in proptest::collection::vec(op(), 1..60)) {
                let lobby = Lobby::new(Duration::from_secs(5));
                // Persons 0-1 and 2-3 share a browser; 4 and 5 have their own.
                let browser = |who: usize| Some(format!("browser-{}", who / 2));
                let mut ids: Vec<Option<StrangerId>> = Vec::new();
                let mut inboxes = Vec::new();
                for _ in 0..PEOPLE {
                    let (id, rx) = arrive(&lobby);
                    ids.push(Some(id));
                    inboxes.push(rx);
                }
                let mut now = Instant::now();
                // The mode each stranger is waiting or chatting in.
                let mut modes: HashMap<StrangerId, Mode> = HashMap::new();
                // Each person's chat messages: accepted for them, and arrived.
                let mut expected: Vec<Vec<String>> = vec![Vec::new(); PEOPLE];
                let mut received: Vec<Vec<String>> = vec![Vec::new(); PEOPLE];
                let mut said = 0;
                for op in ops {
                    match op {
                        Op::Join { who, interests, only_shared, video } => {
                            if let Some(id) = ids[who] {
                                let mode = if video { Mode::Video } else { Mode::Text };
                                if lobby.place(id) != Some(Place::Waiting) {
                                    modes.insert(id, mode);
                                }
                                let mut interests: Vec<String> =
                                    interests.into_iter().map(|t| TOPICS[t].to_string()).collect();
                                interests.sort();
                                interests.dedup();
                                let request = JoinRequest { interests, only_shared, browser: browser(who), mode, hide_ip: false, kind: JoinKind::Chat, language: None };
                                lobby.state().join(id, request, now).unwrap();
                                let place = lobby.place(id);
                                prop_assert!(matches!(place, Some(Place::Waiting | Place::Chatting(_))));
                            }
                        }
                        Op::Question { who, asks } => {
                            if let Some(id) = ids[who] {
                                if lobby.place(id) != Some(Place::Waiting) {
                                    modes.insert(id, Mode::Text);
                                }
                                let kind = if asks { JoinKind::Ask(format!("question {said}?")) } else { JoinKind::Discuss };
                                let request = JoinRequest { browser: browser(who), kind, ..JoinRequest::default() };
                                lobby.state().join(id, request, now).unwrap();
                                let place = lobby.place(id);
                                prop_assert!(matches!(place, Some(Place::Waiting | Place::Chatting(_))));
                            }
                        }
                        Op::Say(who) => {
                            if let Some(id) = ids[who] {
                                let others: Vec<StrangerId> = lobby.chats().into_iter()
                                    .find(|chat| chat.contains(&id))
                                    .map(|chat| chat.into_iter().filter(|&m| m != id).collect())
                                    .unwrap_or_default();
                                let reading = lobby.state().room_of(id).ok().flatten().is_some_and(|room| room.is_reader(id));
                                let text = format!("message {said}");
                                said += 1;
                                prop_assert_eq!(lobby.say(id, &text).is_ok(), !others.is_empty() && !reading, "only writers in a chat write");
                                if !reading {
                                    for other in others {
                                        let to = ids.iter().position(|&i| i == Some(other)).unwrap();
                                        expected[to].push(text.clone());
                                    }
                                }
                            }
                        }
                        Op::Leave(who) => {
                            if let Some(id) = ids[who] {
                                lobby.leave(id);
                                prop_assert_eq!(lobby.place(id), Some(Place::Idle));
                            }
                        }
                        Op::Disconnect(who) => {
                            if let Some(id) = ids[who].take() {
                                lobby.depart(id);
                                prop_assert_eq!(lobby.place(id), None);
                            }
                        }
                        Op::Reconnect(who) => {
                            if ids[who].is_none() {
                                let (id, rx) = arrive(&lobby);
                                ids[who] = Some(id);
                                inboxes[who] = rx;
                                received[who].clear();
                                expected[who].clear();
                            }
                        }
                        Op::Wait(millis) => {
                            let waiting: Vec<StrangerId> = ids.iter().flatten().copied()
                                .filter(|&id| lobby.place(id) == Some(Place::Waiting)).collect();
                            now += Duration::from_millis(millis);
                            lobby.tick(now);
                            for id in waiting {
                                let place = lobby.place(id);
                                prop_assert!(matches!(place, Some(Place::Waiting | Place::Chatting(_))), "a waiter was lost");
                            }
                        }
                    }
                    lobby.assert_consistent();
                    for (who, inbox) in inboxes.iter_mut().enumerate() {
                        for message in drain(inbox) {
                            if let ServerMessage::Message { text } | ServerMessage::Discussed { text, .. } = message {
                                received[who].push(text);
                            }
                        }
                        prop_assert_eq!(&received[who], &expected[who], "every accepted message arrives once, in order");
                    }
                    let mut seated = HashSet::new();
                    for chat in lobby.chats() {
                        // Two, or a question's three (two once its asker stops reading).
                        prop_assert!(matches!(chat.len(), 2 | 3));
                        let who = |id| ids.iter().position(|&i| i == Some(id)).unwrap();
                        for (n, a) in chat.iter().enumerate() {
                            for b in &chat[n + 1..] {
                                prop_assert_ne!(a, b, "paired with themselves");
                                prop_assert_ne!(browser(who(*a)), browser(who(*b)), "paired with their own tab");
                                prop_assert_eq!(modes[a], modes[b], "paired across modes");
                            }
                        }
                        let candidate = CallSignal::Candidate { candidate: "candidate:1".into(), sdp_mid: None, sdp_m_line_index: None };
                        let call_allowed = lobby.signal(chat[0], candidate).is_ok();
                        prop_assert_eq!(call_allowed, modes[&chat[0]] == Mode::Video, "call setup only in video chats");
                        for member in chat {
                            prop_assert!(seated.insert(member), "in two chats");
                        }
                    }
                }
            }
        }
    }
}
