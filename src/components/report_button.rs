use leptos::prelude::*;

use crate::chat::Chat;
use crate::i18n::Word;
/// "Report", while chatting (not while reading along): opens the report dialog, where the person says
/// what is wrong and sends the report (which ends the chat).
#[component]
pub fn ReportButton(chat: Chat) -> impl IntoView {
    let chatting = move || chat.session.with(|s| s.can_send());
    view! {
        <Show when=chatting>
            <button
                type="button"
                class="report"
                title=Word::ReportTitle.say()
                aria-haspopup="dialog"
                on:click=move |_| chat.open_report()
            >
                {Word::Report.say()}
            </button>
        </Show>
    }
}
