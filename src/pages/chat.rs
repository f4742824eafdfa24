use leptos::prelude::*;

use crate::components::{ChatLog, Composer, StatusLine, StopButton};
use crate::protocol::ClientMessage;
use crate::session::{Action, ChatSession};

/// The connection the chat page holds: the real socket in the browser; on the
/// server, which only renders the page, there is never one.
#[cfg(feature = "hydrate")]
type Link = crate::socket::ChatConnection;
#[cfg(not(feature = "hydrate"))]
type Link = ();

/// The chat page's state and the things a person can do to it. `Copy`, so every
/// component can hold it.
#[derive(Clone, Copy)]
pub struct Chat {
    /// The chat's phase and log; every component renders from it.
    pub session: RwSignal<ChatSession>,
    /// The open connection, if any. Dropping it closes the socket.
    link: StoredValue<Option<Link>, LocalStorage>,
}

impl Chat {
    fn new() -> Self {
        Chat {
            session: RwSignal::new(ChatSession::new()),
            link: StoredValue::new_local(None),
        }
    }

    /// Opens the connection; once open it asks for a stranger. Browser only.
    fn connect(self) {
        #[cfg(feature = "hydrate")]
        {
            let session = self.session;
            let opened = crate::socket::ChatConnection::open(
                move || {
                    if let Some(join) = session.try_update(ChatSession::connected) {
                        self.transmit(join);
                    }
                },
                move |message| session.update(|s| s.receive(message)),
                move || {
                    session.update(ChatSession::disconnected);
                    self.link.try_set_value(None);
                },
            );
            match opened {
                Ok(link) => self.link.set_value(Some(link)),
                Err(_) => session.update(ChatSession::disconnected),
            }
        }
    }

    /// Closes the connection, which ends any chat for the stranger too.
    fn disconnect(self) {
        self.link.try_set_value(None);
    }

    /// Sends the message box's text. Returns whether it was sent (so the box clears).
    pub fn send_text(self, draft: &str) -> bool {
        match self.session.try_update(|s| s.send(draft)).flatten() {
            Some(message) => {
                self.transmit(message);
                true
            }
            None => false,
        }
    }

    /// The Stop/New button (or its keyboard shortcut) was pressed.
    pub fn press_stop_or_new(self) {
        match self.session.try_update(ChatSession::press_stop_or_new) {
            Some(Action::Send(message)) => self.transmit(message),
            Some(Action::Reconnect) => {
                self.disconnect();
                self.connect();
            }
            Some(Action::Nothing) | None => {}
        }
    }

    fn transmit(self, message: ClientMessage) {
        #[cfg(feature = "hydrate")]
        self.link.with_value(|link| {
            if let Some(link) = link {
                link.send(message);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = message;
    }
}

/// `/chat`: connects as soon as it is in the browser and looks for a stranger.
#[component]
pub fn ChatPage() -> impl IntoView {
    let chat = Chat::new();
    // Effects run only in the browser, so the server never opens a socket.
    Effect::new(move |_| chat.connect());
    on_cleanup(move || chat.disconnect());

    view! {
        <main class="chat-page">
            <header class="chat-header">
                <a class="brand" href="/">"Strangers"</a>
                <StatusLine chat/>
            </header>
            <ChatLog chat/>
            <div class="controls">
                <StopButton chat/>
                <Composer chat/>
            </div>
        </main>
    }
}
