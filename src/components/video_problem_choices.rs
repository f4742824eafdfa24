use leptos::prelude::*;

use crate::chat::Chat;
use crate::i18n::Word;
use crate::session::{Phase, VideoProblem};

/// When a video chat cannot start: the way on in text, and for a missing relay,
/// video without hiding the address. The status line says what went wrong.
#[component]
pub fn VideoProblemChoices(chat: Chat) -> impl IntoView {
    let problem = move || match chat.session.with(|s| s.phase()) {
        Phase::NoVideo(problem) => Some(problem),
        _ => None,
    };
    move || {
        problem().map(|problem| {
            view! {
                <div class="video-problem">
                    <button type="button" class="primary" on:click=move |_| chat.continue_in_text()>
                        {Word::ContinueInText.say()}
                    </button>
                    {(problem == VideoProblem::NoRelay).then(|| view! {
                        <button type="button" on:click=move |_| chat.stop_hiding_ip()>
                            {Word::VideoWithoutHiding.say()}
                        </button>
                    })}
                </div>
            }
        })
    }
}
