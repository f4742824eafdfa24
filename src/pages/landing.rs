use leptos::prelude::*;

use crate::components::{InterestsInput, OnlineCount};

/// `/`: what Strangers is, interests, and the way in.
///
/// "Start chatting" submits a plain form to `/chat`, so it works before the page
/// has hydrated; the interests travel in the address.
#[component]
pub fn LandingPage() -> impl IntoView {
    let online = RwSignal::new(None::<u64>);
    watch_online_count(online);
    view! {
        <main class="landing">
            <h1 class="brand">"Strangers"</h1>
            <p class="tagline">"Talk to strangers!"</p>
            <OnlineCount count=online/>
            <p class="pitch">
                "You are paired with a random person to chat one-to-one. "
                "No sign-up, no names: you are \"You\" and they are \"Stranger\". "
                "Nothing is stored, and you can leave at any time."
            </p>
            <form class="start" action="/chat" method="get">
                <InterestsInput/>
                <label class="only-shared">
                    <input type="checkbox" name="only_shared" value="1"/>
                    "Only match on shared interests"
                </label>
                <button type="submit" class="primary">"Start chatting"</button>
            </form>
        </main>
    }
}

/// Keeps `online` current from the server, over a socket that never joins.
fn watch_online_count(online: RwSignal<Option<u64>>) {
    #[cfg(feature = "hydrate")]
    {
        use crate::protocol::ServerMessage;
        let link = StoredValue::new_local(None);
        Effect::new(move |_| {
            let opened = crate::socket::ChatConnection::open(
                || {},
                move |message| {
                    if let ServerMessage::Online { count } = message {
                        online.set(Some(count));
                    }
                },
                |_| {},
            );
            link.set_value(opened.ok());
        });
        on_cleanup(move || {
            link.try_set_value(None);
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = online;
}
