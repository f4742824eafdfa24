use leptos::prelude::*;

use crate::chat::Chat;
use crate::i18n::PageWord;
use crate::session::{Encryption, Phase};

/// Whether the chat is end-to-end encrypted, with the safety code to compare:
/// the same on both screens unless someone in the middle (the server's
/// operator, say) swapped the keys. Said plainly, too, when a chat is not.
/// (Both sentences are in the page and the stylesheet shows the one that
/// holds, by `data-seal`: fewer live parts, a smaller bundle.)
#[component]
pub fn SealNotice(chat: Chat) -> impl IntoView {
    let kind = move || {
        chat.session.with(|s| {
            let shown = matches!(s.phase(), Phase::Chatting | Phase::Ended);
            match s.encryption() {
                Encryption::Sealed(_) if shown => "sealed",
                Encryption::Refused if shown => "plain",
                _ => "",
            }
        })
    };
    let code = move || {
        chat.session.with(|s| match s.encryption() {
            Encryption::Sealed(code) => code.clone(),
            _ => String::new(),
        })
    };
    view! {
        <p class="seal" data-seal=kind>
            <span class="sealed">
                {PageWord::Sealed.say()}
                <code class="safety-code" aria-label=PageWord::SafetyCode.say()>{code}</code>
            </span>
            <span class="plain">{PageWord::NotSealed.say()}</span>
        </p>
    }
}
