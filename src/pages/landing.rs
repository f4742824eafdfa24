use leptos::prelude::*;

use crate::browser::{self, OnlineFeed};
use crate::components::{AgeGate, InterestsInput, OnlineCount, SiteFooter};
use crate::i18n::{PageWord, Word};

/// What the server knows when it renders the landing page, so the page shows
/// it at once instead of asking after it loads.
#[derive(Debug, Clone, Copy, Default)]
pub struct SiteFacts {
    /// Strangers connected now, on every instance.
    pub online: u64,
    /// Whether video calls can go through the server's relay (TURN), which
    /// hides each side's address from the other.
    pub relay: bool,
}

impl SiteFacts {
    /// The facts: from the server while it renders the page, and in the
    /// browser from the page it rendered (`data-online`, `data-relay`), so the
    /// islands need no props (which Leptos would parse with a JSON parser of
    /// its own in the bundle).
    fn here() -> SiteFacts {
        use_context::<SiteFacts>().unwrap_or_else(|| SiteFacts {
            online: browser::page_data("online")
                .and_then(|n| n.parse().ok())
                .unwrap_or_default(),
            relay: browser::page_data("relay").as_deref() == Some("true"),
        })
    }
}

/// `/`: what Strangers is, interests, and the way in.
///
/// The page holds no chat connection: the online count comes from a light
/// stream of counts, so a visitor who only looks is not counted online and
/// uses none of their network's chat connections until they press Text or Video.
#[component]
pub fn LandingPage() -> impl IntoView {
    let facts = SiteFacts::here();
    view! {
        <main class="landing" data-online=facts.online data-relay=facts.relay.to_string()>
            <h1 class="brand">"Strangers"</h1>
            <p class="tagline">{PageWord::Tagline.say()}</p>
            <LiveOnlineCount/>
            <p class="pitch">{PageWord::Pitch.say()}</p>
            <StartForm/>
        </main>
        <SiteFooter languages=true/>
    }
}

/// "N strangers online", as rendered, then kept current from the server's feed.
#[island]
fn LiveOnlineCount() -> impl IntoView {
    let online = RwSignal::new(Some(SiteFacts::here().online));
    let feed = StoredValue::new_local(None);
    Effect::new(move |_| {
        feed.set_value(OnlineFeed::open(move |count| online.set(Some(count))));
    });
    on_cleanup(move || {
        feed.try_set_value(None);
    });
    view! { <OnlineCount count=online/> }
}

/// The form that starts a chat: interests, options, the age and rules box, and
/// "Text" and "Video".
///
/// "Text" and "Video" submit a plain form to `/chat`, so they work before the
/// page has hydrated; the interests and the mode travel in the address.
#[island]
fn StartForm() -> impl IntoView {
    let relay = SiteFacts::here().relay;
    let tick = NodeRef::<leptos::html::Input>::new();
    let missing = RwSignal::new(false);
    // Marks the form once it is alive in the browser (effects never run on the
    // server), for tests and scripts that must not click before.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(form) = form.get() {
            let _ = form.set_attribute("data-hydrated", "");
        }
    });
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
        <form class="start" action="/chat" method="get" on:submit=on_submit node_ref=form>
            <InterestsInput/>
            <label class="option">
                <input type="checkbox" name="only_shared" value="1"/>
                {PageWord::OnlyShared.say()}
            </label>
            <ChatIn/>
            <HideIpOption relay/>
            <label class="option">
                <input type="checkbox" name="blur" value="1"/>
                {PageWord::BlurOption.say()}
            </label>
            <AgeGate tick missing/>
            <fieldset class="modes">
                <legend>{PageWord::StartChatting.say()}</legend>
                <button type="submit" class="primary" name="mode" value="text" formnovalidate>
                    {PageWord::Text.say()}
                </button>
                <span class="or" aria-hidden="true">{PageWord::Or.say()}</span>
                <button type="submit" class="primary" name="mode" value="video" formnovalidate>
                    {PageWord::Video.say()}
                </button>
            </fieldset>
            <QuestionMode/>
        </form>
    }
}

/// "Chat in": the language to meet strangers in, preferred as a shared
/// interest is (then anyone, unless only shared interests will do). The
/// languages are named in their own language; the codes are
/// [`crate::i18n::Language`]'s (any other two- or three-letter code is accepted too: [`crate::protocol::check_language`]). Plain markup, so it costs the page's
/// code nothing.
#[component]
fn ChatIn() -> impl IntoView {
    view! {
        <label class="option chat-in">
            {PageWord::ChatIn.say()}
            <select name="language">
                <option value="">{PageWord::AnyLanguage.say()}</option>
                <option value="en" lang="en">"English"</option>
                <option value="es" lang="es">"Español"</option>
                <option value="pt" lang="pt">"Português"</option>
                <option value="fr" lang="fr">"Français"</option>
                <option value="de" lang="de">"Deutsch"</option>
            </select>
        </label>
    }
}

/// Question mode: ask a question that two strangers discuss while you read
/// along, or discuss other people's. Part of the start form, so the age and
/// rules box counts for it too. Only "Ask" needs the question: the browser
/// itself says so (every other button skips the check), which keeps the
/// page's code small.
#[component]
fn QuestionMode() -> impl IntoView {
    view! {
        <fieldset class="question-mode">
            <legend>{PageWord::QuestionMode.say()}</legend>
            <label for="question">{PageWord::AskAQuestion.say()}</label>
            <textarea
                id="question"
                name="question"
                rows="2"
                maxlength="200"
                required
                aria-describedby="question-hint"
            ></textarea>
            <p class="hint" id="question-hint">
                {PageWord::AskHint.say()}
            </p>
            <div class="question-buttons">
                <button type="submit" name="mode" value="question">{PageWord::Ask.say()}</button>
                <button
                    type="submit"
                    name="mode"
                    value="discuss"
                    formnovalidate
                    aria-describedby="discuss-hint"
                >
                    {PageWord::DiscussQuestions.say()}
                </button>
            </div>
            <p class="hint" id="discuss-hint">
                {PageWord::DiscussHint.say()}
            </p>
        </fieldset>
    }
}

/// "Hide my IP address" for video chats. It needs a relay (TURN) server: where
/// the server has one, the option starts ticked, and unticking it says what
/// that costs; without one it is turned off and says why.
#[component]
fn HideIpOption(relay: bool) -> impl IntoView {
    // The box holds the answer itself, so a change made before the page came
    // alive stays; the hint follows it from then on.
    let hide = RwSignal::new(relay);
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            hide.set(input.checked());
        }
    });
    let on_change = move |ev: leptos::ev::Event| hide.set(event_target_checked(&ev));
    view! {
        <div class="option-group">
            <label class="option">
                <input
                    type="checkbox"
                    name="hide_ip"
                    value="1"
                    checked=relay
                    node_ref=input
                    on:change=on_change
                    disabled=!relay
                    aria-describedby="hide-ip-hint"
                />
                {PageWord::HideIp.say()}
            </label>
            <p class="hint" id="hide-ip-hint">
                {move || {
                    if !relay {
                        Word::NoRelayHint.say()
                    } else if !hide.get() {
                        Word::DirectHint.say()
                    } else {
                        Word::RelayHint.say()
                    }
                }}
            </p>
        </div>
    }
}
