use std::time::Duration;

use leptos::prelude::*;

use crate::browser::{self, NotifyPermission};
use crate::chat::Chat;
use crate::i18n::Word;
use crate::session::{ChatSession, Phase};

/// While looking: "Notify me when someone is found", for a person who goes to
/// another tab while they wait (the browser asks them first); afterwards, every
/// stranger found while the tab is in the background shows a notification
/// "Stranger found", which brings the tab back when clicked.
#[component]
pub fn FoundNotice(chat: Chat) -> impl IntoView {
    // Read once the page runs in the browser (the server renders no offer),
    // in a task of its own: the browser's first answer takes a millisecond
    // or two that the first visit needs for "Looking for someone".
    let permission = RwSignal::new(NotifyPermission::Unavailable);
    Effect::new(move |_| {
        browser::Timer::after(Duration::ZERO, move || {
            permission.set(browser::notify_permission())
        });
    });

    let found = move || chat.session.with(ChatSession::strangers_found);
    Effect::new(move |told: Option<u64>| {
        let now = found();
        if told.is_some_and(|told| now > told)
            && browser::tab_hidden()
            && permission.get_untracked() == NotifyPermission::Granted
        {
            browser::notify_stranger_found();
        }
        now
    });

    let offered = move || {
        permission.get() == NotifyPermission::Ask
            && chat.session.with(|s| s.phase() == Phase::Searching)
    };
    let ask = move |_| {
        browser::spawn(async move { permission.set(browser::ask_to_notify().await) });
    };
    view! {
        <Show when=offered>
            <p class="notify-offer">
                <button type="button" on:click=ask>
                    {Word::NotifyMe.say()}
                </button>
            </p>
        </Show>
    }
}
