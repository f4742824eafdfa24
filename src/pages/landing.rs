use leptos::prelude::*;

use crate::components::{AgeGate, InterestsInput, OnlineCount, SiteFooter};

/// `/`: what Strangers is, interests, and the way in.
///
/// "Text" and "Video" submit a plain form to `/chat`, so they work before the
/// page has hydrated; the interests and the mode travel in the address.
#[component]
pub fn LandingPage() -> impl IntoView {
    let online = RwSignal::new(None::<u64>);
    // Whether the server can relay video calls; unknown until it says.
    let relay = RwSignal::new(None::<bool>);
    watch_server(online, relay);
    let tick = NodeRef::<leptos::html::Input>::new();
    let missing = RwSignal::new(false);
    // Text and Video start nothing until the box is ticked; they say why, next
    // to it. (Before hydration the form goes through, and the chat page gets
    // the server's refusal instead.)
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let agreed = tick.get_untracked().is_some_and(|input| input.checked());
        if !agreed {
            ev.prevent_default();
            missing.set(true);
            if let Some(input) = tick.get_untracked() {
                let _ = input.focus();
            }
        }
    };
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
            <form class="start" action="/chat" method="get" on:submit=on_submit>
                <InterestsInput/>
                <label class="option">
                    <input type="checkbox" name="only_shared" value="1"/>
                    "Only match on shared interests"
                </label>
                <HideIpOption relay/>
                <label class="option">
                    <input type="checkbox" name="blur" value="1"/>
                    "Blur the stranger's video until I choose to see it"
                </label>
                <AgeGate tick missing/>
                <fieldset class="modes">
                    <legend>"Start chatting:"</legend>
                    <button type="submit" class="primary" name="mode" value="text">"Text"</button>
                    <span class="or" aria-hidden="true">"or"</span>
                    <button type="submit" class="primary" name="mode" value="video">"Video"</button>
                </fieldset>
            </form>
        </main>
        <SiteFooter/>
    }
}

/// "Hide my IP address" for video chats. It needs a relay (TURN) server: once
/// the server says it has one, the option is ticked for everyone (unless the
/// person already chose), and unticking it says what that costs; without one
/// it is turned off and says why.
#[component]
fn HideIpOption(relay: RwSignal<Option<bool>>) -> impl IntoView {
    let unavailable = move || relay.get() == Some(false);
    let hide = RwSignal::new(false);
    let touched = RwSignal::new(false);
    Effect::new(move |_| {
        if relay.get() == Some(true) && !touched.get_untracked() {
            hide.set(true);
        }
    });
    let on_change = move |ev: leptos::ev::Event| {
        touched.set(true);
        hide.set(event_target_checked(&ev));
    };
    view! {
        <div class="option-group">
            <label class="option">
                <input
                    type="checkbox"
                    name="hide_ip"
                    value="1"
                    prop:checked=hide
                    on:change=on_change
                    disabled=unavailable
                    aria-describedby="hide-ip-hint"
                />
                "Hide my IP address in video chats"
            </label>
            <p class="hint" id="hide-ip-hint">
                {move || {
                    if unavailable() {
                        "Not available here: this server has no relay (TURN) server."
                    } else if relay.get() == Some(true) && !hide.get() {
                        "Faster video, but the stranger's browser can learn your IP address."
                    } else {
                        "The call goes through the server's relay, so the stranger never learns your address."
                    }
                }}
            </p>
        </div>
    }
}

/// Keeps `online` and `relay` current from the server, over a socket that never joins.
fn watch_server(online: RwSignal<Option<u64>>, relay: RwSignal<Option<bool>>) {
    #[cfg(feature = "hydrate")]
    {
        use crate::protocol::ServerMessage;
        let link = StoredValue::new_local(None);
        Effect::new(move |_| {
            let opened = crate::socket::ChatConnection::open(
                || {},
                move |message| match message {
                    ServerMessage::Online { count } => online.set(Some(count)),
                    ServerMessage::Welcome {
                        relay: has_relay, ..
                    } => relay.set(Some(has_relay)),
                    _ => {}
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
    let _ = (online, relay);
}
