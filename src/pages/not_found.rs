use leptos::prelude::*;

use crate::components::SiteFooter;
use crate::i18n::PageWord;

/// Shown for any address that is not a page.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="landing">
            <h1>{PageWord::NotFound.say()}</h1>
            <p><a href="/">{PageWord::BackHome.say()}</a></p>
        </main>
        <SiteFooter languages=true/>
    }
}
