//! This instance's inbox: a Redis stream read in order, each entry once.

use std::sync::Arc;
use std::time::Duration;

use redis::{AsyncCommands, RedisResult};

use super::primary::Primary;
use super::wire::{Event, parse_entry, unexpected};

/// How much longer than its blocking time an inbox read may take before the
/// connection is considered lost.
const READ_MARGIN: Duration = Duration::from_secs(2);

/// This instance's stream of events, read in order, each entry once.
pub struct Inbox {
    /// Where Redis is now (after a failover, the new primary).
    primary: Arc<Primary>,
    /// Connected on first use, and again after an error.
    redis: Option<redis::aio::MultiplexedConnection>,
    key: String,
    /// The last entry read.
    position: String,
}

impl Inbox {
    /// The inbox at `key`, read from its first entry: an instance's name is
    /// new with each start, so whatever its inbox holds was written for this
    /// instance, even while it was starting or cut off. (Reading "from what
    /// it holds now" instead lost what arrived before a reopen.) Connects on
    /// first use.
    pub(super) fn new(primary: Arc<Primary>, key: String) -> Inbox {
        Inbox {
            primary,
            redis: None,
            key,
            position: "0-0".into(),
        }
    }

    async fn connection(&mut self) -> RedisResult<&mut redis::aio::MultiplexedConnection> {
        if self.redis.is_none() {
            // No response timeout: a blocking read waits on purpose (`next`
            // bounds each read itself).
            let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
            let connection = self
                .primary
                .client()
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
            // A failed trim must not cost what was read: the next read's trim
            // drops it instead.
            if let Err(error) = self.trim().await {
                tracing::warn!(%error, "could not trim the inbox; will trim later");
                self.redis = None;
            }
        }
        Ok(events)
    }

    /// Drops what has been read.
    async fn trim(&mut self) -> RedisResult<u64> {
        let (key, position) = (self.key.clone(), self.position.clone());
        redis::cmd("XTRIM")
            .arg(key)
            .arg("MINID")
            .arg(position)
            .query_async(self.connection().await?)
            .await
    }
}
