//! The matchmaker: who is waiting, and who gets paired with whom.
//!
//! Pure bookkeeping with no I/O; time comes in as an argument, so every rule is
//! tested directly with a paused clock. The lobby owns it and calls it under its lock.
//!
//! The rules, in order of preference:
//! 1. A stranger with interests is paired with the longest-waiting stranger who
//!    shares at least one.
//! 2. A stranger without interests is paired with the longest-waiting stranger who
//!    is open to anyone: one without interests, or one whose interests found
//!    nobody within the interest timeout (unless they asked for shared interests only).
//! 3. Never yourself, never another tab of your own browser; and not someone you
//!    just talked to while anyone else suitable is waiting.
//! 4. Only within one mode: text strangers with text strangers, video with video.
//!
//! Waiting strangers are indexed by ticket (arrival order), by mode and interest
//! and by mode and openness, so a join looks at a handful of candidates, never
//! the whole queue.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::stranger::StrangerId;
use crate::protocol::Mode;

/// How many recent partners each stranger remembers, to avoid rematching them.
/// (The shared queue's scripts get it from here too.)
pub const RECENT_PARTNERS: usize = 4;

/// How many unsuitable candidates (own tabs, recent partners) one lookup steps over
/// before giving up for now. Bounds the work of a join even if one browser opened
/// many tabs; the stranger just waits for the next arrival instead.
/// (The shared queue's scripts get it from here too.)
pub const MAX_SKIPPED: usize = 64;

/// Someone asking for a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeker {
    /// Who is asking.
    pub id: StrangerId,
    /// Their browser's random id; tabs sharing one are never paired.
    pub browser: Option<String>,
    /// What they would like to talk about, normalized, without repeats.
    pub interests: Vec<String>,
    /// Whether to wait for a shared interest instead of falling back to anyone.
    pub only_shared: bool,
    /// Text or video; only strangers in the same mode are paired.
    pub mode: Mode,
}

impl Seeker {
    /// A text-mode seeker with no interests and no browser id.
    pub fn anyone(id: StrangerId) -> Self {
        Seeker {
            id,
            browser: None,
            interests: Vec::new(),
            only_shared: false,
            mode: Mode::Text,
        }
    }

    fn same_browser(&self, other: &Seeker) -> bool {
        self.browser.is_some() && self.browser == other.browser
    }
}

/// Two strangers the matchmaker has paired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    /// The one who had been waiting.
    pub waiter: StrangerId,
    /// The one who was paired with them.
    pub joiner: StrangerId,
    /// The interests they share (empty for a random pairing).
    pub common_interests: Vec<String>,
    /// The mode both asked for.
    pub mode: Mode,
    /// How long the waiter and the joiner each waited to be paired.
    pub waited: [Duration; 2],
}

/// The outcome of [`Matchmaker::join`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// Nobody suitable was waiting; the stranger is now in the queue.
    Waiting,
    /// Paired right away; both have left the queue.
    Paired(Pairing),
}

/// A stranger in the queue.
#[derive(Debug)]
struct Waiter {
    /// Who, and what they asked for.
    seeker: Seeker,
    /// Whether they now accept anyone (no interests, or their interest timeout passed).
    open: bool,
    /// When they joined the queue.
    since: Instant,
}

/// The waiting strangers and the indexes over them.
#[derive(Debug)]
pub struct Matchmaker {
    /// How long a stranger with interests waits for a shared one before anyone will do.
    interest_timeout: Duration,
    /// The next ticket; only grows, so tickets sort by arrival.
    next_ticket: u64,
    /// Every waiting stranger by ticket, oldest first.
    waiters: BTreeMap<u64, Waiter>,
    /// Each waiting stranger's ticket, to find or remove them without a scan.
    tickets: HashMap<StrangerId, u64>,
    /// For each mode and interest, the tickets of the waiting strangers who listed it.
    by_interest: HashMap<(Mode, String), BTreeSet<u64>>,
    /// For each mode, the tickets of the waiting strangers who accept anyone.
    open: HashMap<Mode, BTreeSet<u64>>,
    /// When each stranger with interests opens up to anyone. All timeouts are
    /// equal, so arrival order is deadline order and a queue suffices; entries of
    /// strangers who have since left are skipped when they come up.
    deadlines: VecDeque<(Instant, u64)>,
    /// Each stranger's most recent partners, newest last.
    recent: HashMap<StrangerId, VecDeque<StrangerId>>,
}

impl Matchmaker {
    /// An empty queue whose strangers with interests wait `interest_timeout` for a
    /// shared one.
    pub fn new(interest_timeout: Duration) -> Self {
        Matchmaker {
            interest_timeout,
            next_ticket: 0,
            waiters: BTreeMap::new(),
            tickets: HashMap::new(),
            by_interest: HashMap::new(),
            open: HashMap::new(),
            deadlines: VecDeque::new(),
            recent: HashMap::new(),
        }
    }

    /// `seeker` wants a stranger: pairs them now if the rules allow, or queues them.
    /// Joining while already queued keeps the original place and request.
    pub fn join(&mut self, seeker: Seeker, now: Instant) -> Joined {
        if self.tickets.contains_key(&seeker.id) {
            return Joined::Waiting;
        }
        let partner = if seeker.interests.is_empty() {
            self.find_open(&seeker)
        } else {
            self.find_by_interest(&seeker)
        };
        if let Some(ticket) = partner {
            return Joined::Paired(self.pair(ticket, seeker, Duration::ZERO, now));
        }

        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let open = seeker.interests.is_empty();
        if open {
            self.open.entry(seeker.mode).or_default().insert(ticket);
        } else if !seeker.only_shared {
            self.deadlines
                .push_back((now + self.interest_timeout, ticket));
        }
        for interest in &seeker.interests {
            self.by_interest
                .entry((seeker.mode, interest.clone()))
                .or_default()
                .insert(ticket);
        }
        self.tickets.insert(seeker.id, ticket);
        self.waiters.insert(
            ticket,
            Waiter {
                seeker,
                open,
                since: now,
            },
        );
        Joined::Waiting
    }

    /// Opens up the strangers whose interest timeout has passed by `now`, pairing
    /// each with the longest-waiting open stranger if there is one.
    pub fn tick(&mut self, now: Instant) -> Vec<Pairing> {
        let mut pairings = Vec::new();
        while let Some(&(deadline, ticket)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            let Some(waiter) = self.waiters.get(&ticket) else {
                continue; // left the queue since
            };
            let seeker = waiter.seeker.clone();
            let waited = now.saturating_duration_since(waiter.since);
            match self.find_open(&seeker) {
                Some(partner) => {
                    self.remove_ticket(ticket);
                    pairings.push(self.pair(partner, seeker, waited, now));
                }
                None => {
                    if let Some(waiter) = self.waiters.get_mut(&ticket) {
                        waiter.open = true;
                    }
                    self.open.entry(seeker.mode).or_default().insert(ticket);
                }
            }
        }
        pairings
    }

    /// When [`tick`](Self::tick) next has something to do, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.front().map(|&(deadline, _)| deadline)
    }

    /// Takes `id` out of the queue. Returns whether they were waiting.
    pub fn remove(&mut self, id: StrangerId) -> bool {
        match self.tickets.get(&id) {
            Some(&ticket) => {
                self.remove_ticket(ticket);
                true
            }
            None => false,
        }
    }

    /// Forgets everything about `id` (their connection is gone).
    pub fn forget(&mut self, id: StrangerId) {
        self.remove(id);
        self.recent.remove(&id);
    }

    /// Whether `id` is waiting.
    pub fn is_waiting(&self, id: StrangerId) -> bool {
        self.tickets.contains_key(&id)
    }

    /// How many strangers are waiting.
    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// How many strangers are waiting in `mode` (a scan: for metrics scrapes).
    pub fn waiting_in(&self, mode: Mode) -> usize {
        self.waiters
            .values()
            .filter(|w| w.seeker.mode == mode)
            .count()
    }

    /// The longest-waiting stranger, if anyone waits.
    pub fn oldest(&self) -> Option<StrangerId> {
        self.waiters.values().next().map(|w| w.seeker.id)
    }

    /// Whether `a` and `b` talked recently.
    pub fn met_recently(&self, a: StrangerId, b: StrangerId) -> bool {
        self.recent.get(&a).is_some_and(|r| r.contains(&b))
    }

    /// The longest-waiting open stranger `seeker` may be paired with.
    fn find_open(&self, seeker: &Seeker) -> Option<u64> {
        let open = self.open.get(&seeker.mode)?;
        self.choose(seeker, open.iter().copied())
    }

    /// The longest-waiting stranger sharing an interest with `seeker`.
    fn find_by_interest(&self, seeker: &Seeker) -> Option<u64> {
        let mut fresh: Option<u64> = None;
        let mut recent: Option<u64> = None;
        for interest in &seeker.interests {
            let Some(tickets) = self.by_interest.get(&(seeker.mode, interest.clone())) else {
                continue;
            };
            let (f, r) = self.candidates(seeker, tickets.iter().copied());
            fresh = min_some(fresh, f);
            recent = min_some(recent, r);
        }
        fresh.or(recent)
    }

    /// The first suitable ticket in `tickets`, preferring someone not met recently.
    fn choose(&self, seeker: &Seeker, tickets: impl Iterator<Item = u64>) -> Option<u64> {
        let (fresh, recent) = self.candidates(seeker, tickets);
        fresh.or(recent)
    }

    /// Walks `tickets` (oldest first) for the first suitable stranger not met
    /// recently, noting the first recent partner on the way as a last resort.
    fn candidates(
        &self,
        seeker: &Seeker,
        tickets: impl Iterator<Item = u64>,
    ) -> (Option<u64>, Option<u64>) {
        let mut recent = None;
        for (skipped, ticket) in tickets.enumerate() {
            if skipped > MAX_SKIPPED {
                break;
            }
            let Some(waiter) = self.waiters.get(&ticket) else {
                continue;
            };
            let other = &waiter.seeker;
            if other.id == seeker.id || other.same_browser(seeker) {
                continue;
            }
            if self.met_recently(seeker.id, other.id) {
                recent = recent.or(Some(ticket));
                continue;
            }
            return (Some(ticket), recent);
        }
        (None, recent)
    }

    /// Pairs the waiter holding `ticket` with `joiner`, who is not queued.
    /// `joiner_waited` is how long the joiner had waited in the queue (0 if it
    /// was just joining).
    fn pair(
        &mut self,
        ticket: u64,
        joiner: Seeker,
        joiner_waited: Duration,
        now: Instant,
    ) -> Pairing {
        let waiter = self
            .remove_ticket(ticket)
            .expect("a chosen ticket is waiting");
        let common_interests = joiner
            .interests
            .iter()
            .filter(|i| waiter.seeker.interests.contains(i))
            .cloned()
            .collect();
        self.remember(waiter.seeker.id, joiner.id);
        self.remember(joiner.id, waiter.seeker.id);
        Pairing {
            waiter: waiter.seeker.id,
            joiner: joiner.id,
            common_interests,
            mode: joiner.mode,
            waited: [now.saturating_duration_since(waiter.since), joiner_waited],
        }
    }

    fn remember(&mut self, who: StrangerId, partner: StrangerId) {
        let recent = self.recent.entry(who).or_default();
        recent.retain(|&p| p != partner);
        if recent.len() == RECENT_PARTNERS {
            recent.pop_front();
        }
        recent.push_back(partner);
    }

    fn remove_ticket(&mut self, ticket: u64) -> Option<Waiter> {
        let waiter = self.waiters.remove(&ticket)?;
        let mode = waiter.seeker.mode;
        self.tickets.remove(&waiter.seeker.id);
        if let Some(open) = self.open.get_mut(&mode) {
            open.remove(&ticket);
        }
        for interest in &waiter.seeker.interests {
            let key = (mode, interest.clone());
            if let Some(tickets) = self.by_interest.get_mut(&key) {
                tickets.remove(&ticket);
                if tickets.is_empty() {
                    self.by_interest.remove(&key);
                }
            }
        }
        Some(waiter)
    }

    /// Panics if the indexes disagree with the queue. For tests.
    pub fn assert_consistent(&self) {
        assert_eq!(self.tickets.len(), self.waiters.len());
        for (ticket, waiter) in &self.waiters {
            assert_eq!(self.tickets.get(&waiter.seeker.id), Some(ticket));
            let mode = waiter.seeker.mode;
            let open = self.open.get(&mode).is_some_and(|o| o.contains(ticket));
            assert_eq!(open, waiter.open);
            for interest in &waiter.seeker.interests {
                assert!(self.by_interest[&(mode, interest.clone())].contains(ticket));
            }
        }
        for (mode, ticket) in self
            .open
            .iter()
            .flat_map(|(mode, tickets)| tickets.iter().map(move |t| (*mode, t)))
            .chain(
                self.by_interest
                    .iter()
                    .flat_map(|((mode, _), tickets)| tickets.iter().map(move |t| (*mode, t))),
            )
        {
            let waiter = self.waiters.get(ticket).expect("index holds a ghost");
            assert_eq!(waiter.seeker.mode, mode, "indexed under the wrong mode");
        }
    }
}

fn min_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn seeker(interests: &[&str]) -> Seeker {
        Seeker {
            interests: interests.iter().map(|i| i.to_string()).collect(),
            ..Seeker::anyone(StrangerId::new())
        }
    }

    fn paired(joined: Joined) -> Pairing {
        match joined {
            Joined::Paired(pairing) => pairing,
            Joined::Waiting => panic!("expected a pairing"),
        }
    }

    #[test]
    fn match_users() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let now = Instant::now();
        let [alice, bob, carol, dave] = [(); 4].map(|_| Seeker::anyone(StrangerId::new()));

        assert_eq!(matchmaker.join(alice.clone(), now), Joined::Waiting);
        assert_eq!(
            matchmaker.join(alice.clone(), now),
            Joined::Waiting,
            "never paired with yourself"
        );
        assert_eq!(matchmaker.waiting(), 1, "joining twice keeps one place");

        let pairing = paired(matchmaker.join(bob.clone(), now));
        assert_eq!((pairing.waiter, pairing.joiner), (alice.id, bob.id));
        assert_eq!(matchmaker.waiting(), 0, "both partners leave the queue");

        assert_eq!(matchmaker.join(carol.clone(), now), Joined::Waiting);
        assert_eq!(paired(matchmaker.join(dave, now)).waiter, carol.id);
        matchmaker.assert_consistent();
    }

    #[tokio::test(start_paused = true)]
    async fn text_and_video_strangers_are_never_paired() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let video = |interests: &[&str]| Seeker {
            mode: Mode::Video,
            ..seeker(interests)
        };
        let texter = seeker(&[]);
        let chess_texter = seeker(&["chess"]);
        matchmaker.join(texter.clone(), Instant::now());
        matchmaker.join(chess_texter.clone(), Instant::now());

        let caller = video(&[]);
        assert_eq!(
            matchmaker.join(caller.clone(), Instant::now()),
            Joined::Waiting
        );
        let chess_caller = video(&["chess"]);
        assert_eq!(
            matchmaker.join(chess_caller.clone(), Instant::now()),
            Joined::Waiting,
            "a shared interest does not cross modes"
        );
        tokio::time::advance(TIMEOUT).await;
        let pairings = matchmaker.tick(Instant::now());
        let pairs: Vec<_> = pairings
            .iter()
            .map(|p| (p.waiter, p.joiner, p.mode))
            .collect();
        assert_eq!(
            pairs,
            [
                (texter.id, chess_texter.id, Mode::Text),
                (caller.id, chess_caller.id, Mode::Video)
            ],
            "after the timeout each opens up to anyone in their own mode"
        );
        matchmaker.assert_consistent();
    }

    #[tokio::test(start_paused = true)]
    async fn a_shared_interest_is_preferred_over_waiting_longer() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let chess = seeker(&["chess"]);
        let music = seeker(&["music", "film"]);
        matchmaker.join(chess.clone(), Instant::now());
        matchmaker.join(music.clone(), Instant::now());

        let fan = seeker(&["film", "music", "art"]);
        let pairing = paired(matchmaker.join(fan.clone(), Instant::now()));
        assert_eq!(
            pairing.waiter, music.id,
            "not the longer-waiting chess player"
        );
        assert_eq!(pairing.common_interests, ["film", "music"]);
        assert!(matchmaker.is_waiting(chess.id));
        matchmaker.assert_consistent();
    }

    #[tokio::test(start_paused = true)]
    async fn among_those_sharing_an_interest_the_longest_waiting_goes_first() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let first = seeker(&["go"]);
        let second = seeker(&["chess"]);
        matchmaker.join(first.clone(), Instant::now());
        matchmaker.join(second.clone(), Instant::now());
        let pairing = paired(matchmaker.join(seeker(&["chess", "go"]), Instant::now()));
        assert_eq!(pairing.waiter, first.id);
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_shared_interest_anyone_will_do_after_the_timeout() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let chess = seeker(&["chess"]);
        let music = seeker(&["music"]);
        matchmaker.join(chess.clone(), Instant::now());
        assert_eq!(
            matchmaker.join(music.clone(), Instant::now()),
            Joined::Waiting
        );
        // A stranger without interests does not take someone still hoping for theirs.
        let plain = Seeker::anyone(StrangerId::new());
        assert_eq!(
            matchmaker.join(plain.clone(), Instant::now()),
            Joined::Waiting
        );

        tokio::time::advance(TIMEOUT - Duration::from_millis(1)).await;
        assert!(matchmaker.tick(Instant::now()).is_empty(), "not yet");

        tokio::time::advance(Duration::from_millis(1)).await;
        let pairings = matchmaker.tick(Instant::now());
        assert_eq!(pairings.len(), 1);
        assert_eq!(
            (pairings[0].waiter, pairings[0].joiner),
            (plain.id, chess.id),
            "the chess player's time ran out first and takes the open stranger"
        );
        assert!(pairings[0].common_interests.is_empty());
        assert_eq!(matchmaker.waiting(), 1);
        assert!(matchmaker.is_waiting(music.id));
        matchmaker.assert_consistent();

        // The music fan is open now: the next newcomer without interests gets them.
        let late = Seeker::anyone(StrangerId::new());
        assert_eq!(
            paired(matchmaker.join(late, Instant::now())).waiter,
            music.id
        );
    }

    #[tokio::test(start_paused = true)]
    async fn two_timed_out_strangers_are_paired_with_each_other() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let chess = seeker(&["chess"]);
        let music = seeker(&["music"]);
        matchmaker.join(chess.clone(), Instant::now());
        matchmaker.join(music.clone(), Instant::now());
        assert_eq!(matchmaker.next_deadline(), Some(Instant::now() + TIMEOUT));
        tokio::time::advance(TIMEOUT).await;
        let pairings = matchmaker.tick(Instant::now());
        assert_eq!(pairings.len(), 1);
        assert_eq!(
            (pairings[0].waiter, pairings[0].joiner),
            (chess.id, music.id)
        );
        assert_eq!(matchmaker.next_deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn only_shared_interests_waits_for_one() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let picky = Seeker {
            only_shared: true,
            ..seeker(&["chess"])
        };
        matchmaker.join(picky.clone(), Instant::now());
        matchmaker.join(Seeker::anyone(StrangerId::new()), Instant::now());
        tokio::time::advance(TIMEOUT * 10).await;
        assert!(matchmaker.tick(Instant::now()).is_empty());
        assert!(matchmaker.is_waiting(picky.id));

        let player = seeker(&["chess"]);
        assert_eq!(
            paired(matchmaker.join(player, Instant::now())).waiter,
            picky.id
        );
    }

    #[test]
    fn no_immediate_rematch_while_someone_else_is_waiting() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let now = Instant::now();
        let alice = Seeker::anyone(StrangerId::new());
        // Two tabs of one browser: both wait, since they cannot have each other.
        let tab = || Seeker {
            browser: Some("shared".into()),
            ..Seeker::anyone(StrangerId::new())
        };
        let (bob, carol) = (tab(), tab());
        matchmaker.join(alice.clone(), now);
        paired(matchmaker.join(bob.clone(), now));

        // The chat ends; bob is back first, then carol; then alice.
        matchmaker.join(bob.clone(), now);
        matchmaker.join(carol.clone(), now);
        assert_eq!(matchmaker.waiting(), 2);
        let pairing = paired(matchmaker.join(alice.clone(), now));
        assert_eq!(
            pairing.waiter, carol.id,
            "bob waited longer, but alice just talked to him"
        );
        assert!(matchmaker.is_waiting(bob.id));
        matchmaker.assert_consistent();
    }

    #[test]
    fn a_recent_partner_is_fine_when_nobody_else_is_waiting() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let now = Instant::now();
        let [alice, bob] = [(); 2].map(|_| Seeker::anyone(StrangerId::new()));
        matchmaker.join(alice.clone(), now);
        paired(matchmaker.join(bob.clone(), now));
        matchmaker.join(alice.clone(), now);
        assert_eq!(paired(matchmaker.join(bob.clone(), now)).waiter, alice.id);
    }

    #[test]
    fn two_tabs_of_one_browser_are_never_paired() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let now = Instant::now();
        let tab = |interests: &[&str]| Seeker {
            browser: Some("browser-a".into()),
            ..seeker(interests)
        };
        let (one, two) = (tab(&["chess"]), tab(&["chess"]));
        matchmaker.join(one.clone(), now);
        assert_eq!(matchmaker.join(two.clone(), now), Joined::Waiting);
        assert!(
            matchmaker.tick(now + TIMEOUT).is_empty(),
            "not even as a fallback"
        );
        assert_eq!(matchmaker.waiting(), 2);

        let other = Seeker {
            browser: Some("browser-b".into()),
            ..seeker(&[])
        };
        assert_eq!(paired(matchmaker.join(other, now + TIMEOUT)).waiter, one.id);
    }

    #[test]
    fn a_stranger_who_left_the_queue_is_never_matched() {
        let mut matchmaker = Matchmaker::new(TIMEOUT);
        let now = Instant::now();
        let ghost = seeker(&["chess"]);
        matchmaker.join(ghost.clone(), now);
        assert!(matchmaker.remove(ghost.id));
        assert!(!matchmaker.remove(ghost.id), "removing twice is harmless");
        matchmaker.assert_consistent();
        assert!(matchmaker.tick(now + TIMEOUT).is_empty());
        assert_eq!(matchmaker.join(seeker(&["chess"]), now), Joined::Waiting);
        assert_eq!(
            matchmaker.join(Seeker::anyone(StrangerId::new()), now),
            Joined::Waiting
        );
    }
}
