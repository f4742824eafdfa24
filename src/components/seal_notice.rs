use leptos::prelude::*;

use crate::chat::Chat;
use crate::session::{Encryption, Phase};

/// Whether the chat is end-to-end encrypted, with the safety code to compare:
/// the same on both screens unless someone in the middle (the server's
/// operator, say) swapped the keys. Said plainly, too, when a chat is not.
#[component]
pub fn SealNotice(chat: Chat) -> impl IntoView {
    // What to show: the safety code (empty while keys are agreed), or a warning.
    let state = move || {
        chat.session.with(|s| {
            let shown = matches!(s.phase(), Phase::Chatting | Phase::Ended);
            match s.encryption() {
                _ if !shown => None,
                Encryption::Sealed(code) => Some(Ok(code.clone())),
                Encryption::Agreeing => Some(Ok(String::new())),
                Encryption::Refused => Some(Err(())),
                Encryption::Off => None,
            }
        })
    };
    let sealed = move || matches!(state(), Some(Ok(_)));
    let code = move || state().and_then(Result::ok).unwrap_or_default();
    view! {
        <section class="seal" aria-label="Encryption" hidden=move || state().is_none()>
            <p hidden=move || !sealed()>
                <span aria-hidden="true">"🔒 "</span>
                "Messages are end-to-end encrypted. Compare this code with the stranger to be sure."
                " "
                <code class="safety-code" aria-label="Safety code">{code}</code>
            </p>
            <p hidden=sealed>"This chat is not end-to-end encrypted."</p>
        </section>
    }
}
