use leptos::prelude::*;

/// "I am 18 or older and agree to the rules", remembered in this browser.
///
/// `agreed` is shared with the landing page's form, which refuses to start a
/// chat without it and sets `missing`, shown here, next to the box.
#[component]
pub fn AgeGate(agreed: RwSignal<bool>, missing: RwSignal<bool>) -> impl IntoView {
    // Only in the browser: what this browser remembered.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if crate::browser::agreed() {
            agreed.set(true);
        }
    });
    let on_change = move |ev: leptos::ev::Event| {
        let ticked = event_target_checked(&ev);
        agreed.set(ticked);
        if ticked {
            missing.set(false);
        }
        #[cfg(feature = "hydrate")]
        crate::browser::remember_agreed(ticked);
    };
    view! {
        <div class="option-group gate">
            <label class="option">
                <input
                    type="checkbox"
                    name="agreed"
                    value="1"
                    prop:checked=move || agreed.get()
                    on:change=on_change
                    aria-describedby="gate-hint"
                    aria-invalid=move || missing.get().to_string()
                />
                "I am 18 or older and agree to the "
                <a href="/rules" rel="external">"rules"</a>
            </label>
            <p class="hint" class:problem=move || missing.get() id="gate-hint" aria-live="polite">
                {move || {
                    if missing.get() {
                        "To start chatting, first tick the box above: Strangers is for adults who agree to its rules."
                    } else {
                        "Strangers is for adults only. Read the rules before you start."
                    }
                }}
            </p>
        </div>
    }
}
