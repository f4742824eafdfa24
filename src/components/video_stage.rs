use leptos::prelude::*;

use crate::components::MediaToggles;
use crate::pages::Chat;

/// The video chat's picture: the stranger large, yourself small in a corner,
/// the microphone and camera switches, and a way to hear the stranger if the
/// browser held their sound back.
#[component]
pub fn VideoStage(chat: Chat) -> impl IntoView {
    view! {
        <section class="video-stage" aria-label="Video">
            <video
                class="remote"
                node_ref=chat.remote_video
                autoplay
                playsinline
                aria-label="The stranger's video"
            ></video>
            <video
                class="local"
                node_ref=chat.local_video
                autoplay
                playsinline
                prop:muted=true
                aria-label="Your camera"
            ></video>
            <Show when=move || chat.sound_blocked.get()>
                <button type="button" class="unmute" on:click=move |_| chat.unmute_stranger()>
                    "Turn on the stranger's sound"
                </button>
            </Show>
            <MediaToggles chat/>
        </section>
    }
}
