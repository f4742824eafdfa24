//! How interest matching scales with the number of strangers waiting.
//!
//! Run: `cargo bench --features ssr --bench matchmaker`
//!
//! For each queue size N, fills the matchmaker with N strangers who wait for a
//! shared interest (3 interests each, from a vocabulary of 10 million topics so they
//! rarely match each other), then times 20,000 joins of strangers with 3 interests:
//! half of them share one with a random waiter (a hit), half share nothing (a miss,
//! and they join the queue). The queue is kept at N throughout. If matching scanned
//! the queue, the time per join would grow with N; indexed by interest it stays flat.

use std::time::{Duration, Instant as StdInstant};

use strangers::server::matchmaker::{Joined, Matchmaker, Seeker};
use strangers::server::stranger::StrangerId;
use tokio::time::Instant;

const TOPICS: u64 = 10_000_000;
const JOINS: usize = 20_000;

/// A small deterministic generator, so every run sees the same strangers.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn interests(&mut self) -> Vec<String> {
        (0..3)
            .map(|_| format!("topic{}", self.next() % TOPICS))
            .collect()
    }
}

fn seeker(interests: Vec<String>) -> Seeker {
    let mut interests = interests;
    interests.sort();
    interests.dedup();
    Seeker {
        interests,
        only_shared: true,
        ..Seeker::anyone(StrangerId::new())
    }
}

fn main() {
    println!("waiting N | joins | paired on interest | median per join | p99 per join | joins/s");
    println!("---|---|---|---|---|---");
    for waiting in [1_000usize, 10_000, 100_000] {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut matchmaker = Matchmaker::new(Duration::from_secs(5));
        let now = Instant::now();
        // What each waiter listed, to build joiners who share one.
        let mut listed: Vec<String> = Vec::new();
        let fill = |matchmaker: &mut Matchmaker, rng: &mut XorShift, listed: &mut Vec<String>| {
            let interests = rng.interests();
            listed.extend(interests.iter().cloned());
            if let Joined::Paired(p) = matchmaker.join(seeker(interests), now) {
                matchmaker.forget(p.waiter);
                matchmaker.forget(p.joiner);
            }
        };
        while matchmaker.waiting() < waiting {
            fill(&mut matchmaker, &mut rng, &mut listed);
        }
        let mut times = Vec::with_capacity(JOINS);
        let mut paired = 0;
        let started = StdInstant::now();
        for n in 0..JOINS {
            let mut interests = rng.interests();
            if n % 2 == 0 {
                interests[0] = listed[(rng.next() % listed.len() as u64) as usize].clone();
            }
            let joiner = seeker(interests);
            let t = StdInstant::now();
            let outcome = matchmaker.join(joiner, now);
            times.push(t.elapsed());
            match outcome {
                Joined::Paired(p) => {
                    paired += 1;
                    matchmaker.forget(p.waiter);
                    matchmaker.forget(p.joiner);
                    fill(&mut matchmaker, &mut rng, &mut listed);
                }
                // A miss queues the newcomer; the oldest waiter makes room below.
                Joined::Waiting => {}
            }
            while matchmaker.waiting() > waiting {
                let oldest = matchmaker.oldest().expect("someone waits");
                matchmaker.forget(oldest);
            }
        }
        let total = started.elapsed();
        times.sort();
        let median = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        println!(
            "{waiting} | {JOINS} | {paired} | {:.2} µs | {:.2} µs | {:.0}",
            median.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            JOINS as f64 / total.as_secs_f64()
        );
    }
}
