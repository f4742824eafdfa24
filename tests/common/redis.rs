//! A private `redis-server` per test (Debian's, installed by `.ci/setup`), on a
//! Unix socket in its own directory: no ports to collide, gone with the test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Redis {
    child: Option<Child>,
    dir: PathBuf,
}

impl Redis {
    pub fn start() -> Redis {
        let dir = std::env::temp_dir().join(format!("strangers-redis-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Redis { child: None, dir };
        redis.restart();
        redis
    }

    /// Starts the server (again, empty: nothing is saved) on the same socket.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(self.socket())
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/setup installs it)");
        self.child = Some(child);
    }

    /// Kills the server, as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(self.socket());
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let child = self.child.as_ref().expect("running");
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{name} {}", child.id())])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The Unix socket it listens on.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// Every key matching `pattern`, with its expiry (PTTL: ms left, -1 for
    /// none), sorted.
    pub async fn keys_and_ttls(&self, pattern: &str) -> Vec<(String, i64)> {
        let client = ::redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut connection)
            .await
            .unwrap();
        let mut ttls = Vec::new();
        for key in keys {
            let ttl: i64 = ::redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .unwrap();
            ttls.push((key, ttl));
        }
        ttls.sort();
        ttls
    }

    /// How many instances this Redis counts as alive now.
    pub async fn alive_instances(&self) -> usize {
        let client = ::redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{}alive:*", strangers::server::cluster::KEY_PREFIX))
            .query_async(&mut connection)
            .await
            .unwrap();
        keys.len()
    }

    /// Waits, at most `within`, until this Redis counts `count` instances alive.
    pub async fn until_alive(&self, count: usize, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.alive_instances().await != count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never {count} alive"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the server answers.
    pub async fn wait_until_up(&self) {
        let client = ::redis::Client::open(self.url()).unwrap();
        for _ in 0..200 {
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await
                && ::redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
                    .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
