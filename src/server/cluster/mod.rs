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

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult, Script, Value};

use tokio::sync::mpsc;

use super::matchmaker::Seeker;
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
    join: Script,
    tick: Script,
    leave: Script,
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
    /// The mode both asked for.
    pub mode: Mode,
    /// How long our stranger waited.
    pub waited: Duration,
    /// The interests both listed.
    pub common_interests: Vec<String>,
    /// Whether our stranger starts the video call (the one who joined last).
    pub offers: bool,
}

/// Something another instance (or the queue) has to tell one of our strangers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A waiter of ours was paired.
    Paired(Match),
}

/// An event from the inbox, and where reading continues after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub position: String,
    pub event: Event,
}

impl SharedQueue {
    /// Connects to Redis at `url` as a new instance (named at random) and
    /// announces it alive for `alive_for`.
    pub async fn connect(
        url: &str,
        prefix: &str,
        interest_timeout: Duration,
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
            join: Script::new(&format!("{COMMON}\n{JOIN}")),
            tick: Script::new(&format!("{COMMON}\n{TICK}")),
            leave: Script::new(&format!("{COMMON}\n{LEAVE}")),
        };
        queue.heartbeat(alive_for).await?;
        Ok(queue)
    }

    /// This instance's name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Says this instance is alive for another `alive_for`. Called well within
    /// that time; once it stops, other instances drop this one's waiters.
    pub async fn heartbeat(&self, alive_for: Duration) -> RedisResult<()> {
        let mut redis = self.redis.clone();
        let alive = format!("{}alive:{}", self.prefix, self.instance);
        redis::pipe()
            .set_options(
                &alive,
                1,
                redis::SetOptions::default()
                    .with_expiration(redis::SetExpiry::PX(alive_for.as_millis() as u64)),
            )
            .ignore()
            .sadd(format!("{}instances", self.prefix), &self.instance)
            .ignore()
            .query_async::<()>(&mut redis)
            .await
    }

    /// `seeker`, connected here, asks for a stranger on any instance.
    pub async fn join(&self, seeker: &Seeker) -> RedisResult<SharedJoin> {
        let mut redis = self.redis.clone();
        let mut call = self.join.prepare_invoke();
        call.arg(&self.prefix)
            .arg(seeker.id.to_string())
            .arg(&self.instance)
            .arg(seeker.browser.as_deref().unwrap_or(""))
            .arg(mode_name(seeker.mode))
            .arg(if seeker.only_shared { "1" } else { "0" })
            .arg(self.interest_timeout.as_millis() as u64);
        for interest in &seeker.interests {
            call.arg(interest);
        }
        let reply: Vec<String> = call.invoke_async(&mut redis).await?;
        match reply.first().map(String::as_str) {
            Some("waiting") => Ok(SharedJoin::Waiting),
            Some("paired") if reply.len() >= 4 => Ok(SharedJoin::Paired(Match {
                me: seeker.id,
                partner: parse_id(&reply[1])?,
                partner_instance: reply[2].clone(),
                mode: seeker.mode,
                waited: Duration::ZERO,
                common_interests: reply[4..].to_vec(),
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

    /// How many strangers wait, on all instances.
    pub async fn waiting(&self) -> RedisResult<u64> {
        let mut redis = self.redis.clone();
        redis.hlen(format!("{}ticket_of", self.prefix)).await
    }

    /// A connection of its own for reading the inbox: a blocking read would
    /// hold up every other command on a shared one.
    pub async fn inbox(&self) -> RedisResult<Inbox> {
        // No response timeout: a blocking read waits on purpose (Inbox::next
        // bounds each read itself).
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
        let mut redis = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let key = format!("{}inbox:{}", self.prefix, self.instance);
        // Everything written from now on; "$" would mean "from each read on",
        // losing what arrives between two reads.
        let last: redis::streams::StreamRangeReply =
            redis.xrevrange_count(&key, "+", "-", 1).await?;
        let position = last
            .ids
            .first()
            .map_or("0-0".into(), |entry| entry.id.clone());
        Ok(Inbox {
            redis,
            key,
            position,
        })
    }
}

/// This instance's stream of events, read in order, each entry once.
pub struct Inbox {
    redis: redis::aio::MultiplexedConnection,
    key: String,
    /// The last entry read.
    position: String,
}

impl Inbox {
    /// The events that arrive within `wait` (empty if none did).
    pub async fn next(&mut self, wait: Duration) -> RedisResult<Vec<Event>> {
        let options = redis::streams::StreamReadOptions::default()
            .block(wait.as_millis() as usize)
            .count(1000);
        let (keys, positions) = ([&self.key], [&self.position]);
        let read = self.redis.xread_options(&keys, &positions, &options);
        // A Redis that stops answering must not stall the reader forever.
        let reply: Option<redis::streams::StreamReadReply> =
            tokio::time::timeout(wait + READ_MARGIN, read)
                .await
                .map_err(|_| unexpected("inbox read", &["no answer"]))??;
        let mut events = Vec::new();
        for stream in reply.into_iter().flat_map(|r| r.keys) {
            for entry in stream.ids {
                self.position = entry.id.clone();
                events.push(parse_event(&entry.map)?);
            }
        }
        Ok(events)
    }
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
            mode: if text("mode")? == "video" {
                Mode::Video
            } else {
                Mode::Text
            },
            waited: Duration::from_millis(text("waited")?.parse().unwrap_or(0)),
            common_interests: text("common")?
                .split('\n')
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .collect(),
            offers: text("offers")? == "1",
        })),
        other => Err(unexpected("inbox entry", &[other])),
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Text => "text",
        Mode::Video => "video",
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
