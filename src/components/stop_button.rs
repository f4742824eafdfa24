use leptos::prelude::*;

use crate::chat::Chat;

/// "Stop" ends the search or the chat; then "New" starts another.
#[component]
pub fn StopButton(chat: Chat) -> impl IntoView {
    view! {
        <button
            type="button"
            class="stop"
            class:confirming=move || chat.session.with(|s| s.confirming_stop())
            on:click=move |_| chat.press_stop_or_new()
        >
            {move || chat.session.with(|s| s.button_label())}
        </button>
    }
}
