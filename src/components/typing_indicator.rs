use leptos::prelude::*;

use crate::chat::Chat;
use crate::i18n::Word;
use crate::session::ChatSession;

/// "Stranger is typing..." while they are.
#[component]
pub fn TypingIndicator(chat: Chat) -> impl IntoView {
    let typing = move || chat.session.with(ChatSession::stranger_typing);
    view! {
        <p class="typing" aria-live="polite">
            {move || typing().then_some(Word::Typing.say())}
        </p>
    }
}
