//! Flood control for one connection: token buckets for chat messages, for
//! typing notices and for video call setup. A client over its rate is refused and warned; one that keeps
//! going is disconnected, so it cannot crowd out everyone else.

use tokio::time::Instant;

/// How many refused frames, net of accepted ones, make a client a flooder.
const STRIKES_TO_DISCONNECT: u32 = 20;

/// A rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// The most tokens held at once: how many frames may come in a burst.
    pub burst: f64,
}

/// The classic token bucket: take a token per frame; tokens refill steadily.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    /// The rate and burst.
    rate: Rate,
    /// Tokens available now (as of `refilled`).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    refilled: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: Rate, now: Instant) -> Self {
        TokenBucket {
            rate,
            tokens: rate.burst,
            refilled: now,
        }
    }

    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether a token could be taken at `now`, without taking it.
    pub(crate) fn has_token(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        (self.tokens + elapsed * self.rate.per_second).min(self.rate.burst) >= 1.0
    }

    /// Whether the bucket would be full at `now`: nothing in it remembers anything.
    pub(crate) fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens + elapsed * self.rate.per_second >= self.rate.burst
    }
}

/// Which bucket a frame draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A typing notice.
    Typing,
    /// A video call setup step.
    Signal,
    /// Anything else: messages, joins, leaves, and frames that fail to parse.
    Other,
}

/// What to do with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate: handle it.
    Allow,
    /// Over the rate: refuse it and warn.
    Refuse,
    /// Kept flooding after warnings: disconnect.
    Disconnect,
}

/// One connection's flood control.
#[derive(Debug, Clone)]
pub struct FloodGuard {
    /// For everything but typing notices.
    messages: TokenBucket,
    /// For typing notices, so typing cannot starve messages or the other way round.
    typing: TokenBucket,
    /// For call setup steps, which come in a burst when a call starts.
    signals: TokenBucket,
    /// Refusals not yet worked off by accepted frames.
    strikes: u32,
}

impl FloodGuard {
    /// A guard allowing `messages`, `typing` and `signals` rates, starting full.
    pub fn new(messages: Rate, typing: Rate, signals: Rate, now: Instant) -> Self {
        FloodGuard {
            messages: TokenBucket::new(messages, now),
            typing: TokenBucket::new(typing, now),
            signals: TokenBucket::new(signals, now),
            strikes: 0,
        }
    }

    /// Judges one frame arriving at `now`.
    pub fn check(&mut self, frame: Frame, now: Instant) -> Verdict {
        let bucket = match frame {
            Frame::Typing => &mut self.typing,
            Frame::Signal => &mut self.signals,
            Frame::Other => &mut self.messages,
        };
        if bucket.take(now) {
            self.strikes = self.strikes.saturating_sub(1);
            Verdict::Allow
        } else {
            self.strikes += 1;
            if self.strikes >= STRIKES_TO_DISCONNECT {
                Verdict::Disconnect
            } else {
                Verdict::Refuse
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MESSAGES: Rate = Rate {
        per_second: 10.0,
        burst: 20.0,
    };
    const TYPING: Rate = Rate {
        per_second: 2.0,
        burst: 6.0,
    };
    const SIGNALS: Rate = Rate {
        per_second: 10.0,
        burst: 60.0,
    };

    /// "`slow_down`; 20 more refusals close it" (README, "Limits and safety").
    #[tokio::test(start_paused = true)]
    async fn the_twentieth_refusal_in_a_row_disconnects() {
        let mut guard = guard();
        for _ in 0..20 {
            assert_eq!(guard.check(Frame::Other, Instant::now()), Verdict::Allow);
        }
        for refusal in 1..20 {
            assert_eq!(
                guard.check(Frame::Other, Instant::now()),
                Verdict::Refuse,
                "refusal {refusal}"
            );
        }
        assert_eq!(
            guard.check(Frame::Other, Instant::now()),
            Verdict::Disconnect
        );
    }

    fn guard() -> FloodGuard {
        FloodGuard::new(MESSAGES, TYPING, SIGNALS, Instant::now())
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_allowed_then_the_rate_applies() {
        let mut guard = guard();
        for _ in 0..20 {
            assert_eq!(guard.check(Frame::Other, Instant::now()), Verdict::Allow);
        }
        assert_eq!(guard.check(Frame::Other, Instant::now()), Verdict::Refuse);
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(guard.check(Frame::Other, Instant::now()), Verdict::Allow);
        assert_eq!(guard.check(Frame::Other, Instant::now()), Verdict::Refuse);
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_ten_a_second_is_never_refused() {
        let mut guard = guard();
        for _ in 0..1000 {
            assert_eq!(guard.check(Frame::Other, Instant::now()), Verdict::Allow);
            tokio::time::advance(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn typing_has_its_own_allowance() {
        let mut guard = guard();
        for _ in 0..6 {
            assert_eq!(guard.check(Frame::Typing, Instant::now()), Verdict::Allow);
        }
        assert_eq!(guard.check(Frame::Typing, Instant::now()), Verdict::Refuse);
        assert_eq!(guard.check(Frame::Other, Instant::now()), Verdict::Allow);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_setup_burst_does_not_eat_into_chat_messages() {
        let mut guard = guard();
        for _ in 0..60 {
            assert_eq!(guard.check(Frame::Signal, Instant::now()), Verdict::Allow);
        }
        assert_eq!(guard.check(Frame::Signal, Instant::now()), Verdict::Refuse);
        assert_eq!(guard.check(Frame::Other, Instant::now()), Verdict::Allow);
    }

    #[tokio::test(start_paused = true)]
    async fn a_flooder_is_warned_then_disconnected() {
        let mut guard = guard();
        let verdicts: Vec<Verdict> = (0..60)
            .map(|_| guard.check(Frame::Other, Instant::now()))
            .collect();
        assert!(verdicts[..20].iter().all(|v| *v == Verdict::Allow));
        assert!(verdicts[20..39].iter().all(|v| *v == Verdict::Refuse));
        assert_eq!(verdicts[39], Verdict::Disconnect);
    }
}
