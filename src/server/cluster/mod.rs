//! Several instances as one service: the queue of waiting strangers in Redis.
//!
//! With `--redis-url`, matchmaking moves from the in-memory
//! [`Matchmaker`](super::matchmaker::Matchmaker) to Lua scripts that Redis runs
//! one at a time, so a waiter can be taken by one instance only, whichever
//! instance its stranger is connected to. The scripts keep the same rules
//! (see `common.lua`). An instance hears of its strangers being paired by
//! others through its own inbox, a Redis stream written by the same script
//! that made the pairing: read in order, each entry once.
//!
//! Each instance proves it is alive with a key that expires; the waiters of an
//! instance that stops refreshing it are dropped from the queue.
//!
//! Reports are counted in Redis too, under address keys every instance agrees
//! on (they share one [`AddressSecret`]), and a ban is told to every instance
//! through its inbox; an instance that may have missed some reads them all.
//!
//! The parts: [`primary`] knows where Redis is (one address, or the primary
//! Sentinel names), [`queue`] runs the scripts (the shared queue, reports,
//! bans), [`inbox`] reads this instance's stream, [`wire`] is how events are
//! written into and read out of it, and [`task`] runs the three tasks that
//! join them to the lobby (joins and the inbox; relays; presence). What the
//! lobby and rooms exchange with it is in [`super::seam`].

mod inbox;
mod primary;
mod queue;
mod task;
mod wire;

pub use super::seam::{
    ClusterSide, Link, Match, Outbound, Outgoing, Request, RequestQueue, Requests,
};
pub use inbox::Inbox;
pub use primary::SENTINEL_SCHEME;
pub use queue::{INBOX_KEEP_MS, SharedJoin, SharedQueue};
pub use task::{ALIVE_FOR, HEARTBEAT, KEY_PREFIX, MISSING_GRACE, run};
pub use wire::Event;
