use leptos::html::Input;
use leptos::prelude::*;

use crate::browser;
use crate::i18n::{PageWord, Word};

/// "I am 18 or older and agree to the rules", remembered in this browser.
///
/// The box itself holds the answer (`tick`, read by the landing page's form,
/// which refuses to start a chat without it and sets `missing`, shown here,
/// next to the box). It is not driven by a signal, so a tick made before the
/// page hydrated stays ticked.
#[component]
pub fn AgeGate(tick: NodeRef<Input>, missing: RwSignal<bool>) -> impl IntoView {
    // Only in the browser: tick it if this browser remembered the answer.
    Effect::new(move |_| {
        if let Some(input) = tick.get()
            && browser::agreed()
        {
            input.set_checked(true);
        }
    });
    let on_change = move |ev: leptos::ev::Event| {
        let ticked = event_target_checked(&ev);
        if ticked {
            missing.set(false);
        }
        browser::remember_agreed(ticked);
    };
    view! {
        <div class="option-group gate">
            <label class="option">
                <input
                    type="checkbox"
                    name="agreed"
                    value="1"
                    node_ref=tick
                    on:change=on_change
                    aria-describedby="gate-hint"
                    aria-invalid=move || missing.get().to_string()
                />
                {PageWord::AgreeBefore.say()}
                <a href="/rules" rel="external">{PageWord::AgreeRules.say()}</a>
            </label>
            <p class="hint" class:problem=move || missing.get() id="gate-hint" aria-live="polite">
                {move || {
                    if missing.get() {
                        Word::GateMissing.say()
                    } else {
                        Word::GateHint.say()
                    }
                }}
            </p>
        </div>
    }
}
