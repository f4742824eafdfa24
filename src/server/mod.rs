//! The server: HTTP pages, the `/ws` endpoint, and the chat core behind it.
//!
//! - [`stranger`]: one connected person as the rest of the server sees them.
//! - [`matchmaker`]: the waiting queue and who is paired with whom.
//! - [`room`]: one chat and the relay between its members.
//! - [`lobby`]: every stranger and their place (idle, waiting, chatting), under one lock.
//! - [`connection`]: the per-socket task that reads frames and drains the outbox.
//! - [`origin`]: which web pages may open `/ws` (cross-site hijacking guard).
//! - [`flood`]: per-connection rate limits (token buckets).
//! - [`ice`]: the STUN/TURN servers handed to video callers, and short-lived TURN passwords.

pub mod connection;
pub mod flood;
pub mod ice;
pub mod lobby;
pub mod matchmaker;
pub mod origin;
pub mod room;
pub mod stranger;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::prelude::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::{App, shell};
use ice::IceConfig;
use lobby::Lobby;
use origin::OriginPolicy;

/// The largest WebSocket message or frame accepted; anything bigger is refused by
/// the socket layer before it is buffered whole.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Per-socket read and write buffer sizes. tungstenite's default of 128 KiB per
/// socket would cost far more than the small JSON frames this chat sends need.
const SOCKET_BUFFER_BYTES: usize = 4 * 1024;

/// How many connections may wait to be accepted. tokio's default backlog of 128
/// overflows when many strangers arrive at once.
const LISTEN_BACKLOG: u32 = 4096;

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
        }
    }
}

impl Settings {
    /// The defaults, overridden by `STRANGERS_INTEREST_TIMEOUT_MS` and
    /// `STRANGERS_ONLINE_INTERVAL_MS`, `STRANGERS_PING_INTERVAL_MS`,
    /// `STRANGERS_PONG_TIMEOUT_MS` (milliseconds), `STRANGERS_ALLOWED_ORIGINS`
    /// (comma-separated origins allowed besides the site's own),
    /// `STRANGERS_ICE_SERVERS` (a JSON array of `RTCIceServer`s),
    /// `STRANGERS_TURN_SECRET` (shared with the TURN relay, for short-lived
    /// passwords) and `STRANGERS_TURN_CREDENTIAL_LIFETIME_S` (seconds).
    ///
    /// A value that cannot be used is an error naming the variable, rather
    /// than a server that starts without what the operator asked for.
    pub fn from_env() -> Result<Self, String> {
        let millis = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_millis)
        };
        let defaults = Settings::default();
        let ice_servers = match std::env::var("STRANGERS_ICE_SERVERS") {
            Ok(json) => {
                ice::parse_ice_servers(&json).map_err(|e| format!("STRANGERS_ICE_SERVERS: {e}"))?
            }
            Err(_) => Vec::new(),
        };
        let lifetime = std::env::var("STRANGERS_TURN_CREDENTIAL_LIFETIME_S")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(ice::DEFAULT_CREDENTIAL_LIFETIME, Duration::from_secs);
        let secret = std::env::var("STRANGERS_TURN_SECRET")
            .ok()
            .filter(|s| !s.is_empty());
        Ok(Settings {
            ice: IceConfig::new(ice_servers, secret, lifetime)?,
            interest_timeout: millis("STRANGERS_INTEREST_TIMEOUT_MS")
                .unwrap_or(defaults.interest_timeout),
            online_interval: millis("STRANGERS_ONLINE_INTERVAL_MS")
                .unwrap_or(defaults.online_interval)
                .max(Duration::from_millis(50)),
            origins: match std::env::var("STRANGERS_ALLOWED_ORIGINS") {
                Ok(list) => OriginPolicy::allowing(list.split(',')),
                Err(_) => defaults.origins,
            },
            ping_interval: millis("STRANGERS_PING_INTERVAL_MS")
                .unwrap_or(defaults.ping_interval)
                .max(Duration::from_millis(50)),
            pong_timeout: millis("STRANGERS_PONG_TIMEOUT_MS").unwrap_or(defaults.pong_timeout),
            ..defaults
        })
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
    /// The connection tasks, so shutdown can wait for their goodbyes.
    pub connections: TaskTracker,
    /// The tunables this server started with.
    pub settings: Settings,
}

impl AppState {
    /// State for a fresh server.
    pub fn new(leptos_options: LeptosOptions, settings: Settings) -> Self {
        AppState {
            leptos_options,
            lobby: Lobby::new(settings.interest_timeout).with_ice(settings.ice.clone()),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
            settings,
        }
    }
}

/// The lobby's clockwork: interest timeouts and the online count, until shutdown.
async fn housekeeping(lobby: Lobby, settings: Settings, shutdown: CancellationToken) {
    let mut matching = tokio::time::interval(MATCH_TICK);
    let mut counting = tokio::time::interval(settings.online_interval);
    for timer in [&mut matching, &mut counting] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = matching.tick() => {
                lobby.tick(tokio::time::Instant::now());
            }
            _ = counting.tick() => lobby.announce_online(),
        }
    }
}

/// The router the binary serves: the pages, their static files, and `/ws`.
pub fn app(state: AppState) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route("/ws", get(upgrade))
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
}

/// `/ws`: becomes one stranger's chat connection, unless a page of another site
/// asks (403 before any upgrade).
async fn upgrade(
    ws: WebSocketUpgrade,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Response {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if !state
        .settings
        .origins
        .permits(text(header::ORIGIN), text(header::HOST))
    {
        return (StatusCode::FORBIDDEN, "This page may not open a chat here.").into_response();
    }
    ws.read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            let AppState {
                lobby,
                shutdown,
                connections,
                settings,
                ..
            } = state;
            connections.track_future(connection::serve(socket, lobby, settings, shutdown))
        })
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
/// connected stranger the server is restarting and waits for them to be told.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let stop = state.shutdown.clone();
    let connections = state.connections.clone();
    let clockwork = tokio::spawn(housekeeping(
        state.lobby.clone(),
        state.settings.clone(),
        stop.clone(),
    ));
    let router = app(state);
    axum::serve(listener, router)
        .with_graceful_shutdown({
            let stop = stop.clone();
            async move {
                shutdown.await;
                // Upgraded sockets are not waited for by axum: cancel them ourselves.
                stop.cancel();
            }
        })
        .await?;
    stop.cancel();
    connections.close();
    connections.wait().await;
    let _ = clockwork.await;
    Ok(())
}
