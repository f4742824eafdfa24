//! A faulty network between an instance and Redis: a TCP proxy on 127.0.0.1:0
//! in front of a test's `redis-server` (on its Unix socket), which can delay
//! every chunk each way, and be cut (every connection dropped, new ones closed
//! at once: the port stays taken) and restored. No root, no packet filters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct FaultyLink {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped on every cut: connections opened before it end.
    cuts: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl FaultyLink {
    /// A link to the Redis listening on `socket`, delaying each chunk of data
    /// by `delay` in each direction.
    pub async fn to(socket: PathBuf, delay: Duration) -> FaultyLink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let task = tokio::spawn(accept(listener, socket, delay, up.clone(), cuts.clone()));
        FaultyLink {
            addr,
            up,
            cuts,
            task,
        }
    }

    /// The URL an instance uses to reach Redis through this link.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Drops every connection through the link, and closes new ones at once.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for FaultyLink {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

async fn accept(
    listener: TcpListener,
    socket: PathBuf,
    delay: Duration,
    up: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if !up.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let Ok(server) = UnixStream::connect(&socket).await else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let mut cut = cuts.subscribe();
        tokio::spawn(async move {
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::select! {
                () = carry(client_read, server_write, delay) => {}
                () = carry(server_read, client_write, delay) => {}
                _ = cut.changed() => {}
            }
        });
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read, in order.
async fn carry(
    mut from: impl AsyncRead + Unpin + Send + 'static,
    mut to: impl AsyncWrite + Unpin,
    delay: Duration,
) {
    // Reading goes on while earlier chunks wait out their delay, as on a wire.
    let (chunks, mut delayed) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let due = tokio::time::Instant::now() + delay;
                    if chunks.send((due, buffer[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    while let Some((due, chunk)) = delayed.recv().await {
        tokio::time::sleep_until(due).await;
        if to.write_all(&chunk).await.is_err() {
            break;
        }
    }
    reader.abort();
}
