//! The matchmaker: who is waiting, and who gets paired with whom.
//!
//! Pure bookkeeping with no I/O and no clock, so every rule is tested directly.
//! The lobby owns it and calls it under its lock.

use std::collections::{BTreeMap, HashMap};

use super::stranger::StrangerId;

/// The waiting strangers, first come first served.
///
/// Kept as tickets in arrival order plus an index from stranger to ticket, so
/// pairing takes the oldest waiter and leaving the queue are both O(log n)
/// however many are waiting.
#[derive(Debug, Default)]
pub struct Matchmaker {
    /// The next ticket number; only ever grows, so tickets sort by arrival.
    next_ticket: u64,
    /// Waiting strangers by ticket, oldest first.
    queue: BTreeMap<u64, StrangerId>,
    /// Each waiting stranger's ticket, to leave the queue without a scan.
    tickets: HashMap<StrangerId, u64>,
}

/// The outcome of [`Matchmaker::join`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// Nobody suitable was waiting; the stranger is now in the queue.
    Waiting,
    /// Paired with this stranger, who has left the queue.
    Paired(StrangerId),
}

impl Matchmaker {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// `id` wants a stranger: pairs them with the longest-waiting other stranger,
    /// or queues them. Joining while already queued keeps the original place.
    pub fn join(&mut self, id: StrangerId) -> Joined {
        if self.tickets.contains_key(&id) {
            return Joined::Waiting;
        }
        // The queue never holds `id` here, so the oldest waiter is never themselves.
        if let Some((_, partner)) = self.queue.pop_first() {
            self.tickets.remove(&partner);
            return Joined::Paired(partner);
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.insert(ticket, id);
        self.tickets.insert(id, ticket);
        Joined::Waiting
    }

    /// Takes `id` out of the queue. Returns whether they were waiting.
    pub fn remove(&mut self, id: StrangerId) -> bool {
        match self.tickets.remove(&id) {
            Some(ticket) => {
                self.queue.remove(&ticket);
                true
            }
            None => false,
        }
    }

    /// Whether `id` is waiting.
    pub fn is_waiting(&self, id: StrangerId) -> bool {
        self.tickets.contains_key(&id)
    }

    /// How many strangers are waiting.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_users() {
        let mut matchmaker = Matchmaker::new();
        let [alice, bob, carol, dave] = [(); 4].map(|_| StrangerId::new());

        assert_eq!(matchmaker.join(alice), Joined::Waiting);
        assert_eq!(
            matchmaker.join(alice),
            Joined::Waiting,
            "never paired with yourself"
        );
        assert_eq!(matchmaker.waiting(), 1, "joining twice keeps one place");

        assert_eq!(matchmaker.join(bob), Joined::Paired(alice));
        assert_eq!(matchmaker.waiting(), 0, "both partners leave the queue");

        assert_eq!(matchmaker.join(carol), Joined::Waiting);
        assert_eq!(matchmaker.join(dave), Joined::Paired(carol));
    }

    #[test]
    fn a_stranger_who_left_the_queue_is_never_matched() {
        let mut matchmaker = Matchmaker::new();
        let [ghost, alice, bob] = [(); 3].map(|_| StrangerId::new());
        matchmaker.join(ghost);
        assert!(matchmaker.remove(ghost));
        assert!(!matchmaker.remove(ghost), "removing twice is harmless");
        assert!(!matchmaker.is_waiting(ghost));

        assert_eq!(matchmaker.join(alice), Joined::Waiting);
        assert_eq!(matchmaker.join(bob), Joined::Paired(alice));
    }
}
