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

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult, Script, Value};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::apply_ban;
use super::lobby::Lobby;
use super::matchmaker::Seeker;
use super::moderation::{AUDIT_ENTRIES, AuditEntry, BanOrigin, BanRecord, FiledReport};
use super::network::{AddressKey, AddressLimits, AddressSecret, Gatekeeper};
use super::stranger::StrangerId;
use crate::protocol::{Mode, ServerMessage};

/// How much longer than its blocking time an inbox read may take before the
/// connection is considered lost.
const READ_MARGIN: Duration = Duration::from_secs(2);

/// The scripts: the shared part first, then each one's body.
const COMMON: &str = include_str!("common.lua");
const JOIN: &str = include_str!("join.lua");
const TICK: &str = include_str!("tick.lua");
const LEAVE: &str = include_str!("leave.lua");
const REPORT: &str = include_str!("report.lua");
const BANS: &str = include_str!("bans.lua");
const BAN: &str = include_str!("ban.lua");
const LIFT: &str = include_str!("lift.lua");

/// How long reports are kept unless [`SharedQueue::keeping_reports_for`] says otherwise.
const DEFAULT_REPORT_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The matchmaking state all instances share, seen from one instance.
#[derive(Clone)]
pub struct SharedQueue {
    redis: ConnectionManager,
    client: redis::Client,
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
}

/// A message for a stranger connected to another instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// The instance the stranger is connected to.
    pub instance: String,
    /// Their partner here, so a late message from an earlier chat is recognised.
    pub from: StrangerId,
    /// Who it is for.
    pub to: StrangerId,
    /// What to tell them.
    pub message: ServerMessage,
}

/// How rooms reach partners on other instances without waiting: each message is
/// queued for this instance's cluster task, which writes them, in order, to the
/// partner instance's inbox. Unbounded because a room must never drop a message;
/// what can be queued is bounded by every stranger's rate limits.
#[derive(Debug, Clone)]
pub struct Link(mpsc::UnboundedSender<Outbound>);

impl Link {
    /// A link, and the receiving end the cluster task drains.
    pub fn new() -> (Link, mpsc::UnboundedReceiver<Outbound>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Link(sender), receiver)
    }

    /// Queues `message`; false if the cluster task is gone (the server is stopping).
    pub fn send(&self, message: Outbound) -> bool {
        self.0.send(message).is_ok()
    }
}

/// What the lobby asks of the cluster task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Find this stranger (connected from this network) a partner on any
    /// instance, or queue them.
    Join(Seeker, Option<AddressKey>),
    /// Take this stranger out of the shared queue.
    Leave(StrangerId),
    /// File a report for the operator and count it against the reported network.
    Report(FiledReport),
}

/// The lobby's side of the cluster: its instance's name, and the queues to the
/// cluster task (requests, and messages for partners on other instances).
#[derive(Debug, Clone)]
pub struct ClusterSide {
    /// This instance's name.
    pub instance: String,
    /// Joins and leaves, handled in order.
    pub requests: mpsc::UnboundedSender<Request>,
    /// Messages for partners on other instances.
    pub link: Link,
}

/// The outcome of [`SharedQueue::join`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedJoin {
    /// Nobody suitable was waiting anywhere; the stranger is queued.
    Waiting,
    /// Paired with a waiter, who may be on another instance.
    Paired(Match),
}

/// One side of a pairing: who the partner is and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Our stranger.
    pub me: StrangerId,
    /// Their partner.
    pub partner: StrangerId,
    /// The instance the partner is connected to.
    pub partner_instance: String,
    /// The partner's network, should our stranger report them.
    pub partner_address: Option<AddressKey>,
    /// The mode both asked for.
    pub mode: Mode,
    /// How long our stranger waited.
    pub waited: Duration,
    /// How long the partner waited, when we made the pairing (else zero: the
    /// partner's instance counts it).
    pub partner_waited: Duration,
    /// The interests both listed.
    pub common_interests: Vec<String>,
    /// Whether our stranger starts the video call (the one who joined last).
    pub offers: bool,
}

/// Something another instance (or the queue) has to tell one of our strangers.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A waiter of ours was paired.
    Paired(Match),
    /// A message from a partner on another instance.
    Relayed {
        from: StrangerId,
        to: StrangerId,
        message: ServerMessage,
    },
    /// A network is banned for this much longer, on every instance.
    Banned {
        address: AddressKey,
        remaining: Duration,
    },
    /// An operator lifted a network's ban.
    Unbanned { address: AddressKey },
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
        let client = redis::Client::open(url)?;
        let redis = client.get_connection_manager().await?;
        let queue = SharedQueue {
            redis,
            client,
            prefix: prefix.to_owned(),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            interest_timeout,
            limits,
            report_retention: DEFAULT_REPORT_RETENTION,
            join: Script::new(&format!("{COMMON}\n{JOIN}")),
            tick: Script::new(&format!("{COMMON}\n{TICK}")),
            leave: Script::new(&format!("{COMMON}\n{LEAVE}")),
            report: Script::new(&format!("{COMMON}\n{REPORT}")),
            bans: Script::new(&format!("{COMMON}\n{BANS}")),
            ban: Script::new(&format!("{COMMON}\n{BAN}")),
            lift: Script::new(&format!("{COMMON}\n{LIFT}")),
        };
        queue.heartbeat(alive_for).await?;
        Ok(queue)
    }

    /// Keeps the reports filed from now on for `retention`.
    pub fn keeping_reports_for(mut self, retention: Duration) -> Self {
        self.report_retention = retention;
        self
    }

    /// This instance's name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Says this instance is alive for another `alive_for`. Called well within
    /// that time; once it stops, other instances drop this one's waiters.
    /// Returns whether Redis still knew this instance: false the first time,
    /// and after Redis lost its data (a restart) or counted this instance dead.
    pub async fn heartbeat(&self, alive_for: Duration) -> RedisResult<bool> {
        let mut redis = self.redis.clone();
        let alive = format!("{}alive:{}", self.prefix, self.instance);
        let (known,): (Option<String>,) = redis::pipe()
            .set_options(
                &alive,
                1,
                redis::SetOptions::default()
                    .get(true)
                    .with_expiration(redis::SetExpiry::PX(alive_for.as_millis() as u64)),
            )
            .sadd(format!("{}instances", self.prefix), &self.instance)
            .ignore()
            .query_async(&mut redis)
            .await?;
        Ok(known.is_some())
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
        let mut redis = self.redis.clone();
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
        let mut redis = self.redis.clone();
        let mut call = self.join.prepare_invoke();
        call.arg(&self.prefix)
            .arg(seeker.id.to_string())
            .arg(&self.instance)
            .arg(seeker.browser.as_deref().unwrap_or(""))
            .arg(seeker.mode.as_str())
            .arg(if seeker.only_shared { "1" } else { "0" })
            .arg(self.interest_timeout.as_millis() as u64)
            .arg(address.map(|a| a.to_string()).unwrap_or_default());
        for interest in &seeker.interests {
            call.arg(interest);
        }
        let reply: Vec<String> = call.invoke_async(&mut redis).await?;
        match reply.first().map(String::as_str) {
            Some("waiting") => Ok(SharedJoin::Waiting),
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
        let mut redis = self.redis.clone();
        let removed: i64 = self
            .leave
            .arg(&self.prefix)
            .arg(id.to_string())
            .invoke_async(&mut redis)
            .await?;
        Ok(removed == 1)
    }

    /// Opens up waiters whose interest timeout passed (pairing them where it
    /// can) and drops the waiters of dead instances; how many pairings it made.
    /// Any instance may run it; running it on several is harmless.
    pub async fn tick(&self) -> RedisResult<u64> {
        let mut redis = self.redis.clone();
        self.tick.arg(&self.prefix).invoke_async(&mut redis).await
    }

    /// Files `report` for the operator (kept for the retention time) and counts
    /// it against the reported network; returns the ban it brought, if any
    /// (every live instance is told through its inbox).
    pub async fn report(&self, report: &FiledReport) -> RedisResult<Option<Duration>> {
        let mut redis = self.redis.clone();
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
        let mut redis = self.redis.clone();
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
        let mut redis = self.redis.clone();
        let record: Option<String> = redis.get(format!("{}report:{id}", self.prefix)).await?;
        Ok(record.and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Deletes a report; whether it was there.
    pub async fn delete_report(&self, id: &str) -> RedisResult<bool> {
        let mut redis = self.redis.clone();
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
    /// [`FOREVER_MS`]: super::moderation::FOREVER_MS
    pub async fn ban(&self, address: AddressKey, duration: Duration) -> RedisResult<u64> {
        let mut redis = self.redis.clone();
        let until: String = self
            .ban
            .arg(&self.prefix)
            .arg(address.to_string())
            .arg(
                duration
                    .as_millis()
                    .min(super::moderation::FOREVER_MS as u128) as u64,
            )
            .invoke_async(&mut redis)
            .await?;
        until.parse().map_err(|_| unexpected("ban", &[until]))
    }

    /// An operator lifts the ban on `address`; whether there was one. Every
    /// live instance is told.
    pub async fn lift(&self, address: AddressKey) -> RedisResult<bool> {
        let mut redis = self.redis.clone();
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
        let mut redis = self.redis.clone();
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
        let mut redis = self.redis.clone();
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
        let mut redis = self.redis.clone();
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
    pub async fn send(&self, messages: &[Outbound]) -> RedisResult<()> {
        let mut pipe = redis::pipe();
        for (instance, lines) in relay_lines(messages) {
            pipe.cmd("XADD")
                .arg(format!("{}inbox:{instance}", self.prefix))
                .arg("*")
                .arg("kind")
                .arg("relays")
                .arg("lines")
                .arg(lines)
                .ignore();
        }
        let mut redis = self.redis.clone();
        pipe.query_async(&mut redis).await
    }

    /// Publishes how many strangers are connected here; returns how many are
    /// connected to all live instances together.
    pub async fn online(&self, here: usize) -> RedisResult<u64> {
        let mut redis = self.redis.clone();
        let key = format!("{}online", self.prefix);
        let (_, counts): ((), Vec<u64>) = redis::pipe()
            .hset(&key, &self.instance, here)
            .hvals(&key)
            .query_async(&mut redis)
            .await?;
        Ok(counts.iter().sum())
    }

    /// Whether `instance` still proves it is alive.
    pub async fn is_alive(&self, instance: &str) -> RedisResult<bool> {
        let mut redis = self.redis.clone();
        redis
            .exists(format!("{}alive:{instance}", self.prefix))
            .await
    }

    /// How many strangers wait, on all instances.
    pub async fn waiting(&self) -> RedisResult<u64> {
        let mut redis = self.redis.clone();
        redis.hlen(format!("{}ticket_of", self.prefix)).await
    }

    /// A connection of its own for reading the inbox: a blocking read would
    /// hold up every other command on a shared one. Reads start after what the
    /// inbox holds now.
    pub async fn inbox(&self) -> RedisResult<Inbox> {
        let mut inbox = Inbox {
            client: self.client.clone(),
            redis: None,
            key: format!("{}inbox:{}", self.prefix, self.instance),
            position: String::new(),
        };
        let key = inbox.key.clone();
        let redis = inbox.connection().await?;
        // Everything written from now on; "$" would mean "from each read on",
        // losing what arrives between two reads.
        let last: redis::streams::StreamRangeReply =
            redis.xrevrange_count(&key, "+", "-", 1).await?;
        inbox.position = last
            .ids
            .first()
            .map_or("0-0".into(), |entry| entry.id.clone());
        Ok(inbox)
    }
}

/// This instance's stream of events, read in order, each entry once.
pub struct Inbox {
    client: redis::Client,
    /// Connected on first use, and again after an error.
    redis: Option<redis::aio::MultiplexedConnection>,
    key: String,
    /// The last entry read.
    position: String,
}

impl Inbox {
    async fn connection(&mut self) -> RedisResult<&mut redis::aio::MultiplexedConnection> {
        if self.redis.is_none() {
            // No response timeout: a blocking read waits on purpose (`next`
            // bounds each read itself).
            let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
            let connection = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            self.redis = Some(connection);
        }
        Ok(self.redis.as_mut().expect("connected above"))
    }

    /// The events that arrive within `wait` (empty if none did). After an
    /// error the next call reconnects and goes on from the last entry read.
    pub async fn next(&mut self, wait: Duration) -> RedisResult<Vec<Event>> {
        let result = self.read(wait).await;
        if result.is_err() {
            self.redis = None;
        }
        result
    }

    async fn read(&mut self, wait: Duration) -> RedisResult<Vec<Event>> {
        let options = redis::streams::StreamReadOptions::default()
            .block(wait.as_millis() as usize)
            .count(1000);
        let before = self.position.clone();
        let (keys, positions) = ([self.key.clone()], [self.position.clone()]);
        let redis = self.connection().await?;
        let read = redis.xread_options(&keys, &positions, &options);
        // A Redis that stops answering must not stall the reader forever.
        let reply: Option<redis::streams::StreamReadReply> =
            tokio::time::timeout(wait + READ_MARGIN, read)
                .await
                .map_err(|_| unexpected("inbox read", &["no answer"]))??;
        let mut events = Vec::new();
        for stream in reply.into_iter().flat_map(|r| r.keys) {
            for entry in stream.ids {
                self.position = entry.id.clone();
                // One unreadable entry (from a newer version, say) must not
                // cost the others.
                match parse_entry(&entry.map) {
                    Ok(more) => events.extend(more),
                    Err(error) => tracing::warn!(%error, "skipped an unreadable inbox entry"),
                }
            }
        }
        if self.position != before {
            // What has been read is dropped, and only that: a length cap would
            // also drop what a lagging reader has not read yet. (A dead
            // instance's inbox is deleted by the sweep in `tick.lua`.)
            let (key, position) = (self.key.clone(), self.position.clone());
            let _: u64 = redis::cmd("XTRIM")
                .arg(key)
                .arg("MINID")
                .arg(position)
                .query_async(self.connection().await?)
                .await?;
        }
        Ok(events)
    }
}

/// `messages` as the `lines` of one inbox entry per instance, in order.
fn relay_lines(messages: &[Outbound]) -> Vec<(&str, String)> {
    let mut entries: Vec<(&str, String)> = Vec::new();
    for message in messages {
        let at = match entries.iter().position(|(to, _)| *to == message.instance) {
            Some(at) => at,
            None => {
                entries.push((&message.instance, String::new()));
                entries.len() - 1
            }
        };
        let lines = &mut entries[at].1;
        lines.push_str(&format!("{} {} ", message.from, message.to));
        lines.push_str(&message.message.to_frame());
        lines.push('\n');
    }
    entries
}

/// The events in one inbox entry: one, or for relayed messages, one per line.
fn parse_entry(fields: &HashMap<String, Value>) -> RedisResult<Vec<Event>> {
    let Some(Value::BulkString(lines)) = fields.get("lines") else {
        return parse_event(fields).map(|event| vec![event]);
    };
    let lines = std::str::from_utf8(lines).map_err(|_| unexpected("relays", &["not UTF-8"]))?;
    let mut events = Vec::new();
    for line in lines.lines() {
        match parse_relayed(line) {
            Some(event) => events.push(event),
            None => tracing::warn!("skipped an unreadable relayed message"),
        }
    }
    Ok(events)
}

/// One line of a `relays` entry: `from to frame`.
fn parse_relayed(line: &str) -> Option<Event> {
    let mut parts = line.splitn(3, ' ');
    let (from, to, frame) = (parts.next()?, parts.next()?, parts.next()?);
    Some(Event::Relayed {
        from: from.parse().ok()?,
        to: to.parse().ok()?,
        message: ServerMessage::parse(frame).ok()?,
    })
}

fn parse_event(fields: &HashMap<String, Value>) -> RedisResult<Event> {
    let text = |name: &str| -> RedisResult<String> {
        match fields.get(name) {
            Some(value) => redis::from_redis_value(value.clone()).map_err(Into::into),
            None => Err(unexpected("inbox entry", &[name])),
        }
    };
    match text("kind")?.as_str() {
        "paired" => Ok(Event::Paired(Match {
            me: parse_id(&text("to")?)?,
            partner: parse_id(&text("partner")?)?,
            partner_instance: text("partner_instance")?,
            partner_address: text("partner_address")?.parse().ok(),
            mode: if text("mode")? == "video" {
                Mode::Video
            } else {
                Mode::Text
            },
            waited: Duration::from_millis(text("waited")?.parse().unwrap_or(0)),
            partner_waited: Duration::ZERO,
            common_interests: text("common")?
                .split('\n')
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .collect(),
            offers: text("offers")? == "1",
        })),
        "unbanned" => Ok(Event::Unbanned {
            address: text("address")?
                .parse()
                .map_err(|_| unexpected("unban", &["address"]))?,
        }),
        "banned" => Ok(Event::Banned {
            address: text("address")?
                .parse()
                .map_err(|_| unexpected("ban", &["address"]))?,
            remaining: Duration::from_millis(text("ms")?.parse().unwrap_or(0)),
        }),
        other => Err(unexpected("inbox entry", &[other])),
    }
}

fn parse_id(text: &str) -> RedisResult<StrangerId> {
    text.parse().map_err(|_| unexpected("stranger id", &[text]))
}

fn unexpected(what: &str, got: &[impl AsRef<str>]) -> redis::RedisError {
    let got: Vec<&str> = got.iter().map(AsRef::as_ref).collect();
    redis::RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "unexpected reply from Redis",
        format!("{what}: {got:?}"),
    ))
}

/// Every key this service writes starts with this.
pub const KEY_PREFIX: &str = "strangers:";

/// How long to wait before trying Redis again after an error.
const RETRY: Duration = Duration::from_millis(500);

/// How often an instance proves it is alive, sweeps the queue and checks the
/// instances its strangers' partners are on.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long an instance counts as alive after its last heartbeat: its
/// strangers' partners are told they left within about this long of it dying,
/// plus [`MISSING_GRACE`] and a heartbeat.
pub const ALIVE_FOR: Duration = Duration::from_secs(3);

/// The cluster task: carries the lobby's requests to the shared queue and
/// messages to other instances, and brings back pairings and messages from them.
///
/// Requests, and events from the inbox, are handled one at a time in this
/// task, so a pairing is always seated before anything its partner sends.
pub async fn run(
    queue: SharedQueue,
    lobby: Lobby,
    gate: Gatekeeper,
    mut requests: mpsc::UnboundedReceiver<Request>,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
    shutdown: CancellationToken,
) {
    let (events_in, mut events) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_inbox(queue.clone(), events_in, shutdown.clone()));
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Messages for other instances not yet written (Redis unreachable); new
    // ones wait behind them, so order holds.
    let mut batch = Vec::new();
    let mut retry = tokio::time::interval(RETRY);
    let mut missing = Missing::default();
    // Reports not yet counted (Redis unreachable), tried again each heartbeat.
    let mut reports = Vec::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(request) = requests.recv() => match request {
                Request::Join(seeker, address) => match queue.join(&seeker, address).await {
                    Ok(SharedJoin::Waiting) => {}
                    Ok(SharedJoin::Paired(pairing)) => lobby.paired(pairing),
                    Err(error) => {
                        tracing::warn!(%error, "the shared queue is unreachable");
                        lobby.matching_failed(seeker.id);
                    }
                },
                Request::Leave(id) => {
                    if let Err(error) = queue.leave(id).await {
                        // Left in the queue, it is harmless: a pairing with it
                        // finds it gone here, and its partner asks again.
                        tracing::warn!(%error, "could not take a stranger out of the shared queue");
                    }
                }
                Request::Report(report) => {
                    // What the chat's end sent the reported partner goes first,
                    // so they hear "stranger left" before any ban.
                    while let Ok(message) = outbound.try_recv() {
                        batch.push(message);
                    }
                    if !batch.is_empty() {
                        send_batch(&queue, &mut batch).await;
                    }
                    reports.push(report);
                    count_reports(&queue, &mut reports).await;
                }
            },
            Some(event) = events.recv() => match event {
                Event::Paired(pairing) => lobby.paired(pairing),
                Event::Relayed { from, to, message } => lobby.from_remote(from, to, message),
                Event::Banned { address, remaining } => apply_ban(&lobby, &gate, address, remaining),
                Event::Unbanned { address } => gate.unban(address),
            },
            count = outbound.recv_many(&mut batch, 256), if batch.is_empty() => {
                if count == 0 {
                    break;
                }
                send_batch(&queue, &mut batch).await;
            }
            _ = retry.tick(), if !batch.is_empty() => send_batch(&queue, &mut batch).await,
            _ = heartbeat.tick() => {
                if let Err(error) = beat(&queue, &lobby, &gate, &mut missing).await {
                    tracing::warn!(%error, "could not reach Redis for the heartbeat");
                }
                count_reports(&queue, &mut reports).await;
            }
        }
    }
    reader.abort();
}

/// Counts `reports` in Redis, oldest first, and empties it; on an error keeps
/// what is left for the next try. (The ban a report brings comes back through
/// the inbox, like a ban from any other instance.)
async fn count_reports(queue: &SharedQueue, reports: &mut Vec<FiledReport>) {
    while let Some(report) = reports.first() {
        match queue.report(report).await {
            Ok(ban) => {
                if let Some(ban) = ban {
                    tracing::info!(?ban, "a network was banned after reports");
                }
                reports.remove(0);
            }
            Err(error) => {
                tracing::warn!(%error, "could not reach Redis to count a report; will retry");
                return;
            }
        }
    }
}

/// Applies every ban in force in Redis here: for an instance that may have
/// missed some being told.
async fn catch_up_on_bans(
    queue: &SharedQueue,
    lobby: &Lobby,
    gate: &Gatekeeper,
) -> RedisResult<()> {
    for (address, remaining) in queue.bans().await? {
        apply_ban(lobby, gate, address, remaining);
    }
    Ok(())
}

/// Writes `batch` to the other instances' inboxes and empties it; on an error
/// keeps it for the next try.
async fn send_batch(queue: &SharedQueue, batch: &mut Vec<Outbound>) {
    match queue.send(batch).await {
        Ok(()) => batch.clear(),
        Err(error) => tracing::warn!(%error, "could not reach Redis to relay; will retry"),
    }
}

/// Reads this instance's inbox into `events` until shutdown, reconnecting
/// after errors.
async fn read_inbox(
    queue: SharedQueue,
    events: mpsc::UnboundedSender<Event>,
    shutdown: CancellationToken,
) {
    let mut inbox = loop {
        match open_inbox(&queue, &events).await {
            Ok(inbox) => break inbox,
            Err(error) => tracing::warn!(%error, "could not open the inbox; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    };
    loop {
        let read = tokio::select! {
            () = shutdown.cancelled() => return,
            read = inbox.next(HEARTBEAT) => read,
        };
        match read {
            Ok(arrived) => {
                for event in arrived {
                    if events.send(event).is_err() {
                        return;
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the inbox; will retry");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// Opens this instance's inbox, then passes on the bans already in force:
/// those told between this instance being listed and its inbox opening would
/// be missed otherwise.
async fn open_inbox(
    queue: &SharedQueue,
    events: &mpsc::UnboundedSender<Event>,
) -> RedisResult<Inbox> {
    let inbox = queue.inbox().await?;
    for (address, remaining) in queue.bans().await? {
        let _ = events.send(Event::Banned { address, remaining });
    }
    Ok(inbox)
}

/// Since when each instance our strangers' partners are on has been missing.
/// An instance counts as dead only once missing for [`MISSING_GRACE`]: after
/// Redis restarts, every instance is missing until its next heartbeat.
#[derive(Debug, Default)]
struct Missing(HashMap<String, tokio::time::Instant>);

/// See [`Missing`].
pub const MISSING_GRACE: Duration = Duration::from_secs(2);

/// One heartbeat: alive again for [`ALIVE_FOR`]; our waiters queued again if
/// Redis had forgotten them; interest timeouts and dead instances swept; the
/// online count shared; partners on dead instances noticed.
async fn beat(
    queue: &SharedQueue,
    lobby: &Lobby,
    gate: &Gatekeeper,
    missing: &mut Missing,
) -> RedisResult<()> {
    if !queue.heartbeat(ALIVE_FOR).await? {
        // Counted dead (its inbox swept, bans told meanwhile lost) or Redis
        // restarted empty (the address secret lost too).
        if queue.share_address_secret(gate.secret()).await? != gate.secret() {
            tracing::warn!(
                "Redis holds another address secret than this instance's (an instance started \
                 while Redis had lost it): bans reach instances that hash alike until this one \
                 restarts"
            );
        }
        catch_up_on_bans(queue, lobby, gate).await?;
        for (seeker, address) in lobby.waiting_seekers() {
            match queue.join(&seeker, address).await? {
                SharedJoin::Waiting => {}
                SharedJoin::Paired(pairing) => lobby.paired(pairing),
            }
        }
    }
    queue.tick().await?;
    let here = lobby.online();
    let everywhere = queue.online(here).await? as usize;
    lobby.set_online_elsewhere(everywhere.saturating_sub(here));
    let now = tokio::time::Instant::now();
    let instances = lobby.remote_instances();
    missing.0.retain(|instance, _| instances.contains(instance));
    for instance in instances {
        if queue.is_alive(&instance).await? {
            missing.0.remove(&instance);
            continue;
        }
        let since = *missing.0.entry(instance.clone()).or_insert(now);
        if now.duration_since(since) >= MISSING_GRACE {
            lobby.instance_died(&instance);
            missing.0.remove(&instance);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(lines: &str) -> HashMap<String, Value> {
        HashMap::from([
            ("kind".into(), Value::BulkString(b"relays".to_vec())),
            ("lines".into(), Value::BulkString(lines.as_bytes().to_vec())),
        ])
    }

    #[test]
    fn relayed_messages_travel_one_entry_per_instance_in_order_whatever_their_text() {
        let (alice, bob, carol) = (StrangerId::new(), StrangerId::new(), StrangerId::new());
        let say = |to: StrangerId, instance: &str, text: &str| Outbound {
            instance: instance.into(),
            from: alice,
            to,
            message: ServerMessage::Message { text: text.into() },
        };
        let tricky = "two\nlines, \r\n spaces  and \u{2028} and a \"quote\"";
        let messages = [
            say(bob, "b", "first"),
            say(carol, "c", "elsewhere"),
            say(bob, "b", tricky),
            say(bob, "b", ""),
        ];
        let entries = relay_lines(&messages);
        assert_eq!(entries.iter().map(|e| e.0).collect::<Vec<_>>(), ["b", "c"]);
        let told_b = parse_entry(&entry(&entries[0].1)).unwrap();
        let expected: Vec<Event> = [&messages[0], &messages[2], &messages[3]]
            .into_iter()
            .map(|m| Event::Relayed {
                from: m.from,
                to: m.to,
                message: m.message.clone(),
            })
            .collect();
        assert_eq!(told_b, expected);
        assert_eq!(parse_entry(&entry(&entries[1].1)).unwrap().len(), 1);
    }

    #[test]
    fn an_unreadable_relayed_line_costs_only_itself() {
        let (a, b) = (StrangerId::new(), StrangerId::new());
        let good = format!("{a} {b} {}", ServerMessage::StrangerLeft.to_frame());
        let lines = format!("garbage\n{a} not-an-id {{}}\n{good}\n{a} {b} {{\"type\":\"nope\"}}\n");
        assert_eq!(
            parse_entry(&entry(&lines)).unwrap(),
            [Event::Relayed {
                from: a,
                to: b,
                message: ServerMessage::StrangerLeft
            }]
        );
    }
}
