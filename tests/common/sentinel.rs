//! Redis with failover: one primary, one replica and three Sentinels, all
//! Debian's `redis-server` (Sentinel is its `--sentinel` mode), on loopback
//! ports, in a directory of their own, gone with the test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::time::Instant;

/// The name the Sentinels know the service by.
pub const SERVICE: &str = "strangers";

pub struct Failover {
    dir: PathBuf,
    /// Primary first, then the replica.
    servers: Vec<(u16, Option<Child>)>,
    sentinels: Vec<(u16, Child)>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port()
}

fn spawn(args: &[&str]) -> Child {
    Command::new("redis-server")
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is installed (.ci/setup installs it)")
}

impl Failover {
    /// Starts them all and waits until every Sentinel knows the replica and
    /// the other Sentinels (so that a failover can be agreed).
    pub async fn start() -> Failover {
        let dir = std::env::temp_dir().join(format!("strangers-failover-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let primary = free_port();
        let replica = free_port();
        let common = ["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"];
        let mut servers = Vec::new();
        for (port, replica_of) in [(primary, None), (replica, Some(primary))] {
            let port_text = port.to_string();
            let mut args = vec!["--port", port_text.as_str()];
            args.extend(common);
            let primary_text = primary.to_string();
            if replica_of.is_some() {
                args.extend(["--replicaof", "127.0.0.1", primary_text.as_str()]);
            }
            let dir_text = dir.join(format!("r{port}"));
            std::fs::create_dir_all(&dir_text).unwrap();
            let dir_text = dir_text.display().to_string();
            args.extend(["--dir", dir_text.as_str()]);
            servers.push((port, Some(spawn(&args))));
        }
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let config = dir.join(format!("sentinel-{port}.conf"));
            // A failover attempt that fails (its election split on a busy
            // machine, say) is tried again after twice the failover timeout:
            // 6 s with 3 s, well within the test's patience (20 s with 10).
            std::fs::write(
                &config,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor {SERVICE} 127.0.0.1 {primary} 2\n\
                     sentinel down-after-milliseconds {SERVICE} 1000\n\
                     sentinel failover-timeout {SERVICE} 3000\n\
                     sentinel parallel-syncs {SERVICE} 1\n",
                    dir = dir.display()
                ),
            )
            .unwrap();
            let child = spawn(&[config.to_str().unwrap(), "--sentinel"]);
            sentinels.push((port, child));
        }
        let failover = Failover {
            dir,
            servers,
            sentinels,
        };
        failover.until_ready().await;
        failover
    }

    /// The `--redis-url` for instances.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|(port, _)| format!("127.0.0.1:{port}"))
            .collect();
        format!("redis+sentinel://{}/{SERVICE}", hosts.join(","))
    }

    /// Asks a Sentinel.
    async fn ask(&self, port: u16, args: &[&str]) -> Option<::redis::Value> {
        let client = ::redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
        let mut connection = client.get_multiplexed_async_connection().await.ok()?;
        ::redis::cmd("SENTINEL")
            .arg(args)
            .query_async(&mut connection)
            .await
            .ok()
    }

    async fn until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        'wait: loop {
            assert!(
                Instant::now() < deadline,
                "the Sentinels never found each other"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            for (port, _) in &self.sentinels {
                let count = |value: Option<::redis::Value>| match value {
                    Some(::redis::Value::Array(items)) => items.len(),
                    _ => 0,
                };
                if count(self.ask(*port, &["replicas", SERVICE]).await) < 1
                    || count(self.ask(*port, &["sentinels", SERVICE]).await) < 2
                {
                    continue 'wait;
                }
            }
            return;
        }
    }

    /// The port of the server the Sentinels call the primary now.
    pub async fn primary_port(&self) -> Option<u16> {
        let (port, _) = &self.sentinels[0];
        match self
            .ask(*port, &["get-master-addr-by-name", SERVICE])
            .await?
        {
            ::redis::Value::Array(items) => match items.get(1)? {
                ::redis::Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Waits until the replica has every write the primary had taken when
    /// asked, so that killing the primary now loses none of them.
    pub async fn until_replicated(&self) {
        let primary = self.primary_port().await.expect("a primary");
        let replica = self
            .servers
            .iter()
            .map(|(port, _)| *port)
            .find(|port| *port != primary)
            .expect("a replica");
        let written = replication_offset(primary, "master_repl_offset").await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while replication_offset(replica, "slave_repl_offset").await < written {
            assert!(Instant::now() < deadline, "the replica never caught up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the primary (SIGKILL), as a lost machine would; returns its port.
    pub async fn kill_primary(&mut self) -> u16 {
        let port = self.primary_port().await.expect("a primary");
        for (server_port, child) in &mut self.servers {
            if *server_port == port
                && let Some(mut child) = child.take()
            {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        port
    }

    /// Waits until the Sentinels name another primary than `old`.
    pub async fn until_failed_over(&self, old: u16, within: Duration) {
        let deadline = Instant::now() + within;
        while self.primary_port().await.is_none_or(|port| port == old) {
            assert!(Instant::now() < deadline, "no failover");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Failover {
    fn drop(&mut self) {
        let children = self
            .servers
            .iter_mut()
            .filter_map(|(_, child)| child.as_mut())
            .chain(self.sentinels.iter_mut().map(|(_, child)| child));
        for child in children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A server's replication offset `field` from `INFO replication` (0 while it
/// cannot say).
async fn replication_offset(port: u16, field: &str) -> u64 {
    let Ok(client) = ::redis::Client::open(format!("redis://127.0.0.1:{port}")) else {
        return 0;
    };
    let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
        return 0;
    };
    let info: String = ::redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut connection)
        .await
        .unwrap_or_default();
    info.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}
