use leptos::prelude::*;

use crate::chat::Chat;

/// Where the chat stands, announced politely to screen readers.
#[component]
pub fn StatusLine(chat: Chat) -> impl IntoView {
    view! {
        <p class="status" role="status">
            {move || chat.session.with(|s| s.status())}
        </p>
    }
}
