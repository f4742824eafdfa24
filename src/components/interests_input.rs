use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

use crate::i18n::{PageWord, Word};
use crate::protocol::{MAX_INTERESTS, interests_from_input};

/// Interests as removable chips. Each chip is a hidden `interests` field of the
/// landing page's form, and so is the text still in the box, so the form also
/// works before the page has hydrated.
#[component]
pub fn InterestsInput() -> impl IntoView {
    let interests = RwSignal::new(Vec::<String>::new());
    let draft = RwSignal::new(String::new());
    let add_draft = move || {
        let typed = draft.get_untracked();
        interests.update(|all| {
            let mut raw: Vec<&str> = all.iter().map(String::as_str).collect();
            raw.push(&typed);
            *all = interests_from_input(raw);
        });
        draft.set(String::new());
    };
    let on_keydown = move |ev: KeyboardEvent| {
        let typed = draft.get_untracked();
        match ev.key().as_str() {
            "Enter" | "," if !typed.trim().is_empty() => {
                ev.prevent_default();
                add_draft();
            }
            "Backspace" if typed.is_empty() => {
                interests.update(|all| {
                    all.pop();
                });
            }
            _ => {}
        }
    };
    let full = move || interests.with(|all| all.len() >= MAX_INTERESTS);
    view! {
        <div class="interests">
            <label for="interest-input">{PageWord::InterestsLabel.say()}</label>
            <div class="chips-box">
                <ul class="chips" aria-label=PageWord::YourInterests.say()>
                    <For each=move || interests.get() key=|interest| interest.clone() let:interest>
                        <Chip interest=interest on_remove=move |gone: String| {
                            interests.update(|all| all.retain(|i| *i != gone))
                        }/>
                    </For>
                </ul>
                <input
                    id="interest-input"
                    name="interests"
                    type="text"
                    autocomplete="off"
                    maxlength="64"
                    placeholder=move || if full() { Word::InterestsFull.say() } else { Word::AddInterest.say() }
                    disabled=full
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=on_keydown
                    on:blur=move |_| {
                        if !draft.get_untracked().trim().is_empty() {
                            add_draft();
                        }
                    }
                />
            </div>
            <p class="hint">{PageWord::InterestsHint.say()}</p>
        </div>
    }
}

/// One interest, with a button to remove it.
#[component]
fn Chip(interest: String, on_remove: impl Fn(String) + 'static) -> impl IntoView {
    let label = Word::RemoveInterest.with(&interest);
    let gone = interest.clone();
    view! {
        <li class="chip">
            <input type="hidden" name="interests" value=interest.clone()/>
            <span>{interest}</span>
            <button type="button" aria-label=label on:click=move |_| on_remove(gone.clone())>
                "×"
            </button>
        </li>
    }
}
