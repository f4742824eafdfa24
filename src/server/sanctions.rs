//! Reports and bans, whichever path they come by: a stranger's report (from
//! their connection), an operator's ban or lift (from the console), or a ban
//! or lift decided on another instance (from Redis, through the cluster task).
//!
//! Alone, an instance counts reports and keeps bans itself. With Redis, it
//! hands reports and the operator's decisions to Redis, which counts them with
//! every instance's and tells every instance, this one included, what to
//! apply; so a ban takes effect the same way wherever it was decided.

use std::time::Duration;

use tokio::time::Instant;

use super::lobby::Lobby;
use super::moderation::{
    BanOrigin, BanRecord, FOREVER_MS, FiledReport, Moderation, Unreachable, now_ms,
};
use super::network::{AddressKey, Gatekeeper, Reported};

/// Where reports are filed and bans decided and applied. Cheap to clone.
#[derive(Clone)]
pub struct Sanctions {
    lobby: Lobby,
    gate: Gatekeeper,
    moderation: Moderation,
}

impl Sanctions {
    /// Sanctions acting on `lobby`'s strangers and `gate`'s networks, kept in
    /// `moderation`'s records.
    pub fn new(lobby: Lobby, gate: Gatekeeper, moderation: Moderation) -> Self {
        Sanctions {
            lobby,
            gate,
            moderation,
        }
    }

    /// The gate bans are applied at.
    pub fn gate(&self) -> &Gatekeeper {
        &self.gate
    }

    /// Files a stranger's report for the operator and, if it counts, counts
    /// it toward a ban: in Redis with every instance's, or here alone.
    pub fn file(&self, report: FiledReport) {
        let now = Instant::now();
        if self.lobby.share_report(report.clone()) {
            // Counted in Redis (a ban comes back like any other); here, at
            // least, the reported network's next connections pass the bot check.
            if report.counted {
                self.gate.suspect(report.reported, now);
            }
            return;
        }
        let (reporter, reported) = (report.reporter, report.reported);
        let outcome = self.gate.report(reporter, reported, report.counted, now);
        let counted = outcome != Reported::NotCounted;
        self.moderation.file_here(report.counting(counted));
        if let Reported::Banned(ban) = outcome {
            tracing::info!(?ban, "a network was banned after reports");
            let since_ms = now_ms();
            self.moderation.note_ban_here(BanRecord {
                address: reported,
                since_ms,
                until_ms: since_ms + ban.as_millis() as u64,
                origin: BanOrigin::Reports,
            });
            self.lobby.ban(reported, ban.as_secs());
        }
    }

    /// An operator bans `address` for `duration` (`None`: for good), on every
    /// instance.
    pub async fn ban(
        &self,
        address: AddressKey,
        duration: Option<Duration>,
    ) -> Result<(), Unreachable> {
        let length = duration.unwrap_or(Duration::from_millis(FOREVER_MS));
        if let Some(queue) = self.moderation.queue() {
            // Every instance, this one included, applies it from its inbox.
            queue.ban(address, length).await?;
            return Ok(());
        }
        let now = now_ms();
        let until_ms = duration.map_or(FOREVER_MS, |d| now + d.as_millis() as u64);
        self.apply_ban(address, Duration::from_millis(until_ms.saturating_sub(now)));
        self.moderation.note_ban_here(BanRecord {
            address,
            since_ms: now,
            until_ms,
            origin: BanOrigin::Operator,
        });
        Ok(())
    }

    /// An operator lets `address` in again, on every instance.
    pub async fn lift(&self, address: AddressKey) -> Result<(), Unreachable> {
        if let Some(queue) = self.moderation.queue() {
            // Every instance, this one included, applies it from its inbox.
            queue.lift(address).await?;
        } else {
            self.apply_lift(address);
            self.moderation.forget_ban_here(address);
        }
        Ok(())
    }

    /// A ban in force, wherever it was decided: the network is turned away
    /// for `remaining`, and its strangers connected here are told for how
    /// long and disconnected (their partners hear that the stranger left).
    pub fn apply_ban(&self, address: AddressKey, remaining: Duration) {
        self.gate.ban(address, remaining, Instant::now());
        self.lobby.ban(address, remaining.as_secs());
    }

    /// A ban lifted, wherever it was decided.
    pub fn apply_lift(&self, address: AddressKey) {
        self.gate.unban(address);
    }
}
