use leptos::prelude::*;

use crate::chat::Chat;
use crate::session::Device;

/// "Mute" and "Camera off": what the stranger gets from you, switched without
/// ending the call.
#[component]
pub fn MediaToggles(chat: Chat) -> impl IntoView {
    view! {
        <div class="media-toggles">
            {Device::ALL.map(|device| view! { <DeviceToggle chat device/> })}
        </div>
    }
}

/// One switch. Its label says what pressing it does; `aria-pressed` tells
/// screen readers whether the device is off now.
#[component]
fn DeviceToggle(chat: Chat, device: Device) -> impl IntoView {
    let off = move || chat.session.with(|s| !s.is_on(device));
    view! {
        <button
            type="button"
            class="toggle"
            aria-pressed=move || off().to_string()
            on:click=move |_| chat.toggle(device)
        >
            {device.off_label()}
        </button>
    }
}
