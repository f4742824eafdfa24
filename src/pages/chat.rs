use leptos::ev;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::browser;
use crate::chat::Chat;
use crate::components::{
    ChatLog, Composer, FoundNotice, OnlineCount, QuestionBanner, ReportButton, ReportDialog,
    SaveLog, SealNotice, SiteFooter, StatusLine, StopButton, TypingIndicator, VideoProblemChoices,
    VideoStage,
};
use crate::i18n::Word;
use crate::protocol::{Mode, check_language, interests_from_input};
use crate::session::{ChatSession, Preferences};

/// The visitor's choices from the landing page, carried in the address
/// (`/chat?interests=music&interests=chess&only_shared=1&mode=video`): read
/// by the server's router while it renders, and from the address itself in
/// the browser, which has no router (and the chat island no props, which
/// Leptos would parse with a JSON parser of its own in the bundle).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices {
    interests: Vec<String>,
    only_shared: bool,
    mode: Mode,
    hide_ip: bool,
    blur_video: bool,
    /// The age and rules box was ticked on the page that sent them here.
    agreed: bool,
    /// "Ask a question" (`mode=question&question=...`): the question.
    question: Option<String>,
    /// "Discuss questions" (`mode=discuss`).
    discuss: bool,
    /// "Chat in" (`language=es`), unless any language will do.
    language: Option<String>,
}

impl Choices {
    /// The choices in the address of the page being rendered (on the server)
    /// or shown (in the browser).
    fn here() -> Self {
        match use_context::<Choices>() {
            Some(choices) => choices,
            None => Choices::read(browser::address_values),
        }
    }

    /// The choices from an address's query, given every value of a field.
    fn read(values: impl Fn(&str) -> Vec<String>) -> Self {
        let first = |field: &str| values(field).into_iter().next();
        let ticked = |field: &str| first(field).as_deref() == Some("1");
        let mode = first("mode");
        Choices {
            interests: interests_from_input(values("interests").iter().map(String::as_str)),
            only_shared: ticked("only_shared"),
            mode: Mode::from_query(mode.as_deref()),
            hide_ip: ticked("hide_ip"),
            blur_video: ticked("blur"),
            agreed: ticked("agreed"),
            // What was typed, as typed: the server says if it is too long.
            question: (mode.as_deref() == Some("question"))
                .then(|| first("question").unwrap_or_default()),
            discuss: mode.as_deref() == Some("discuss"),
            language: first("language").filter(|code| check_language(code).is_ok()),
        }
    }

    /// What every search of this page asks for. The confirmation counts if it
    /// was ticked on the way here (then it is remembered) or earlier in this
    /// browser.
    fn preferences(self) -> Preferences {
        if self.agreed {
            browser::remember_agreed(true);
        }
        Preferences {
            interests: self.interests,
            only_shared: self.only_shared,
            mode: self.mode,
            hide_ip: self.hide_ip,
            blur_video: self.blur_video,
            agreed: self.agreed || browser::agreed(),
            browser: browser::browser_id(),
            question: self.question,
            discuss: self.discuss,
            language: self.language,
        }
    }
}

/// `/chat`: connects as soon as it is in the browser and looks for a stranger.
#[component]
pub fn ChatPage() -> impl IntoView {
    let query = use_query_map();
    provide_context(Choices::read(|field| {
        query.with_untracked(|q| q.get_all(field).unwrap_or_default())
    }));
    view! {
        <ChatRoom/>
        <SiteFooter/>
    }
}

/// The chat itself: everything on the page that the person can act on, the
/// one island the chat page hydrates.
#[island]
fn ChatRoom() -> impl IntoView {
    let chat = Chat::start(Choices::here().preferences());
    let online = Signal::derive(move || chat.session.with(ChatSession::online));

    // Esc from anywhere on the page, the message box included.
    Effect::new(move |_| {
        let handle = window_event_listener(ev::keydown, move |event| {
            if event.key() == "Escape" && !event.repeat() {
                event.prevent_default();
                if chat.reporting.get_untracked() {
                    chat.close_report();
                } else {
                    chat.press_stop_or_new();
                }
            }
        });
        on_cleanup(move || handle.remove());
    });

    let video = chat.is_video();
    view! {
        <AttentionTitle chat/>
        <main class="chat-page" class:video=video>
            <header class="chat-header">
                <a class="brand" href="/">"Strangers"</a>
                <StatusLine chat/>
                <OnlineCount count=online/>
                <ReportButton chat/>
            </header>
            {video.then(|| view! { <VideoStage chat/> })}
            <div class="conversation">
                <VideoProblemChoices chat/>
                <FoundNotice chat/>
                <QuestionBanner chat/>
                <SealNotice chat/>
                <ChatLog chat/>
                <TypingIndicator chat/>
                <div class="controls">
                    <StopButton chat/>
                    <Composer chat/>
                </div>
                <SaveLog chat/>
                <AgreementNeeded chat/>
            </div>
            <ReportDialog chat/>
        </main>
    }
}

/// When the server refused to search because the age and the rules were not
/// confirmed: the way back to the start page, where the box is.
#[component]
fn AgreementNeeded(chat: Chat) -> impl IntoView {
    let needed = move || chat.session.with(ChatSession::needs_agreement);
    view! {
        <Show when=needed>
            <p class="after-chat">
                <a href="/" rel="external">{Word::GoToStart.say()}</a>
            </p>
        </Show>
    }
}

/// The tab title: "(2) Strangers" when a new stranger or messages arrived while
/// the tab was in the background, until it is seen again. (The server renders
/// the plain title in the page's head.)
#[component]
fn AttentionTitle(chat: Chat) -> impl IntoView {
    let seen = RwSignal::new(0u64);
    let attention = move || chat.session.with(ChatSession::attention);
    Effect::new(move |_| {
        let now = attention();
        if !browser::tab_hidden() {
            seen.set(now);
        }
    });
    Effect::new(move |_| {
        let handle = window_event_listener_untyped("visibilitychange", move |_| {
            if !browser::tab_hidden() {
                seen.set(attention());
            }
        });
        on_cleanup(move || handle.remove());
    });
    Effect::new(move |_| {
        browser::set_title(&match attention().saturating_sub(seen.get()) {
            0 => "Strangers".to_string(),
            unseen => format!("({unseen}) Strangers"),
        });
    });
}
