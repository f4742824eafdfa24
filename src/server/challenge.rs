//! The bot check: a proof of work in the style of ALTCHA, self-hosted, with no
//! third party and nothing about the person kept.
//!
//! The server picks a secret number and sends the SHA-256 of a random salt
//! followed by that number; the browser tries numbers until the hash matches
//! (WebCrypto, so the page's code does not grow) and sends the number back.
//! The server remembers the number for this connection only, so the answer is
//! checked by comparing two integers: no signature, no replay across
//! connections, nothing stored.
//!
//! It is asked of a network that tripped a limit lately (too many new
//! connections, flooding, reported), or of everyone with `--challenge always`.
//! It costs a person's browser a fraction of a second once per visit; a bot
//! farm pays the same for every connection it opens (README, "Threat model").

use sha2::{Digest, Sha256};

use crate::protocol::Challenge;

/// When connections must pass the bot check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ChallengeMode {
    /// Never.
    Never,
    /// When the network tripped a limit lately.
    #[default]
    Suspicious,
    /// Always.
    Always,
}

/// When to ask, and how hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengePolicy {
    /// When connections must pass it.
    pub mode: ChallengeMode,
    /// The largest secret number: a browser tries half as many on average.
    pub max_number: u64,
}

impl Default for ChallengePolicy {
    fn default() -> Self {
        ChallengePolicy {
            mode: ChallengeMode::Suspicious,
            max_number: 100_000,
        }
    }
}

impl ChallengePolicy {
    /// The puzzle for a new connection, if it must solve one: `suspect` says
    /// whether its network tripped a limit lately.
    pub fn for_connection(&self, suspect: bool) -> Option<Puzzle> {
        let ask = match self.mode {
            ChallengeMode::Never => false,
            ChallengeMode::Suspicious => suspect,
            ChallengeMode::Always => true,
        };
        ask.then(|| Puzzle::new(self.max_number))
    }
}

/// One connection's bot check: the challenge sent and the number that solves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Puzzle {
    number: u64,
    challenge: Challenge,
}

impl Puzzle {
    /// A fresh puzzle whose number is at most `max`.
    pub fn new(max: u64) -> Self {
        let random = uuid::Uuid::new_v4().as_u128();
        let number = (random as u64) % max.saturating_add(1).max(1);
        let salt = format!("{:016x}", (random >> 64) as u64);
        let mut challenge = Challenge {
            salt,
            hash: String::new(),
            max,
        };
        challenge.hash = digest_hex(&challenge.input(number));
        Puzzle { number, challenge }
    }

    /// What the browser is sent.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// Whether `number` is the answer.
    pub fn solved_by(&self, number: u64) -> bool {
        number == self.number
    }
}

/// SHA-256 of `text`, as 64 lowercase hex digits.
pub fn digest_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Solves `challenge` the way a browser does, by trying every number in turn
/// (for the load generator and the tests; a bot farm would do the same).
pub fn solve(challenge: &Challenge) -> Option<u64> {
    (0..=challenge.max).find(|&n| digest_hex(&challenge.input(n)) == challenge.hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_found_by_trying_numbers_and_only_it_passes() {
        let puzzle = Puzzle::new(2_000);
        let challenge = puzzle.challenge();
        assert_eq!(challenge.hash.len(), 64);
        let number = solve(challenge).expect("within max");
        assert!(number <= 2_000);
        assert!(puzzle.solved_by(number));
        assert!(!puzzle.solved_by(number + 1));
        assert_ne!(
            Puzzle::new(2_000).challenge().salt,
            challenge.salt,
            "every connection gets its own"
        );
    }

    #[test]
    fn the_hash_is_sha256_of_salt_then_decimal_number() {
        // The browser computes this with WebCrypto: both must agree.
        assert_eq!(
            digest_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let challenge = Challenge {
            salt: "ab".into(),
            hash: digest_hex("ab17"),
            max: 20,
        };
        assert_eq!(solve(&challenge), Some(17));
    }

    #[test]
    fn who_is_asked_depends_on_the_mode() {
        let policy = |mode| ChallengePolicy {
            mode,
            max_number: 10,
        };
        assert!(policy(ChallengeMode::Never).for_connection(true).is_none());
        assert!(
            policy(ChallengeMode::Suspicious)
                .for_connection(false)
                .is_none()
        );
        assert!(
            policy(ChallengeMode::Suspicious)
                .for_connection(true)
                .is_some()
        );
        assert!(
            policy(ChallengeMode::Always)
                .for_connection(false)
                .is_some()
        );
    }
}
