use leptos::prelude::*;

use crate::pages::Chat;
use crate::session::Phase;

/// "Report", while chatting: ends the chat and reports the stranger. Reports
/// from several different people ban the stranger's network for a while.
#[component]
pub fn ReportButton(chat: Chat) -> impl IntoView {
    let chatting = move || chat.session.with(|s| s.phase() == Phase::Chatting);
    view! {
        <Show when=chatting>
            <button
                type="button"
                class="report"
                title="End this chat and report the stranger for abuse"
                on:click=move |_| chat.report()
            >
                "Report"
            </button>
        </Show>
    }
}
