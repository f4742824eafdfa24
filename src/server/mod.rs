//! The server: HTTP pages, the `/ws` endpoint, and the chat core behind it.
//!
//! - [`stranger`]: one connected person as the rest of the server sees them.
//! - [`matchmaker`]: the waiting queue and who is paired with whom.
//! - [`room`]: one chat and the relay between its members.
//! - [`lobby`]: every stranger and their place (idle, waiting, chatting), under one lock.
//! - [`connection`]: the per-socket task that reads frames and drains the outbox.

pub mod connection;
pub mod lobby;
pub mod matchmaker;
pub mod room;
pub mod stranger;

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{FromRef, State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use leptos::prelude::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::{App, shell};
use lobby::Lobby;

/// The largest WebSocket message or frame accepted; anything bigger is refused by
/// the socket layer before it is buffered whole.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Per-socket read and write buffer sizes. tungstenite's default of 128 KiB per
/// socket would cost far more than the small JSON frames this chat sends need.
const SOCKET_BUFFER_BYTES: usize = 4 * 1024;

/// How many connections may wait to be accepted. tokio's default backlog of 128
/// overflows when many strangers arrive at once.
const LISTEN_BACKLOG: u32 = 4096;

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
}

impl AppState {
    /// State for a fresh server.
    pub fn new(leptos_options: LeptosOptions) -> Self {
        AppState {
            leptos_options,
            lobby: Lobby::new(),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
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

/// `/ws`: becomes one stranger's chat connection.
async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            let AppState {
                lobby,
                shutdown,
                connections,
                ..
            } = state;
            connections.track_future(connection::serve(socket, lobby, shutdown))
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
    let router = app(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Upgraded sockets are not waited for by axum: cancel them ourselves.
            stop.cancel();
        })
        .await?;
    connections.close();
    connections.wait().await;
    Ok(())
}
