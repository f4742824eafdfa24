//! The server: HTTP pages, the `/ws` endpoint, and the chat core behind it.
//!
//! - [`stranger`]: one connected person as the rest of the server sees them.
//! - [`matchmaker`]: the waiting queue and who is paired with whom.
//! - [`cluster`]: with `--redis-url`, the queue shared by several instances in Redis, and the
//!   relay to partners on other instances.
//! - [`queue`]: where strangers wait: the matchmaker here, or the queue shared in Redis.
//! - [`room`]: one chat and the relay between its members.
//! - [`franking`]: the stamps that let a report of an end-to-end encrypted line be verified.
//! - [`seam`]: what the lobby and the cluster task exchange (a leaf: only `cluster` knows both).
//! - [`lobby`]: every stranger and their place (idle, waiting, chatting), under one lock.
//! - [`connection`]: the per-socket task that reads frames and drains the outbox.
//! - [`origin`]: which web pages may open `/ws` (cross-site hijacking guard).
//! - [`flood`]: per-connection rate limits (token buckets).
//! - [`network`]: per-network limits, reports and bans, and who the client is behind proxies.
//! - [`built`]: where the site's built script, WebAssembly and stylesheet are (names by content).
//! - [`challenge`]: the bot check (a proof of work) asked of suspect networks.
//! - [`front_door`]: what every request passes first: the host check, the
//!   client's address, and the per-network cap on plain HTTP connections.
//! - [`ice`]: the STUN/TURN servers handed to video callers, and short-lived TURN passwords.
//! - [`moderation`]: reports with evidence, bans and the audit log, for the operator.
//! - [`sanctions`]: reports filed and bans decided and applied, whichever path they come by.
//! - [`console`]: the operator's console at `/admin`.
//! - [`documents`]: the rules, privacy and contact pages.
//! - [`page_language`]: which language a page is rendered in (the footer's choice, the browser's).

pub mod built;
pub mod challenge;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod console;
pub mod documents;
pub mod flood;
pub mod franking;
pub mod front_door;
pub mod handshake;
pub mod ice;
pub mod lobby;
pub mod matchmaker;
pub mod metrics;
pub mod moderation;
pub mod network;
pub mod origin;
pub mod page_language;
pub mod questions;
pub mod queue;
pub mod room;
pub mod sanctions;
pub mod seam;
pub mod service_worker;
pub mod stranger;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, FromRef, State};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;

use crate::app::{App, shell};
use crate::pages::SiteFacts;
use challenge::ChallengePolicy;
use console::Console;
use documents::SitePages;
use front_door::WriteDeadline;
use handshake::FirstRequest;
use ice::IceConfig;
use lobby::Lobby;
use metrics::{Metrics, RejectionReason};
use moderation::Moderation;
use network::{AddressLimits, Gatekeeper, HttpPass, Proxies};
use origin::OriginPolicy;

/// The largest WebSocket message or frame accepted; anything bigger is refused by
/// the socket layer before it is buffered whole.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// How many connections may wait to be accepted. tokio's default backlog of 128
/// overflows when many strangers arrive at once.
const LISTEN_BACKLOG: u32 = 4096;

/// How long to wait before accepting again after `accept` failed (usually: out of
/// file descriptors), rather than spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How long a refused connection's notice and close frame may take to send.
pub(crate) const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// How often the per-address tables drop what has expired.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// How often the server looks for strangers whose interest timeout has passed.
/// Fine enough next to a timeout of seconds, and nearly free when nobody waits.
const MATCH_TICK: Duration = Duration::from_millis(200);

/// What can be tuned when starting a server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a stranger with interests waits for a shared one before anyone will do.
    pub interest_timeout: Duration,
    /// How often, at most, the online count is pushed to everyone.
    pub online_interval: Duration,
    /// Which web pages may open `/ws`.
    pub origins: OriginPolicy,
    /// How fast one connection may send anything but typing notices.
    pub message_rate: flood::Rate,
    /// How fast one connection may send typing notices.
    pub typing_rate: flood::Rate,
    /// How fast one connection may send video call setup steps. Setting up a call
    /// sends a burst of network routes (ICE candidates), then little.
    pub signal_rate: flood::Rate,
    /// The STUN/TURN servers handed to the browsers of every video chat.
    pub ice: IceConfig,
    /// How often each connection is pinged.
    pub ping_interval: Duration,
    /// How long after a missed ping's due time a silent connection is dropped.
    pub pong_timeout: Duration,
    /// Per network address: connections, new connections a minute, reports and bans.
    pub limits: AddressLimits,
    /// Which reverse proxies in front of the server may say who the client is
    /// (`X-Forwarded-For`), and how many add to it.
    pub proxies: Proxies,
    /// When new connections must pass the bot check, and how hard it is.
    pub challenge: ChallengePolicy,
    /// How long a write to a client may wait for it to read before the
    /// connection is dropped: a reader that never reads cannot pin a response.
    pub write_timeout: Duration,
    /// How long a client may take to send a request's headers (the WebSocket
    /// handshake included) before the connection is dropped: slow-loris defence.
    pub header_timeout: Duration,
    /// How long shutdown waits for connections to say goodbye before exiting anyway.
    pub shutdown_timeout: Duration,
    /// How long, once asked to stop, the server goes on serving with `/readyz`
    /// at 503, so a load balancer sends new visitors elsewhere first.
    pub drain: Duration,
    /// The Redis shared with other instances; `None`: this instance alone.
    pub redis_url: Option<String>,
    /// The operator's rules, privacy page and contact.
    pub pages: SitePages,
    /// The token that opens the operator's console; `None`: no console.
    pub admin_token: Option<String>,
    /// How long reports are kept.
    pub report_retention: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interest_timeout: lobby::DEFAULT_INTEREST_TIMEOUT,
            online_interval: Duration::from_secs(1),
            origins: OriginPolicy::same_origin_only(),
            message_rate: flood::Rate {
                per_second: 10.0,
                burst: 20.0,
            },
            typing_rate: flood::Rate {
                per_second: 2.0,
                burst: 6.0,
            },
            signal_rate: flood::Rate {
                per_second: 10.0,
                burst: 60.0,
            },
            ice: IceConfig::default(),
            ping_interval: Duration::from_secs(20),
            pong_timeout: Duration::from_secs(20),
            limits: AddressLimits::default(),
            proxies: Proxies::none(),
            challenge: ChallengePolicy::default(),
            write_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
            drain: Duration::ZERO,
            redis_url: None,
            pages: SitePages::default(),
            admin_token: None,
            report_retention: Duration::from_secs(30 * 24 * 60 * 60),
        }
    }
}

/// What every request handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Where the site's files are and how pages are rendered.
    pub leptos_options: LeptosOptions,
    /// Every connected stranger and where they are.
    pub lobby: Lobby,
    /// Cancelled when the server shuts down, so every connection says goodbye.
    pub shutdown: CancellationToken,
    /// Cancelled when the server is asked to stop: `/readyz` says 503 from then
    /// on, while it keeps serving for the drain period.
    #[from_ref(skip)]
    pub draining: CancellationToken,
    /// The connection tasks, so shutdown can wait for their goodbyes.
    pub connections: TaskTracker,
    /// Per-address limits, reports and bans.
    pub gate: Gatekeeper,
    /// Reports, bans and the audit log, for the operator.
    pub moderation: Moderation,
    /// The operator's console, if a token is configured.
    pub console: Option<Console>,
    /// The counts `/metrics` shows.
    pub metrics: Arc<Metrics>,
    /// The tunables this server started with.
    pub settings: Arc<Settings>,
}

impl AppState {
    /// State for a fresh server.
    pub fn new(leptos_options: LeptosOptions, settings: Settings) -> Self {
        built::BuiltFiles::of(&leptos_options);
        let metrics = Arc::new(Metrics::new());
        AppState {
            leptos_options,
            lobby: Lobby::new(settings.interest_timeout)
                .with_ice(settings.ice.clone())
                .with_metrics(metrics.clone()),
            metrics,
            shutdown: CancellationToken::new(),
            draining: CancellationToken::new(),
            connections: TaskTracker::new(),
            gate: Gatekeeper::new(settings.limits.clone(), settings.proxies.clone()),
            moderation: Moderation::local(settings.report_retention),
            console: settings.admin_token.as_deref().map(Console::new),
            settings: Arc::new(settings),
        }
    }

    /// Where reports are filed and bans decided and applied.
    pub fn sanctions(&self) -> sanctions::Sanctions {
        sanctions::Sanctions::new(
            self.lobby.clone(),
            self.gate.clone(),
            self.moderation.clone(),
        )
    }
}

impl AppState {
    /// State for a fresh server, joined to the other instances through Redis
    /// when `settings.redis_url` is set (the cluster task runs until shutdown).
    pub async fn start(
        leptos_options: LeptosOptions,
        settings: Settings,
    ) -> Result<Self, redis::RedisError> {
        let mut state = AppState::new(leptos_options, settings);
        let Some(url) = state.settings.redis_url.clone() else {
            return Ok(state);
        };
        let queue = cluster::SharedQueue::connect(
            &url,
            cluster::KEY_PREFIX,
            state.settings.interest_timeout,
            state.settings.limits.clone(),
            cluster::ALIVE_FOR,
        )
        .await?
        .keeping_reports_for(state.settings.report_retention);
        state.moderation = Moderation::shared(state.settings.report_retention, queue.clone());
        // Addresses hashed alike on every instance, so a ban holds on all of them.
        state.gate = Gatekeeper::with_secret(
            state.settings.limits.clone(),
            state.settings.proxies.clone(),
            queue.address_secret().await?,
        );
        let (requests, requested) = cluster::Requests::new();
        let (link, outbound) = cluster::Link::new();
        tracing::info!(
            instance = queue.instance(),
            "sharing matchmaking through Redis"
        );
        let lobby = state.lobby.clone().with_cluster(cluster::ClusterSide {
            instance: queue.instance().to_owned(),
            requests,
            link,
        });
        // Tracked with the connections, so shutdown waits for it to leave
        // the shared queue and tell partners elsewhere.
        let sanctions =
            sanctions::Sanctions::new(lobby.clone(), state.gate.clone(), state.moderation.clone());
        state.connections.spawn(cluster::run(
            queue,
            lobby,
            sanctions,
            requested,
            outbound,
            state.shutdown.clone(),
        ));
        Ok(state)
    }
}

/// The lobby's clockwork: interest timeouts, the online count, and forgetting
/// expired bans and reports, until shutdown.
async fn housekeeping(
    lobby: Lobby,
    gate: Gatekeeper,
    moderation: Moderation,
    settings: Arc<Settings>,
    shutdown: CancellationToken,
) {
    let mut matching = tokio::time::interval(MATCH_TICK);
    let mut counting = tokio::time::interval(settings.online_interval);
    let mut sweeping = tokio::time::interval(SWEEP_INTERVAL);
    for timer in [&mut matching, &mut counting, &mut sweeping] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = matching.tick() => {
                lobby.tick(tokio::time::Instant::now());
            }
            _ = counting.tick() => lobby.announce_online(),
            _ = sweeping.tick() => {
                gate.sweep(tokio::time::Instant::now());
                moderation.sweep();
            }
        }
    }
}

/// The router the binary serves: the pages, their static files, and `/ws`, with
/// the security headers on every response (the pages add their
/// Content-Security-Policy, which carries a fresh nonce each time).
pub fn app(state: AppState) -> Router {
    let routes = generate_route_list(App);
    // The pages, compressed as the browser accepts (the site's built files
    // are compressed ahead of time). Not the console: its pages carry secrets
    // (form tokens) beside what an operator typed, which compression could
    // leak to whoever can watch the traffic's size.
    let pages: Router<AppState> = Router::new()
        .merge(documents::routes())
        .route("/sw.js", get(service_worker::serve))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let (counts, relay) = (state.lobby.online_counts(), state.settings.ice.relays());
                move || {
                    let online = *counts.borrow();
                    provide_context(SiteFacts { online, relay });
                }
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(site_file)
        .layer(CompressionLayer::new());
    let mut router: Router<AppState> = Router::new();
    if state.console.is_some() {
        router = router.merge(console::routes());
    }
    let router = router
        .route("/ws", get(handshake::upgrade))
        .route(crate::protocol::ONLINE_FEED, get(online_feed))
        .route("/metrics", get(scrape))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .merge(pages)
        .layer(axum::middleware::from_fn(front_door::cache_static_files));
    at_the_door(router, state)
}

/// The router for `/ws` alone, which [`serve`] sends chat connections to: the
/// same checks and headers as [`app`], without the layers of the pages. A
/// crowd arriving at once spends its server's core on each arrival; every
/// layer a request passes costs a boxed clone and a future (BENCHMARKS.md,
/// issue 18).
pub fn chat_door(state: AppState) -> Router {
    at_the_door(Router::new().route("/ws", get(handshake::upgrade)), state)
}

/// `routes` behind the front door's checks, with the security headers on
/// every response.
fn at_the_door(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            front_door::check,
        ))
        .with_state(state)
        .layer(axum::middleware::map_response(with_security_headers))
}

/// Adds [`SECURITY_HEADERS`] to `response`, and to a page [`PAGE_HEADERS`]
/// too, but not over one it set itself.
async fn with_security_headers(mut response: Response) -> Response {
    let page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|kind| kind.as_bytes().starts_with(b"text/html"));
    let headers = response.headers_mut();
    let page_headers = if page { &PAGE_HEADERS[..] } else { &[] };
    for (name, value) in SECURITY_HEADERS.iter().chain(page_headers) {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Sent with every response. The pages' Content-Security-Policy (with
/// `frame-ancestors 'none'`) is made per page in [`crate::app::shell`].
pub(crate) const SECURITY_HEADERS: [(&str, &str); 2] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

/// Sent with pages only: browsers read them for documents, so on a script,
/// the WebAssembly or an icon they would only cost every first visit bytes.
const PAGE_HEADERS: [(&str, &str); 2] = [
    // For browsers that predate `frame-ancestors`.
    ("x-frame-options", "DENY"),
    (
        "permissions-policy",
        "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()",
    ),
];

/// `/metrics`: the Prometheus text format.
async fn scrape(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(state.lobby.snapshot());
    let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, kind)], text).into_response()
}

/// Any other address: a file of the built site (`target/site`), brotli or
/// gzip as the browser accepts (the release build writes both beside each
/// file), answering "not modified" to a browser that has it already; else the
/// app's "not found" page.
async fn site_file(State(state): State<AppState>, request: Request<axum::body::Body>) -> Response {
    use tower_http::services::ServeDir;

    let mut lookup = Request::builder().uri(request.uri().clone());
    for (name, value) in request.headers() {
        lookup = lookup.header(name, value);
    }
    if request.method() == axum::http::Method::GET
        && let Ok(lookup) = lookup.body(axum::body::Body::empty())
        && let Ok(found) = ServeDir::new(&*state.leptos_options.site_root)
            .precompressed_br()
            .precompressed_gzip()
            .oneshot(lookup)
            .await
        && found.status() != StatusCode::NOT_FOUND
    {
        return found.into_response();
    }
    let uri = request.uri().clone();
    leptos_axum::file_and_error_handler::<AppState, _>(shell)(uri, State(state), request).await
}

/// `/online`: the online count as server-sent events, now and at every
/// announced change, for the landing page. Unlike `/ws` it is not a chat
/// connection: a visitor who only looks is not counted online. The stream ends
/// when the server starts draining; browsers reconnect by themselves (to
/// another instance, behind a proxy).
async fn online_feed(State(state): State<AppState>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures_util::StreamExt;

    let mut counts = state.lobby.online_counts();
    let first = *counts.borrow_and_update();
    let changes = futures_util::stream::unfold(
        (counts, state.draining.clone()),
        |(mut counts, draining)| async move {
            tokio::select! {
                changed = counts.changed() => {
                    changed.ok()?;
                    let count = *counts.borrow_and_update();
                    Some((count, (counts, draining)))
                }
                () = draining.cancelled() => None,
            }
        },
    );
    let events = futures_util::stream::once(std::future::ready(first))
        .chain(changes)
        .map(|count| Ok::<_, std::convert::Infallible>(Event::default().data(count.to_string())));
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `/readyz`: whether this server takes new strangers (not while shutting down).
async fn ready(State(state): State<AppState>) -> Response {
    if state.draining.is_cancelled() || state.shutdown.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    } else {
        "ready".into_response()
    }
}

/// A listener on `addr` with a backlog deep enough for a crowd arriving at once.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves Strangers on `listener` until `shutdown` completes, then tells every
/// connected stranger the server is restarting and waits, at most
/// `shutdown_timeout`, for them to be told.
///
/// Each TCP connection is served by hyper directly (not `axum::serve`), so that
/// a client must send its request headers within `header_timeout`: a crowd of
/// half-open connections cannot pin the server's sockets.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let stop = state.shutdown.clone();
    let connections = state.connections.clone();
    let settings = state.settings.clone();
    let (gate, metrics) = (state.gate.clone(), state.metrics.clone());
    let state_draining = state.draining.clone();
    let clockwork = tokio::spawn(housekeeping(
        state.lobby.clone(),
        state.gate.clone(),
        state.moderation.clone(),
        settings.clone(),
        stop.clone(),
    ));
    let doors = Arc::new(Doors {
        chat: chat_door(state.clone()),
        pages: app(state.clone()),
        state,
    });
    let requests = TaskTracker::new();
    // Asked to stop: not ready any more, but still serving until the drain ends.
    let draining = state_draining.clone();
    let drain = settings.drain;
    let drained = async move {
        shutdown.await;
        draining.cancel();
        tracing::info!(?drain, "draining before shutting down");
        tokio::time::sleep(drain).await;
    };
    tokio::pin!(drained);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut drained => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    (tcp, peer)
                }
                Err(error) => {
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // A network over its share of open connections is dropped at once,
        // before a byte is read.
        let Some(pass) = gate.open_http(peer.ip()) else {
            metrics.rejected(RejectionReason::AddressLimit);
            continue;
        };
        requests.spawn(serve_connection(
            WriteDeadline::new(tcp, settings.write_timeout),
            peer,
            doors.clone(),
            settings.header_timeout,
            stop.clone(),
            pass,
        ));
    }
    drop(listener);
    stop.cancel();
    requests.close();
    connections.close();
    let goodbyes = async {
        requests.wait().await;
        connections.wait().await;
    };
    if tokio::time::timeout(settings.shutdown_timeout, goodbyes)
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close within the shutdown timeout");
    }
    let _ = clockwork.await;
    Ok(())
}

/// Where a request goes: chat connections through [`chat_door`], everything
/// else through [`app`]; a first request that is a chat's is answered by
/// [`handshake`] itself.
struct Doors {
    chat: Router,
    pages: Router,
    state: AppState,
}

/// Serves one TCP connection: its first request's head must arrive within
/// `header_timeout`; if it is a chat's, [`handshake`] lets it in, else the
/// HTTP server serves the connection from what was read.
async fn serve_connection(
    mut tcp: WriteDeadline<TcpStream>,
    peer: SocketAddr,
    doors: Arc<Doors>,
    header_timeout: Duration,
    stop: CancellationToken,
    pass: HttpPass,
) {
    let first = tokio::select! {
        read = tokio::time::timeout(header_timeout, handshake::read_first_head(&mut tcp, peer, &doors.state)) => read,
        () = stop.cancelled() => return,
    };
    match first {
        Ok(Ok(FirstRequest::Chat(request))) => {
            // The chat counts in the chat limits from here.
            drop(pass);
            handshake::answer(tcp, request, doors.state.clone()).await;
        }
        Ok(Ok(FirstRequest::Other(read))) => {
            let tcp = handshake::Replay::new(read, tcp);
            serve_http(tcp, peer, doors, header_timeout, stop, pass).await;
        }
        // The socket failed, or the head did not come in time: hang up.
        Ok(Err(_)) | Err(_) => {}
    }
}

/// Serves the HTTP requests of one TCP connection, with a deadline for each
/// request's headers. A WebSocket upgrade hands the socket on and ends this task.
async fn serve_http(
    tcp: handshake::Replay<WriteDeadline<TcpStream>>,
    peer: SocketAddr,
    doors: Arc<Doors>,
    header_timeout: Duration,
    stop: CancellationToken,
    pass: HttpPass,
) {
    // Holds this connection's place in its network's share until it ends (a
    // WebSocket upgrade ends it here; the chat counts in the chat limits).
    let _pass = pass;
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let door = if request.uri().path() == "/ws" {
            &doors.chat
        } else {
            &doors.pages
        };
        door.clone().oneshot(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        _ = &mut connection => {}
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limits README's "Limits and safety" documents, as numbers: a
    /// change to a default must change the README too.
    #[test]
    fn the_default_flood_limits_are_the_documented_ones() {
        let settings = Settings::default();
        let rate = |per_second, burst| flood::Rate { per_second, burst };
        assert_eq!(settings.message_rate, rate(10.0, 20.0), "messages");
        assert_eq!(settings.typing_rate, rate(2.0, 6.0), "typing notices");
        assert_eq!(settings.signal_rate, rate(10.0, 60.0), "call setup");
    }
}
