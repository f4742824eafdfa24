use leptos::prelude::*;

/// "N strangers online", once the server has said; kept current by the server.
#[component]
pub fn OnlineCount(#[prop(into)] count: Signal<Option<u64>>) -> impl IntoView {
    move || {
        count.get().map(|n| {
            let noun = if n == 1 { "stranger" } else { "strangers" };
            view! { <p class="online">{format!("{n} {noun} online")}</p> }
        })
    }
}
