use leptos::ev::KeyboardEvent;
use leptos::html::Textarea;
use leptos::prelude::*;

use crate::chat::Chat;
use crate::i18n::{PageWord, Word};

/// The message box and Send button. Enter sends, Shift+Enter starts a new line.
#[component]
pub fn Composer(chat: Chat) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let input = NodeRef::<Textarea>::new();
    let can_send = move || chat.session.with(|s| s.can_send());
    let submit = move || {
        if chat.send_text(&draft.get_untracked()) {
            draft.set(String::new());
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    // Put the cursor in the box as soon as there is someone to talk to.
    Effect::new(move |_| {
        if can_send()
            && let Some(input) = input.get()
        {
            request_animation_frame(move || {
                let _ = input.focus();
            });
        }
    });
    view! {
        <form
            class="composer"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <textarea
                node_ref=input
                aria-label=PageWord::MessageLabel.say()
                placeholder=move || {
                    if chat.session.with(|s| s.reading()) {
                        Word::OnlyDiscussersWrite.say()
                    } else {
                        Word::TypeAMessage.say()
                    }
                }
                rows="2"
                prop:value=move || draft.get()
                on:input=move |ev| {
                    draft.set(event_target_value(&ev));
                    chat.typed();
                }
                on:keydown=on_keydown
                disabled=move || !can_send()
            ></textarea>
            <button type="submit" class="send" disabled=move || !can_send()>
                {PageWord::Send.say()}
            </button>
        </form>
    }
}
