use leptos::prelude::*;

use crate::i18n::Word;

/// "N strangers online", once the server has said; kept current by the server.
#[component]
pub fn OnlineCount(#[prop(into)] count: Signal<Option<u64>>) -> impl IntoView {
    move || {
        count.get().map(|n| {
            let words = if n == 1 {
                Word::OnlineOne
            } else {
                Word::OnlineMany
            };
            view! { <p class="online">{words.with(&n.to_string())}</p> }
        })
    }
}
