use leptos::prelude::*;

use crate::chat::Chat;
use crate::components::MediaToggles;
use crate::i18n::{PageWord, Word};

/// The video chat's picture: the stranger large, yourself small in a corner,
/// the microphone and camera switches, and a way to hear the stranger if the
/// browser held their sound back.
#[component]
pub fn VideoStage(chat: Chat) -> impl IntoView {
    let hidden = move || chat.session.with(|s| s.stranger_video().is_hidden());
    view! {
        <section class="video-stage" aria-label=PageWord::Video.say()>
            <video
                class="remote"
                class:blurred=hidden
                node_ref=chat.remote_video
                autoplay
                playsinline
                aria-label=PageWord::StrangersVideo.say()
            ></video>
            <video
                class="local"
                node_ref=chat.local_video
                autoplay
                playsinline
                prop:muted=true
                aria-label=PageWord::YourCamera.say()
            ></video>
            <Show when=move || chat.sound_blocked.get()>
                <button type="button" class="unmute" on:click=move |_| chat.unmute_stranger()>
                    {Word::TurnOnSound.say()}
                </button>
            </Show>
            <HiddenVideoNotice chat/>
            <MediaToggles chat/>
        </section>
    }
}

/// Over the blurred video: why it is blurred, a way to see it anyway, and a way
/// to move on to the next stranger at once.
#[component]
fn HiddenVideoNotice(chat: Chat) -> impl IntoView {
    let notice = move || chat.session.with(|s| s.stranger_video().notice());
    view! {
        {move || {
            notice()
                .map(|(text, show)| {
                    view! {
                        <div class="video-notice" role="alert">
                            <p>{text}</p>
                            <div class="video-notice-actions">
                                <button type="button" on:click=move |_| chat.show_stranger_video()>
                                    {show}
                                </button>
                                <button type="button" class="primary" on:click=move |_| chat.next_stranger()>
                                    {Word::Next.say()}
                                </button>
                            </div>
                        </div>
                    }
                })
        }}
    }
}
