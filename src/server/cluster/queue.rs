//! The script client: the shared queue, reports and bans, each one Lua script
//! that Redis runs atomically.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::{AsyncCommands, RedisResult, Script};

use super::inbox::Inbox;
use super::primary::Primary;
use super::wire::{parse_id, relay_lines, unexpected};
use crate::server::matchmaker::{MAX_SKIPPED, RECENT_PARTNERS, Seeker};
use crate::server::moderation::{AUDIT_ENTRIES, AuditEntry, BanOrigin, BanRecord, FiledReport};
use crate::server::network::{AddressKey, AddressLimits, AddressSecret};
use crate::server::seam::{Match, Outbound};
use crate::server::stranger::StrangerId;

/// The scripts: the shared part first, then each one's body.
const COMMON: &str = include_str!("common.lua");
const JOIN: &str = include_str!("join.lua");
const TICK: &str = include_str!("tick.lua");
const LEAVE: &str = include_str!("leave.lua");
const REPORT: &str = include_str!("report.lua");
const BANS: &str = include_str!("bans.lua");
const BAN: &str = include_str!("ban.lua");
const LIFT: &str = include_str!("lift.lua");
const RELAY: &str = include_str!("relay.lua");
const RETIRE: &str = include_str!("retire.lua");
const HEARTBEAT: &str = include_str!("heartbeat.lua");

/// One script: the constants the in-memory matchmaker uses too, the shared
/// part, then `body`. Both matchmakers take their rules' numbers from one place.
fn script(body: &str) -> Script {
    Script::new(&format!(
        "local MAX_SKIPPED = {MAX_SKIPPED}\nlocal RECENT_PARTNERS = {RECENT_PARTNERS}\n\
         local DAY_MS = {DAY_MS}\nlocal INBOX_KEEP_MS = {INBOX_KEEP_MS}\n\
         local QUEUE_KEEP_MS = {QUEUE_KEEP_MS}\n{COMMON}\n{body}"
    ))
}

/// A day in milliseconds (the reports a network may count in a day).
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// How long an inbox nobody writes to is kept (ms): what it holds, relayed
/// chat text among it, never outlives this even if its reader died. Far longer
/// than a live reader takes (it reads continuously and trims what it read).
pub const INBOX_KEEP_MS: u64 = 60_000;

/// How long the queue's keys are kept after their last write (ms): a day. A
/// stranger who waits longer loses their place; the bound keeps what the
/// queue holds about people (interests, network keys) from outliving every
/// instance that could remove it.
pub const QUEUE_KEEP_MS: u64 = DAY_MS;

/// How long reports are kept unless [`SharedQueue::keeping_reports_for`] says otherwise.
const DEFAULT_REPORT_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The matchmaking state all instances share, seen from one instance.
#[derive(Clone)]
pub struct SharedQueue {
    /// Where Redis is (following Sentinel's failovers, if it names it).
    primary: Arc<Primary>,
    /// How far Redis's clock is ahead of ours (ms), as of the last heartbeat:
    /// a join's deadline is given in Redis's time.
    clock_offset_ms: Arc<AtomicI64>,
    /// Every key starts with this, so several services can share one Redis.
    prefix: String,
    /// This instance's random name.
    instance: String,
    interest_timeout: Duration,
    /// How many reports ban a network, within what window, for how long.
    limits: AddressLimits,
    /// How long reports are kept for the operator.
    report_retention: Duration,
    join: Script,
    tick: Script,
    leave: Script,
    report: Script,
    bans: Script,
    ban: Script,
    lift: Script,
    relay: Script,
    retire: Script,
    heartbeat: Script,
}

/// The outcome of [`SharedQueue::join`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedJoin {
    /// Nobody suitable was waiting anywhere; the stranger is queued.
    Waiting,
    /// Paired with a waiter, who may be on another instance.
    Paired(Match),
    /// Redis does not know this instance (it restarted empty, or counted this
    /// instance dead): nothing was done. Come back first (a heartbeat).
    Forgotten,
    /// Redis ran the join after its deadline ([`RUN_DEADLINE`]): nothing was
    /// done. (A join sent to a Redis that stopped answering may run when it
    /// wakes, long after the stranger was told matching is paused.)
    Late,
}

/// How long after it is sent a join or a heartbeat may still be run by Redis.
pub const RUN_DEADLINE: Duration = Duration::from_secs(2);

/// `time` by our clock, in ms since 1970.
fn ms_since_1970(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// Our clock now, in ms since 1970.
fn local_ms() -> i64 {
    ms_since_1970(SystemTime::now())
}

impl SharedQueue {
    /// Connects to Redis at `url` as a new instance (named at random) and
    /// announces it alive for `alive_for`. Reports ban under `limits`.
    pub async fn connect(
        url: &str,
        prefix: &str,
        interest_timeout: Duration,
        limits: AddressLimits,
        alive_for: Duration,
    ) -> RedisResult<SharedQueue> {
        let queue = SharedQueue {
            primary: Arc::new(Primary::connect(url).await?),
            clock_offset_ms: Arc::default(),
            prefix: prefix.to_owned(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            interest_timeout,
            limits,
            report_retention: DEFAULT_REPORT_RETENTION,
            join: script(JOIN),
            tick: script(TICK),
            leave: script(LEAVE),
            report: script(REPORT),
            bans: script(BANS),
            ban: script(BAN),
            lift: script(LIFT),
            relay: script(RELAY),
            retire: script(RETIRE),
            heartbeat: script(HEARTBEAT),
        };
        // The first heartbeat measures how far Redis's clock is from ours; if
        // that is more than its deadline allows, the second, sent by Redis's
        // clock, goes through.
        if queue.heartbeat(alive_for).await.is_err() {
            queue.heartbeat(alive_for).await?;
        }
        Ok(queue)
    }

    /// Keeps the reports filed from now on for `retention`.
    pub fn keeping_reports_for(mut self, retention: Duration) -> Self {
        self.report_retention = retention;
        self
    }

    /// With Sentinel, moves to the primary it names if that changed (a
    /// failover); true if it did.
    pub async fn follow_primary(&self) -> RedisResult<bool> {
        self.primary.follow().await
    }

    /// This instance's name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Says this instance is alive for another `alive_for`. Called well within
    /// that time; once it stops, other instances drop this one's waiters.
    /// Returns whether Redis still knew this instance: false the first time,
    /// and after Redis lost its data (a restart) or counted this instance dead,
    /// in which case Redis has dropped this instance's waiters (the caller
    /// queues again those still waiting).
    pub async fn heartbeat(&self, alive_for: Duration) -> RedisResult<bool> {
        self.heartbeat_before(alive_for, false, SystemTime::now() + RUN_DEADLINE)
            .await
    }

    /// [`heartbeat`](Self::heartbeat), to be run by Redis before `deadline`
    /// (by our clock) or not at all: an error if Redis ran it later. With
    /// `start_over`, Redis drops this instance's waiters even if it knew the
    /// instance (it was cut off, and told them matching paused).
    pub async fn heartbeat_before(
        &self,
        alive_for: Duration,
        start_over: bool,
        deadline: SystemTime,
    ) -> RedisResult<bool> {
        let mut redis = self.primary.connection();
        let asked = local_ms();
        let (outcome, seconds, micros): (String, i64, i64) = self
            .heartbeat
            .arg(&self.prefix)
            .arg(&self.instance)
            .arg(alive_for.as_millis() as u64)
            .arg(ms_since_1970(deadline) + self.clock_offset_ms.load(Ordering::Relaxed))
            .arg(if start_over { "1" } else { "0" })
            .invoke_async(&mut redis)
            .await?;
        let midway = (asked + local_ms()) / 2;
        let offset = seconds * 1000 + micros / 1000 - midway;
        self.clock_offset_ms.store(offset, Ordering::Relaxed);
        match outcome.as_str() {
            "known" => Ok(true),
            "forgotten" => Ok(false),
            "late" => Err(unexpected("heartbeat", &["run after its deadline"])),
            _ => Err(unexpected("heartbeat", &[outcome])),
        }
    }

    /// The secret every instance hashes network addresses with: the first
    /// instance to ask chooses it at random, the others read it.
    pub async fn address_secret(&self) -> RedisResult<AddressSecret> {
        self.share_address_secret(AddressSecret::random()).await
    }

    /// Offers `ours` as the address secret, kept unless Redis holds one
    /// already; returns the one Redis holds. (After Redis lost its data, the
    /// running instances put theirs back.)
    pub async fn share_address_secret(&self, ours: AddressSecret) -> RedisResult<AddressSecret> {
        let mut redis = self.primary.connection();
        let key = format!("{}address_secret", self.prefix);
        let (stored,): (String,) = redis::pipe()
            .set_options(
                &key,
                ours.to_hex(),
                redis::SetOptions::default().conditional_set(redis::ExistenceCheck::NX),
            )
            .ignore()
            .get(&key)
            .query_async(&mut redis)
            .await?;
        AddressSecret::from_hex(&stored)
            .ok_or_else(|| unexpected("address secret", &["unreadable"]))
    }

    /// `seeker`, connected here from `address`, asks for a stranger on any instance.
    pub async fn join(
        &self,
        seeker: &Seeker,
        address: Option<AddressKey>,
    ) -> RedisResult<SharedJoin> {
        self.join_before(seeker, address, SystemTime::now() + RUN_DEADLINE)
            .await
    }

    /// [`join`](Self::join), to be run by Redis before `deadline` (by our
    /// clock; Redis's may differ, which the heartbeat measures) or not at all.
    pub async fn join_before(
        &self,
        seeker: &Seeker,
        address: Option<AddressKey>,
        deadline: SystemTime,
    ) -> RedisResult<SharedJoin> {
        let mut redis = self.primary.connection();
        let mut call = self.join.prepare_invoke();
        call.arg(&self.prefix)
            .arg(seeker.id.to_string())
            .arg(&self.instance)
            .arg(seeker.browser.as_deref().unwrap_or(""))
            .arg(seeker.mode.as_str())
            .arg(if seeker.only_shared { "1" } else { "0" })
            .arg(self.interest_timeout.as_millis() as u64)
            .arg(address.map(|a| a.to_string()).unwrap_or_default())
            .arg(ms_since_1970(deadline) + self.clock_offset_ms.load(Ordering::Relaxed));
        for interest in &seeker.interests {
            call.arg(interest);
        }
        let reply: Vec<String> = call.invoke_async(&mut redis).await?;
        match reply.first().map(String::as_str) {
            Some("waiting") => Ok(SharedJoin::Waiting),
            Some("forgotten") => Ok(SharedJoin::Forgotten),
            Some("late") => Ok(SharedJoin::Late),
            Some("paired") if reply.len() >= 5 => Ok(SharedJoin::Paired(Match {
                me: seeker.id,
                partner: parse_id(&reply[1])?,
                partner_instance: reply[2].clone(),
                partner_address: reply[4].parse().ok(),
                mode: seeker.mode,
                waited: Duration::ZERO,
                partner_waited: Duration::from_millis(reply[3].parse().unwrap_or(0)),
                common_interests: reply[5..].to_vec(),
                offers: true,
            })),
            _ => Err(unexpected("join", &reply)),
        }
    }

    /// Takes `id` out of the queue; whether they were waiting.
    pub async fn leave(&self, id: StrangerId) -> RedisResult<bool> {
        let mut redis = self.primary.connection();
        let removed: i64 = self
            .leave
            .arg(&self.prefix)
            .arg(id.to_string())
            .invoke_async(&mut redis)
            .await?;
        Ok(removed == 1)
    }

    /// This instance is leaving for good (shutdown): its waiters leave the
    /// queue, its presence and inbox are deleted. How many waiters it took out.
    pub async fn retire(&self) -> RedisResult<u64> {
        let mut redis = self.primary.connection();
        self.retire
            .arg(&self.prefix)
            .arg(&self.instance)
            .invoke_async(&mut redis)
            .await
    }

    /// Opens up waiters whose interest timeout passed (pairing them where it
    /// can) and drops the waiters of dead instances; how many pairings it made.
    /// Any instance may run it; running it on several is harmless.
    pub async fn tick(&self) -> RedisResult<u64> {
        let mut redis = self.primary.connection();
        self.tick.arg(&self.prefix).invoke_async(&mut redis).await
    }

    /// Files `report` for the operator (kept for the retention time) and counts
    /// it against the reported network; returns the ban it brought, if any
    /// (every live instance is told through its inbox).
    pub async fn report(&self, report: &FiledReport) -> RedisResult<Option<Duration>> {
        let mut redis = self.primary.connection();
        let limits = &self.limits;
        let record = serde_json::to_string(report).map_err(|_| unexpected("report", &["JSON"]))?;
        let ban: u64 = self
            .report
            .arg(&self.prefix)
            .arg(report.reporter.to_string())
            .arg(report.reported.to_string())
            .arg(limits.reports_to_ban)
            .arg(limits.report_window.as_millis() as u64)
            .arg(limits.ban_duration.as_millis() as u64)
            .arg(&report.id)
            .arg(record)
            .arg(report.at_ms)
            .arg(self.report_retention.as_millis().max(1) as u64)
            .arg(u8::from(report.counted))
            .arg(limits.reports_per_day)
            .arg(limits.ban_growth)
            .arg(limits.max_ban.max(limits.ban_duration).as_millis() as u64)
            .arg(limits.offence_memory.as_millis() as u64)
            .invoke_async(&mut redis)
            .await?;
        Ok((ban > 0).then(|| Duration::from_millis(ban)))
    }

    /// The reports kept that were made after `oldest` (ms since 1970), newest first.
    pub async fn reports(&self, oldest: u64) -> RedisResult<Vec<FiledReport>> {
        let mut redis = self.primary.connection();
        let index = format!("{}reports", self.prefix);
        let ids: Vec<String> = redis
            .zrevrangebyscore(&index, "+inf", format!("({oldest}"))
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids
            .iter()
            .map(|id| format!("{}report:{id}", self.prefix))
            .collect();
        let records: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut redis)
            .await?;
        let mut reports = Vec::new();
        for (id, record) in ids.iter().zip(records) {
            match record.map(|json| serde_json::from_str::<FiledReport>(&json)) {
                Some(Ok(report)) => reports.push(report),
                // Expired (or unreadable): drop it from the index too.
                _ => {
                    let _: u64 = redis.zrem(&index, id).await?;
                }
            }
        }
        Ok(reports)
    }

    /// One report, if still kept (Redis expires it after the retention time).
    pub async fn stored_report(&self, id: &str) -> RedisResult<Option<FiledReport>> {
        let mut redis = self.primary.connection();
        let record: Option<String> = redis.get(format!("{}report:{id}", self.prefix)).await?;
        Ok(record.and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Deletes a report; whether it was there.
    pub async fn delete_report(&self, id: &str) -> RedisResult<bool> {
        let mut redis = self.primary.connection();
        let (deleted, _): (u64, u64) = redis::pipe()
            .del(format!("{}report:{id}", self.prefix))
            .zrem(format!("{}reports", self.prefix), id)
            .query_async(&mut redis)
            .await?;
        Ok(deleted == 1)
    }

    /// An operator bans `address` for `duration` (at most until [`FOREVER_MS`]
    /// since 1970); returns when the ban ends. Every live instance is told.
    ///
    /// [`FOREVER_MS`]: crate::server::moderation::FOREVER_MS
    pub async fn ban(&self, address: AddressKey, duration: Duration) -> RedisResult<u64> {
        let mut redis = self.primary.connection();
        let until: String = self
            .ban
            .arg(&self.prefix)
            .arg(address.to_string())
            .arg(
                duration
                    .as_millis()
                    .min(crate::server::moderation::FOREVER_MS as u128) as u64,
            )
            .invoke_async(&mut redis)
            .await?;
        until.parse().map_err(|_| unexpected("ban", &[until]))
    }

    /// An operator lifts the ban on `address`; whether there was one. Every
    /// live instance is told.
    pub async fn lift(&self, address: AddressKey) -> RedisResult<bool> {
        let mut redis = self.primary.connection();
        let was: u64 = self
            .lift
            .arg(&self.prefix)
            .arg(address.to_string())
            .invoke_async(&mut redis)
            .await?;
        Ok(was == 1)
    }

    /// Adds `entry` to the audit log every instance shares.
    pub async fn audit(&self, entry: &AuditEntry) -> RedisResult<()> {
        let mut redis = self.primary.connection();
        let key = format!("{}audit", self.prefix);
        let json = serde_json::to_string(entry).map_err(|_| unexpected("audit", &["JSON"]))?;
        redis::pipe()
            .lpush(&key, json)
            .ignore()
            .ltrim(&key, 0, AUDIT_ENTRIES as isize - 1)
            .ignore()
            .query_async(&mut redis)
            .await
    }

    /// The audit log, newest first.
    pub async fn audit_log(&self) -> RedisResult<Vec<AuditEntry>> {
        let mut redis = self.primary.connection();
        let entries: Vec<String> = redis.lrange(format!("{}audit", self.prefix), 0, -1).await?;
        Ok(entries
            .iter()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect())
    }

    /// Every ban in force and how long it has left.
    pub async fn bans(&self) -> RedisResult<Vec<(AddressKey, Duration)>> {
        Ok(self
            .ban_records_left()
            .await?
            .into_iter()
            .map(|(record, left)| (record.address, left))
            .collect())
    }

    /// Every ban in force, as the console lists them.
    pub async fn ban_records(&self) -> RedisResult<Vec<BanRecord>> {
        Ok(self
            .ban_records_left()
            .await?
            .into_iter()
            .map(|(record, _)| record)
            .collect())
    }

    async fn ban_records_left(&self) -> RedisResult<Vec<(BanRecord, Duration)>> {
        let mut redis = self.primary.connection();
        let found: Vec<String> = self.bans.arg(&self.prefix).invoke_async(&mut redis).await?;
        found
            .chunks_exact(4)
            .map(|ban| {
                let bad = || unexpected("ban", ban);
                let (origin, since) = ban[3].split_once(':').ok_or_else(bad)?;
                let record = BanRecord {
                    address: ban[0].parse().map_err(|_| bad())?,
                    until_ms: ban[2].parse().map_err(|_| bad())?,
                    since_ms: since.parse().map_err(|_| bad())?,
                    origin: BanOrigin::parse(origin).ok_or_else(bad)?,
                };
                let left = Duration::from_millis(ban[1].parse().map_err(|_| bad())?);
                Ok((record, left))
            })
            .collect()
    }

    /// Writes `messages` to their instances' inboxes, in order, in one round
    /// trip: one inbox entry per instance, holding its messages one per line
    /// (`from to frame`; a JSON frame never holds a raw line break). An entry
    /// per message cost Redis and both instances several times as much.
    /// Returns the instances that are not alive: what was for them reached
    /// nobody.
    pub async fn send(&self, messages: &[Outbound]) -> RedisResult<Vec<String>> {
        let mut invocation = self.relay.prepare_invoke();
        invocation.arg(&self.prefix);
        for (instance, lines) in relay_lines(messages) {
            invocation.arg(instance).arg(lines);
        }
        let mut redis = self.primary.connection();
        invocation.invoke_async(&mut redis).await
    }

    /// Publishes how many strangers are connected here; returns how many are
    /// connected to all live instances together.
    pub async fn online(&self, here: usize) -> RedisResult<u64> {
        let mut redis = self.primary.connection();
        let key = format!("{}online", self.prefix);
        let (counts,): (Vec<u64>,) = redis::pipe()
            .hset(&key, &self.instance, here)
            .ignore()
            .pexpire(&key, QUEUE_KEEP_MS as i64)
            .ignore()
            .hvals(&key)
            .query_async(&mut redis)
            .await?;
        Ok(counts.iter().sum())
    }

    /// Whether `instance` still proves it is alive.
    pub async fn is_alive(&self, instance: &str) -> RedisResult<bool> {
        let mut redis = self.primary.connection();
        redis
            .exists(format!("{}alive:{instance}", self.prefix))
            .await
    }

    /// How many strangers wait, on all instances.
    pub async fn waiting(&self) -> RedisResult<u64> {
        let mut redis = self.primary.connection();
        redis.hlen(format!("{}ticket_of", self.prefix)).await
    }

    /// A connection of its own for reading the inbox: a blocking read would
    /// hold up every other command on a shared one. Reads start from its
    /// first entry (see [`Inbox::new`]).
    pub fn inbox(&self) -> Inbox {
        let key = format!("{}inbox:{}", self.prefix, self.instance);
        Inbox::new(self.primary.clone(), key)
    }
}
