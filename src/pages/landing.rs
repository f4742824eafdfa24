use leptos::prelude::*;

/// `/`: what Strangers is, and the way in.
///
/// "Start chatting" is a plain form, so it works before the page has hydrated.
#[component]
pub fn LandingPage() -> impl IntoView {
    view! {
        <main class="landing">
            <h1 class="brand">"Strangers"</h1>
            <p class="tagline">"Talk to strangers!"</p>
            <p class="pitch">
                "You are paired with a random person to chat one-to-one. "
                "No sign-up, no names: you are \"You\" and they are \"Stranger\". "
                "Nothing is stored, and you can leave at any time."
            </p>
            <form class="start" action="/chat" method="get">
                <button type="submit" class="primary">"Start chatting"</button>
            </form>
        </main>
    }
}
