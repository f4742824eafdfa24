use leptos::html::Div;
use leptos::prelude::*;

use crate::chat::Chat;
use crate::i18n::Word;
use crate::session::{LogLine, Speaker};

/// The conversation, newest at the bottom. Text is always rendered as text,
/// so markup in a message is shown, never run.
#[component]
pub fn ChatLog(chat: Chat) -> impl IntoView {
    let log = NodeRef::<Div>::new();
    // Whether the reader is at the bottom; scrolling up to reread stops the
    // newest lines from pulling the view down.
    let following = StoredValue::new(true);
    let on_scroll = move |_| {
        if let Some(log) = log.get_untracked() {
            let slack = log.scroll_height() - log.scroll_top() - log.client_height();
            following.set_value(slack < 24);
        }
    };
    // An empty log has nothing to scroll to: on hydration, reading its height
    // would make the browser lay the page out then and there, before the
    // chat has said "Looking for someone".
    Effect::new(move |_| {
        let lines = chat.session.with(|s| s.log().len());
        if lines > 0
            && let Some(log) = log.get()
            && following.get_value()
        {
            log.set_scroll_top(log.scroll_height());
        }
    });
    view! {
        <div class="log" role="log" aria-live="polite" node_ref=log on:scroll=on_scroll>
            <For
                each=move || chat.session.with(|s| s.log().to_vec())
                key=|line| line.id
                let:line
            >
                <LogEntry line/>
            </For>
        </div>
    }
}

/// One line: "You: ...", "Stranger: ...", in question mode "Stranger 1: ...",
/// or a notice.
#[component]
fn LogEntry(line: LogLine) -> impl IntoView {
    let (class, speaker) = match line.speaker {
        Speaker::You => ("line you", Some(Word::You.say())),
        Speaker::Stranger => ("line stranger", Some(Word::Stranger.say())),
        // The asker reads two: each in the colour of one side of a chat.
        Speaker::Discusser(1) => ("line stranger", Some(Word::Stranger1.say())),
        Speaker::Discusser(_) => ("line you", Some(Word::Stranger2.say())),
        Speaker::Notice => ("line notice", None),
        Speaker::Error => ("line error", None),
    };
    view! {
        <p class=class>
            {speaker.map(|who| view! { <strong class="who">{who}</strong>" " })}
            <span class="text">{line.text}</span>
        </p>
    }
}
