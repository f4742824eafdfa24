//! Where Redis is: one address (`redis://`, `rediss://`, `redis+unix://`), or
//! a primary that Redis Sentinel names and replaces when it fails
//! (`redis+sentinel://host:port,host:port,.../service-name`).
//!
//! Every call takes the current connection; the heartbeat asks Sentinel each
//! beat where the primary is and moves to it, so a failover pauses matching
//! for about Sentinel's own detection time plus one heartbeat.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::Sentinel;
use redis::{ErrorKind, RedisError, RedisResult};

/// How a `--redis-url` names Redis through Sentinel.
pub const SENTINEL_SCHEME: &str = "redis+sentinel://";

/// Where Redis is, and the connection to it.
pub struct Primary {
    source: Source,
    current: Mutex<Current>,
}

enum Source {
    /// One address; the connection reconnects to it by itself.
    Direct,
    /// Sentinels to ask, and the name of the service they watch.
    Sentinel {
        sentinels: tokio::sync::Mutex<Sentinel>,
        service: String,
    },
}

#[derive(Clone)]
struct Current {
    client: redis::Client,
    connection: ConnectionManager,
}

impl Primary {
    /// Connects to Redis at `url` (for Sentinel, to the primary it names).
    pub async fn connect(url: &str) -> RedisResult<Primary> {
        let (source, client) = match url.strip_prefix(SENTINEL_SCHEME) {
            None => (Source::Direct, redis::Client::open(url)?),
            Some(rest) => {
                let (hosts, service) = parse_sentinel(rest)?;
                let addresses: Vec<String> =
                    hosts.iter().map(|host| format!("redis://{host}")).collect();
                let mut sentinels = Sentinel::build(addresses)?;
                let client = sentinels.async_master_for(&service, None).await?;
                let source = Source::Sentinel {
                    sentinels: tokio::sync::Mutex::new(sentinels),
                    service,
                };
                (source, client)
            }
        };
        let connection = manage(&client).await?;
        Ok(Primary {
            source,
            current: Mutex::new(Current { client, connection }),
        })
    }

    fn current(&self) -> Current {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A connection to the primary (cheap: a handle on a shared one).
    pub fn connection(&self) -> ConnectionManager {
        self.current().connection
    }

    /// The primary's client, to open connections of one's own (a blocking read).
    pub fn client(&self) -> redis::Client {
        self.current().client
    }

    /// With Sentinel, asks where the primary is now, and moves there if it
    /// moved (a failover); true if it did. Alone, nothing to do.
    pub async fn follow(&self) -> RedisResult<bool> {
        let Source::Sentinel { sentinels, service } = &self.source else {
            return Ok(false);
        };
        let client = sentinels
            .lock()
            .await
            .async_master_for(service, None)
            .await?;
        if client.get_connection_info().addr() == self.current().client.get_connection_info().addr()
        {
            return Ok(false);
        }
        let connection = manage(&client).await?;
        tracing::warn!("Redis failed over: following Sentinel to the new primary");
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
            Current { client, connection };
        Ok(true)
    }
}

/// A connection to `client`'s server that reconnects by itself, giving up on
/// each try within about a second: a caller waits on a lost server no longer
/// than that (the default retries for several seconds, holding up every call
/// meanwhile, also after a failover has named a new primary).
async fn manage(client: &redis::Client) -> RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(200))
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_millis(500)));
    client.get_connection_manager_with_config(config).await
}

/// `host:port,host:port/service` into the hosts and the service name.
fn parse_sentinel(rest: &str) -> RedisResult<(Vec<String>, String)> {
    let invalid = |why: &'static str| RedisError::from((ErrorKind::InvalidClientConfig, why));
    let (hosts, service) = rest
        .split_once('/')
        .ok_or_else(|| invalid("a Sentinel URL ends with /<service name>"))?;
    let hosts: Vec<String> = hosts
        .split(',')
        .filter(|host| !host.is_empty())
        .map(str::to_owned)
        .collect();
    let service = service.trim_end_matches('/');
    if hosts.is_empty() {
        return Err(invalid(
            "a Sentinel URL names at least one sentinel (host:port)",
        ));
    }
    if service.is_empty() || service.contains('/') {
        return Err(invalid("a Sentinel URL ends with /<service name>"));
    }
    Ok((hosts, service.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentinel_url_names_its_sentinels_and_service() {
        assert_eq!(
            parse_sentinel("10.0.0.1:26379,10.0.0.2:26379/strangers").unwrap(),
            (
                vec!["10.0.0.1:26379".to_owned(), "10.0.0.2:26379".to_owned()],
                "strangers".to_owned()
            )
        );
        for bad in ["10.0.0.1:26379", "/strangers", "10.0.0.1:26379/", "a:1/b/c"] {
            assert!(parse_sentinel(bad).is_err(), "{bad}");
        }
    }
}
