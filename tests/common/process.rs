//! The real server binary, as a service manager runs it.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::PATIENCE;

/// The release or debug `strangers` binary on a free port, with `env` set.
pub struct Process {
    child: Child,
    pub addr: SocketAddr,
}

impl Process {
    pub async fn start(env: &[(&str, &str)]) -> Self {
        Self::start_logging(env, Stdio::null()).await
    }

    /// Like [`Process::start`], with the log (standard output and error) going to `log`.
    pub async fn start_logging(env: &[(&str, &str)], log: impl Into<Stdio>) -> Self {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_strangers"))
            .env("LEPTOS_SITE_ADDR", addr.to_string())
            .env("LEPTOS_OUTPUT_NAME", "strangers")
            .env("LEPTOS_ENV", "PROD")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(log.into())
            .spawn()
            .expect("the server binary starts");
        let deadline = Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(Instant::now() < deadline, "the server never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Process { child, addr }
    }

    pub fn terminate(&self) {
        // The shell's own `kill`: no procps package needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.child.id())])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; how long it took, and whether it exited cleanly.
    pub async fn exited(&mut self, since: Instant) -> (Duration, bool) {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (since.elapsed(), status.success());
            }
            assert!(since.elapsed() < Duration::from_secs(30), "still running");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Process {
    /// Kills the process outright (SIGKILL), as a crash or a lost machine would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// The process's resident memory (VmRSS), in KiB.
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc")
    }
}
