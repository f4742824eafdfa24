use leptos::prelude::*;

/// The footer on every page: the rules, the privacy page and the operator's
/// contact. They are server-rendered pages, not the app's, so the links load
/// them in full (`rel="external"` keeps the router's hands off).
#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <nav aria-label="About Strangers">
                <a href="/rules" rel="external">"Rules"</a>
                <a href="/privacy" rel="external">"Privacy"</a>
                <a href="/contact" rel="external">"Contact"</a>
            </nav>
        </footer>
    }
}
