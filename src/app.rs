//! The HTML shell the server renders and the router both sides share.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::StaticSegment;
use leptos_router::components::{Route, Router, Routes};

use crate::pages::{ChatPage, LandingPage, NotFound};

/// The document around the app: head, scripts for hydration, body. On the
/// server it also sets the page's Content-Security-Policy.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: the title and the two pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Strangers"/>
        <Meta name="description" content="Talk to a random stranger, anonymously. No sign-up."/>
        <Meta name="color-scheme" content="light dark"/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=StaticSegment("") view=LandingPage/>
                <Route path=StaticSegment("chat") view=ChatPage/>
            </Routes>
        </Router>
    }
}

/// Only this site's own scripts run, plus the inline hydration scripts Leptos
/// marks with this response's nonce; WebAssembly may compile; the socket, the
/// styles and everything else come from the site itself; no site may frame it.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use leptos::nonce::use_nonce;
    use leptos_axum::ResponseOptions;

    let (Some(nonce), Some(response)) = (use_nonce(), use_context::<ResponseOptions>()) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}
