use leptos::prelude::*;

use crate::chat::Chat;
use crate::i18n::Word;
use crate::session::Phase;

/// After a chat: "Save log" downloads it as a text file, made in the browser.
#[component]
pub fn SaveLog(chat: Chat) -> impl IntoView {
    let ended = move || {
        chat.session
            .with(|s| s.phase() == Phase::Ended && !s.log().is_empty())
    };
    view! {
        <Show when=ended>
            <div class="after-chat">
                <button type="button" class="save-log" on:click=move |_| chat.save_log()>
                    {Word::SaveLog.say()}
                </button>
            </div>
        </Show>
    }
}
