//! What every request passes before any handler: the host check against DNS
//! rebinding, the client's address as our proxies say, and the guards on the
//! TCP connection itself (a cap per network, a deadline on writes).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::AppState;
use super::metrics::RejectionReason;

/// Paths answered for any host: probes and scrapers on the machine itself ask
/// by address, and these pages carry nothing a rebinding page could use.
const ANY_HOST: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Refuses requests for a host other than `--public-origin`'s (a page on a
/// name rebound to this server must not reach it), and those whose trusted
/// proxy names no client address; hands the client's address on to the
/// handlers as a [`super::network::ClientAddress`] extension.
pub async fn check(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !ANY_HOST.contains(&request.uri().path()) && !state.settings.origins.serves_host(host) {
        state.metrics.rejected(RejectionReason::Host);
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "This server does not answer for that name.",
        )
            .into_response();
    }
    match state.gate.client_of(peer, headers) {
        Ok(client) => {
            request.extensions_mut().insert(client);
            next.run(request).await
        }
        Err(_) => {
            state.metrics.rejected(RejectionReason::Forwarding);
            (
                StatusCode::BAD_REQUEST,
                "The proxy in front of this server sent X-Forwarded-For without a client address.",
            )
                .into_response()
        }
    }
}

/// How long browsers may keep a static file without asking again, by where it
/// is served from.
///
/// - `/pkg/` files named by their content (`strangers.<hash>.wasm`, written
///   so by the release build): for good, since a new release has new names, so
///   a returning visitor downloads only the page.
/// - `/classifier/`: the nudity check's worker, model and runtime (4 MB, for
///   video chats only), the favicons and the app's icons: a week; they change
///   only with a release, and an old icon for a few days harms nobody.
/// - Any other file (`/video/call.js`, the app's manifest, unhashed builds): kept, but checked with
///   the server on each use (an unchanged file costs a 304), since the page's
///   code calls it and must not meet an older one.
pub fn cache_policy(path: &str) -> Option<&'static str> {
    let file = path.rsplit('/').next().unwrap_or_default();
    if path.starts_with("/pkg/") && named_by_content(file) {
        Some("public, max-age=31536000, immutable")
    } else if ["/classifier/", "/favicon.", "/icons/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        Some("public, max-age=604800")
    } else if path.starts_with("/pkg/")
        || path.starts_with("/video/")
        || path == "/manifest.webmanifest"
    {
        Some("no-cache")
    } else {
        None
    }
}

/// Whether `file` carries cargo-leptos's content hash: `name.<22 characters of
/// URL-safe base64>.ext`.
fn named_by_content(file: &str) -> bool {
    let mut parts = file.split('.');
    let (Some(_name), Some(hash), Some(_ext)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Sets [`cache_policy`]'s `Cache-Control` on static files served whole or
/// confirmed unchanged.
pub async fn cache_static_files(request: Request, next: Next) -> Response {
    let policy = cache_policy(request.uri().path());
    let mut response = next.run(request).await;
    let served = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    if let Some(policy) = policy.filter(|_| served) {
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static(policy));
    }
    response
}

/// A connection whose writes fail once one has waited `timeout` for the
/// client to read: a client that never reads cannot hold a response, and the
/// socket under it, for ever.
#[derive(Debug)]
pub struct WriteDeadline<T> {
    io: T,
    timeout: Duration,
    /// Running while a write (or flush) waits for the client.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteDeadline<T> {
    /// `io`, with writes that may wait at most `timeout`.
    pub fn new(io: T, timeout: Duration) -> Self {
        WriteDeadline {
            io,
            timeout,
            stalled: None,
        }
    }

    /// Passes on a write's outcome; while it is pending, watches the deadline.
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match poll {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let stalled = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(stalled.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading",
                )))
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_the_client_never_reads_fails_after_the_deadline() {
        let (ours, _theirs) = tokio::io::duplex(64);
        let mut io = WriteDeadline::new(ours, Duration::from_secs(30));
        io.write_all(&[0; 64]).await.expect("fits in the buffer");
        let started = tokio::time::Instant::now();
        let error = io.write_all(&[0; 64]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_reader_is_not_cut_off() {
        use tokio::io::AsyncReadExt;
        let (ours, mut theirs) = tokio::io::duplex(16);
        let mut io = WriteDeadline::new(ours, Duration::from_secs(30));
        let reader = tokio::spawn(async move {
            let mut buf = [0; 16];
            let mut total = 0;
            while total < 160 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                total += theirs.read(&mut buf).await.unwrap();
            }
        });
        io.write_all(&[0; 160])
            .await
            .expect("every wait was under 30 s");
        reader.await.unwrap();
    }

    #[test]
    fn files_named_by_content_are_kept_for_good_and_the_rest_are_checked() {
        let forever = Some("public, max-age=31536000, immutable");
        assert_eq!(
            cache_policy("/pkg/strangers.AbCdEfGhIjKlMnOpQrSt-_.wasm"),
            forever
        );
        assert_eq!(
            cache_policy("/pkg/strangers.AbCdEfGhIjKlMnOpQrSt-_.css"),
            forever
        );
        // A development build's names say nothing about their content.
        assert_eq!(cache_policy("/pkg/strangers.wasm"), Some("no-cache"));
        assert_eq!(cache_policy("/pkg/strangers_bg.wasm"), Some("no-cache"));
        assert_eq!(cache_policy("/video/call.js"), Some("no-cache"));
        assert_eq!(cache_policy("/favicon.ico"), Some("public, max-age=604800"));
        assert_eq!(
            cache_policy("/classifier/worker.js"),
            Some("public, max-age=604800")
        );
        // Pages are not static files.
        assert_eq!(cache_policy("/"), None);
        assert_eq!(cache_policy("/chat"), None);
    }
}
