use leptos::prelude::*;

use crate::chat::Chat;
use crate::i18n::{PageWord, Word};
use crate::session::{ChatSession, Phase};

/// Question mode: the question at the top of the chat, and who reads it. The
/// discussers always see whether someone reads along. (Rendered hidden in
/// other chats, which keeps the page's code small.)
#[component]
pub fn QuestionBanner(chat: Chat) -> impl IntoView {
    let question = move || {
        chat.session.with(|s| {
            let shown = matches!(s.phase(), Phase::Chatting | Phase::Ended);
            s.question()
                .filter(|_| shown)
                .unwrap_or_default()
                .to_owned()
        })
    };
    let who_reads = move || {
        chat.session.with(|s: &ChatSession| {
            if s.reading() {
                Word::YouAsked.say()
            } else if s.asker_reading() {
                Word::SomeoneAsked.say()
            } else {
                Word::AskerGone.say()
            }
        })
    };
    view! {
        <section class="question" aria-label=PageWord::TheQuestion.say() hidden=move || question().is_empty()>
            <p class="asked">{question}</p>
            <p class="who-reads">{who_reads}</p>
        </section>
    }
}
