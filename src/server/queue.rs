//! Where strangers wait for a partner: in this instance's [`Matchmaker`], or
//! in the queue every instance shares in Redis, reached through the cluster
//! task. The lobby asks the same of either, so its code does not branch on
//! whether there is a cluster; the two differ only in when a pairing comes
//! back (at once from the matchmaker, later through the lobby's `paired`
//! from the shared queue).

use tokio::time::Instant;

use super::matchmaker::{Joined, Matchmaker, Pairing, Seeker};
use super::network::AddressKey;
use super::seam::{ClusterSide, Request};
use super::stranger::StrangerId;
use crate::protocol::Mode;

/// Where strangers wait.
#[derive(Debug)]
pub enum Queue {
    /// In memory, this instance alone.
    Here(Box<Matchmaker>),
    /// In Redis, shared with other instances.
    Shared(ClusterSide),
}

/// What became of a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    /// Waiting; with the shared queue, a pairing may come back later.
    Waiting,
    /// Paired at once.
    Paired(Pairing),
    /// Not queued: the shared queue has too many joins in line (Redis slow
    /// or away). The stranger is told matching is paused.
    Refused,
}

impl Queue {
    /// `seeker`, connected from `address`, wants a partner.
    pub fn join(&mut self, seeker: Seeker, address: Option<AddressKey>, now: Instant) -> Queued {
        match self {
            Queue::Here(matchmaker) => match matchmaker.join(seeker, now) {
                Joined::Waiting => Queued::Waiting,
                Joined::Paired(pairing) => Queued::Paired(pairing),
            },
            Queue::Shared(cluster) => {
                if cluster.requests.send(Request::Join(seeker, address)) {
                    Queued::Waiting
                } else {
                    Queued::Refused
                }
            }
        }
    }

    /// `id` stops waiting.
    pub fn leave(&mut self, id: StrangerId) {
        match self {
            Queue::Here(matchmaker) => {
                matchmaker.remove(id);
            }
            Queue::Shared(cluster) => {
                let _ = cluster.requests.send(Request::Leave(id));
            }
        }
    }

    /// `id` is gone for good: nothing about them is kept (their recent
    /// partners here; Redis expires its own list).
    pub fn forget(&mut self, id: StrangerId) {
        if let Queue::Here(matchmaker) = self {
            matchmaker.forget(id);
        }
    }

    /// The pairings whose interest timeout has passed by `now` (the shared
    /// queue's are made in Redis and come back through the cluster task).
    pub fn tick(&mut self, now: Instant) -> Vec<Pairing> {
        match self {
            Queue::Here(matchmaker) => matchmaker.tick(now),
            Queue::Shared(_) => Vec::new(),
        }
    }

    /// How many wait in `mode`, if this queue knows (the shared queue holds
    /// every instance's: the lobby counts its own).
    pub fn waiting_in(&self, mode: Mode) -> Option<usize> {
        match self {
            Queue::Here(matchmaker) => Some(matchmaker.waiting_in(mode)),
            Queue::Shared(_) => None,
        }
    }

    /// Whether `id` is in this queue, if it can tell without asking Redis.
    pub fn holds(&self, id: StrangerId) -> Option<bool> {
        match self {
            Queue::Here(matchmaker) => Some(matchmaker.is_waiting(id)),
            Queue::Shared(_) => None,
        }
    }

    /// The cluster, for the shared queue.
    pub fn cluster(&self) -> Option<&ClusterSide> {
        match self {
            Queue::Here(_) => None,
            Queue::Shared(cluster) => Some(cluster),
        }
    }

    /// Panics if the queue disagrees with itself. For tests.
    pub fn assert_consistent(&self) {
        if let Queue::Here(matchmaker) = self {
            matchmaker.assert_consistent();
        }
    }
}
