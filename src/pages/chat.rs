use leptos::ev;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::{
    ChatLog, Composer, OnlineCount, SaveLog, StatusLine, StopButton, TypingIndicator,
};
use crate::protocol::{ClientMessage, interests_from_input};
use crate::session::{Action, ChatSession, Preferences};

/// After this long without a key, the stranger is told we stopped typing.
#[cfg(feature = "hydrate")]
const TYPING_PAUSE: std::time::Duration = std::time::Duration::from_secs(3);

/// The connection the chat page holds: the real socket in the browser; on the
/// server, which only renders the page, there is never one.
#[cfg(feature = "hydrate")]
type Link = crate::socket::ChatConnection;
#[cfg(not(feature = "hydrate"))]
type Link = ();

/// A pending "stopped typing" notice.
#[cfg(feature = "hydrate")]
type TypingTimer = leptos::leptos_dom::helpers::TimeoutHandle;
#[cfg(not(feature = "hydrate"))]
type TypingTimer = ();

/// The chat page's state and the things a person can do to it. `Copy`, so every
/// component can hold it.
#[derive(Clone, Copy)]
pub struct Chat {
    /// The chat's phase and log; every component renders from it.
    pub session: RwSignal<ChatSession>,
    /// The open connection, if any. Dropping it closes the socket.
    link: StoredValue<Option<Link>, LocalStorage>,
    /// The timer that will say we stopped typing (browser only).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    typing_timer: StoredValue<Option<TypingTimer>, LocalStorage>,
}

impl Chat {
    fn new(preferences: Preferences) -> Self {
        Chat {
            session: RwSignal::new(ChatSession::new(preferences)),
            link: StoredValue::new_local(None),
            typing_timer: StoredValue::new_local(None),
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
                move |reason| {
                    session.update(|s| s.disconnected(reason));
                    self.link.try_set_value(None);
                },
            );
            match opened {
                Ok(link) => self.link.set_value(Some(link)),
                Err(_) => session.update(|s| s.disconnected(None)),
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

    /// A key went into the message box: says "typing" once per burst, and
    /// "stopped" after a pause.
    pub fn typed(self) {
        if let Some(notice) = self.session.try_update(ChatSession::typed).flatten() {
            self.transmit(notice);
        }
        #[cfg(feature = "hydrate")]
        {
            self.typing_timer.update_value(|timer| {
                if let Some(timer) = timer.take() {
                    timer.clear();
                }
                *timer = set_timeout_with_handle(
                    move || {
                        if let Some(n) = self
                            .session
                            .try_update(ChatSession::typing_paused)
                            .flatten()
                        {
                            self.transmit(n);
                        }
                    },
                    TYPING_PAUSE,
                )
                .ok();
            });
        }
    }

    /// The Stop/New button (or Esc) was pressed.
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

    /// Downloads the conversation as a text file, made in the browser.
    pub fn save_log(self) {
        #[cfg(feature = "hydrate")]
        crate::browser::download_text(
            "strangers-chat.txt",
            &self.session.with_untracked(ChatSession::transcript),
        );
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

/// The visitor's choices from the landing page, carried in the address
/// (`/chat?interests=music&interests=chess&only_shared=1`).
fn preferences_from_address() -> Preferences {
    let query = use_query_map();
    query.with_untracked(|q| {
        let raw = q.get_all("interests").unwrap_or_default();
        Preferences {
            interests: interests_from_input(raw.iter().map(String::as_str)),
            only_shared: q.get_str("only_shared") == Some("1"),
            #[cfg(feature = "hydrate")]
            browser: crate::browser::browser_id(),
            #[cfg(not(feature = "hydrate"))]
            browser: None,
        }
    })
}

/// `/chat`: connects as soon as it is in the browser and looks for a stranger.
#[component]
pub fn ChatPage() -> impl IntoView {
    let chat = Chat::new(preferences_from_address());
    let online = Signal::derive(move || chat.session.with(ChatSession::online));

    // Effects run only in the browser, so the server never opens a socket.
    Effect::new(move |_| chat.connect());
    on_cleanup(move || chat.disconnect());

    // Esc from anywhere on the page, the message box included.
    Effect::new(move |_| {
        let handle = window_event_listener(ev::keydown, move |event| {
            if event.key() == "Escape" && !event.repeat() {
                event.prevent_default();
                chat.press_stop_or_new();
            }
        });
        on_cleanup(move || handle.remove());
    });

    view! {
        <AttentionTitle chat/>
        <main class="chat-page">
            <header class="chat-header">
                <a class="brand" href="/">"Strangers"</a>
                <StatusLine chat/>
                <OnlineCount count=online/>
            </header>
            <ChatLog chat/>
            <TypingIndicator chat/>
            <div class="controls">
                <StopButton chat/>
                <Composer chat/>
            </div>
            <SaveLog chat/>
        </main>
    }
}

/// The tab title: "(2) Strangers" when a new stranger or messages arrived while
/// the tab was in the background, until it is seen again.
#[component]
fn AttentionTitle(chat: Chat) -> impl IntoView {
    let seen = RwSignal::new(0u64);
    let attention = move || chat.session.with(ChatSession::attention);
    Effect::new(move |_| {
        let now = attention();
        #[cfg(feature = "hydrate")]
        if !crate::browser::tab_hidden() {
            seen.set(now);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = now;
    });
    Effect::new(move |_| {
        let handle = window_event_listener_untyped("visibilitychange", move |_| {
            #[cfg(feature = "hydrate")]
            if !crate::browser::tab_hidden() {
                seen.set(attention());
            }
        });
        on_cleanup(move || handle.remove());
    });
    let title = move || match attention().saturating_sub(seen.get()) {
        0 => "Strangers".to_string(),
        unseen => format!("({unseen}) Strangers"),
    };
    view! { <Title text=title/> }
}
