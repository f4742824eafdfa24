use leptos::prelude::*;

use crate::components::SiteFooter;

/// Shown for any address that is not a page.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="landing">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to Strangers"</a></p>
        </main>
        <SiteFooter/>
    }
}
