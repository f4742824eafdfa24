//! The browser's WebSocket to the server (hydrate build only).
//!
//! One local task owns the socket: it forwards commands from the page and hands
//! every server message to the page. Dropping the [`ChatConnection`] ends the task,
//! which closes the socket, so the server frees the stranger's partner at once.

use futures::channel::mpsc;
use futures::future::{Either, poll_fn, select};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};
use leptos::task::spawn_local;

use crate::protocol::{ClientMessage, ServerMessage};

/// An open (or opening) connection to the server's `/ws`.
pub struct ChatConnection {
    /// Commands for the socket task; dropping it closes the socket.
    commands: mpsc::UnboundedSender<ClientMessage>,
}

impl ChatConnection {
    /// Opens `/ws` on the page's own host. `on_open` runs once the socket is open,
    /// `on_message` for every server message, `on_close` once when it ends, with
    /// the server's reason if it gave one (not when closed by dropping the connection).
    pub fn open(
        on_open: impl FnOnce() + 'static,
        on_message: impl Fn(ServerMessage) + 'static,
        on_close: impl FnOnce(Option<String>) + 'static,
    ) -> Result<Self, String> {
        let url = socket_url()?;
        let mut socket = WebSocket::open(&url).map_err(|e| e.to_string())?;
        let (commands, mut queue) = mpsc::unbounded::<ClientMessage>();
        spawn_local(async move {
            // The sink is ready once the socket has opened, or failed to.
            let ready = poll_fn(|cx| socket.poll_ready_unpin(cx)).await;
            if ready.is_err() || !matches!(socket.state(), State::Open) {
                on_close(None);
                return;
            }
            on_open();
            loop {
                match select(queue.next(), socket.next()).await {
                    Either::Left((Some(command), _)) => {
                        if socket
                            .send(Message::Text(command.to_frame()))
                            .await
                            .is_err()
                        {
                            on_close(None);
                            return;
                        }
                    }
                    // The page dropped the connection: dropping the socket closes it.
                    Either::Left((None, _)) => return,
                    Either::Right((Some(Ok(Message::Text(frame))), _)) => {
                        if let Ok(message) = ServerMessage::parse(&frame) {
                            on_message(message);
                        }
                    }
                    Either::Right((Some(Ok(Message::Bytes(_))), _)) => {}
                    Either::Right((Some(Err(WebSocketError::ConnectionClose(event))), _)) => {
                        on_close(Some(event.reason).filter(|r| !r.is_empty()));
                        return;
                    }
                    Either::Right((Some(Err(_)) | None, _)) => {
                        on_close(None);
                        return;
                    }
                }
            }
        });
        Ok(ChatConnection { commands })
    }

    /// Queues `message` for the server.
    pub fn send(&self, message: ClientMessage) {
        let _ = self.commands.unbounded_send(message);
    }
}

/// `ws://` or `wss://` and the page's host, then `/ws`.
fn socket_url() -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let protocol = location.protocol().map_err(|_| "no protocol")?;
    let host = location.host().map_err(|_| "no host")?;
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    Ok(format!("{scheme}://{host}/ws"))
}
