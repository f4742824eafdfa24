use leptos::prelude::*;

use crate::i18n::Word;

/// "N strangers online", once the server has said; kept current by the server.
#[component]
pub fn OnlineCount(#[prop(into)] count: Signal<Option<u64>>) -> impl IntoView {
    move || {
        count.get().map(|n| {
            let online = if n == 1 {
                Word::OnlineOne.with(n)
            } else {
                Word::OnlineMany.with(n)
            };
            view! { <p class="online">{online}</p> }
        })
    }
}
