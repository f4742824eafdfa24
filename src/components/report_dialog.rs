use leptos::html::Input;
use leptos::prelude::*;

use crate::chat::Chat;
use crate::i18n::Word;
use crate::protocol::{Author, ReportReason};
use crate::session::Phase;

/// What "Report" opens: the reason, whether to include the chat's last lines
/// (shown, exactly as they would be sent), and "Send report". Esc or Cancel
/// closes it without reporting.
#[component]
pub fn ReportDialog(chat: Chat) -> impl IntoView {
    let open = move || chat.reporting.get() && chat.session.with(|s| s.phase() == Phase::Chatting);
    view! {
        <Show when=open>
            <ReportForm chat/>
        </Show>
    }
}

/// The dialog's content, made afresh each time it opens.
#[component]
fn ReportForm(chat: Chat) -> impl IntoView {
    let reason = RwSignal::new(None::<ReportReason>);
    let with_evidence = RwSignal::new(true);
    let missing_reason = RwSignal::new(false);
    let first_choice = NodeRef::<Input>::new();
    // Focus moves into the dialog when it opens.
    Effect::new(move |_| {
        if let Some(input) = first_choice.get() {
            let _ = input.focus();
        }
    });
    let evidence = move || chat.session.with(|s| s.evidence());
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match reason.get_untracked() {
            Some(reason) => chat.report(reason, with_evidence.get_untracked()),
            None => missing_reason.set(true),
        }
    };
    let choices = ReportReason::ALL
        .into_iter()
        .enumerate()
        .map(|(n, choice)| {
            let node = if n == 0 { first_choice } else { NodeRef::new() };
            view! {
                <label class="option">
                    <input
                        type="radio"
                        name="reason"
                        value=choice.as_str()
                        node_ref=node
                        on:change=move |_| {
                            reason.set(Some(choice));
                            missing_reason.set(false);
                        }
                    />
                    {reason_word(choice)}
                </label>
            }
        })
        .collect_view();
    view! {
        <div class="dialog-backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="report-title">
                <form on:submit=send>
                    <h2 id="report-title">{Word::ReportThisStranger.say()}</h2>
                    <fieldset class="reasons">
                        <legend>{Word::WhatIsWrong.say()}</legend>
                        {choices}
                    </fieldset>
                    <Show when=move || missing_reason.get()>
                        <p class="problem" role="alert">{Word::ChooseFirst.say()}</p>
                    </Show>
                    <label class="option">
                        <input
                            type="checkbox"
                            prop:checked=move || with_evidence.get()
                            on:change=move |ev| with_evidence.set(event_target_checked(&ev))
                        />
                        {Word::IncludeLines.say()}
                    </label>
                    <Show
                        when=move || with_evidence.get()
                        fallback=|| view! { <p class="hint">{Word::NoLinesSent.say()}</p> }
                    >
                        <EvidencePreview lines=Signal::derive(evidence)/>
                    </Show>
                    <p class="hint">
                        {Word::ReportEndsChat.say()}
                    </p>
                    <div class="dialog-actions">
                        <button type="button" on:click=move |_| chat.close_report()>{Word::Cancel.say()}</button>
                        <button type="submit" class="primary">{Word::SendReport.say()}</button>
                    </div>
                </form>
            </div>
        </div>
    }
}

/// The lines a report would carry, as they will be sent.
#[component]
fn EvidencePreview(lines: Signal<Vec<crate::protocol::EvidenceLine>>) -> impl IntoView {
    view! {
        {move || {
            let lines = lines.get();
            if lines.is_empty() {
                view! { <p class="hint">{Word::NothingSaid.say()}</p> }.into_any()
            } else {
                let count = lines.len();
                let items = lines
                    .into_iter()
                    .map(|line| {
                        let who = match line.from {
                            Author::You => Word::You.say(),
                            Author::Stranger => Word::Stranger.say(),
                        };
                        view! { <li><b>{who}</b>" "{line.text}</li> }
                    })
                    .collect_view();
                view! {
                    <p class="hint">
                        {Word::LinesToSend.with(count)}
                    </p>
                    <ol class="evidence" aria-label=Word::LinesLabel.say()>{items}</ol>
                }
                    .into_any()
            }
        }}
    }
}

/// A report's reason as the dialog names it (the console has its own names:
/// [`ReportReason::label`]).
fn reason_word(reason: ReportReason) -> &'static str {
    match reason {
        ReportReason::Sexual => Word::Sexual.say(),
        ReportReason::Minor => Word::Minor.say(),
        ReportReason::Harassment => Word::Harassment.say(),
        ReportReason::Spam => Word::Spam.say(),
        ReportReason::Other => Word::SomethingElse.say(),
    }
}
