//! The HTML shell the server renders, and the router (which runs on the
//! server only: the browser hydrates the pages' islands, not the app).

use leptos::prelude::*;
use leptos_meta::{Meta, Title, provide_meta_context};
use leptos_router::StaticSegment;
use leptos_router::components::{Route, Router, Routes};

use crate::i18n::PageWord;
use crate::pages::{ChatPage, LandingPage, NotFound};

/// The document around the app: head, the built files, body; and the page's
/// Content-Security-Policy.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    set_content_security_policy();
    let language = crate::server::page_language::choose();
    let built = crate::server::built::BuiltFiles::of(&options);
    let words = crate::server::page_language::island()
        .and_then(|page| crate::i18n::Word::dictionary(language, page));
    view! {
        <!DOCTYPE html>
        <html lang=language.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options/>
                <link id="leptos" rel="stylesheet" href=built.stylesheet.clone()/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"/>
                <meta name="theme-color" content="#2856c7"/>
                <IslandLoader built/>
                <leptos_meta::MetaTags/>
            </head>
            // What the islands may say later, in the page's language.
            <body data-words=words>
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
        <Meta name="description" content=PageWord::Description.say()/>
        <Meta name="color-scheme" content="light dark"/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=StaticSegment("") view=LandingPage/>
                <Route path=StaticSegment("chat") view=ChatPage/>
            </Routes>
        </Router>
    }
}

/// Fetches the script and the WebAssembly while the page is parsed, as soon as
/// both are there brings the page's islands to life. (The service worker that
/// makes the site an installable app is registered by the chat once a stranger
/// is found: see `browser::install_app`.)
///
/// Instead of Leptos's own islands script, which waits for the browser to be
/// idle first (`requestIdleCallback`, 140 to 260 ms after navigation here) and
/// reads the hash file on every page it renders; the names here are read once
/// ([`crate::server::built::BuiltFiles`]). The pages' islands are never
/// nested, so each is hydrated in page order.
#[cfg(feature = "ssr")]
#[component]
fn IslandLoader(built: &'static crate::server::built::BuiltFiles) -> impl IntoView {
    // The server renders every part but the islands as plain HTML.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let script = format!(
        "const code = await import({script:?});\
         await code.default({{ module_or_path: {wasm:?} }});\
         code.hydrate();\
         for (const island of document.querySelectorAll(\"leptos-island\")) {{\
           const hydrate = code[island.dataset.component];\
           if (hydrate) await hydrate(island);\
         }}",
        script = built.script,
        wasm = built.wasm,
    );
    let nonce = leptos::nonce::use_nonce();
    view! {
        <link rel="modulepreload" href=built.script.clone()/>
        <link rel="preload" href=built.wasm.clone() r#as="fetch" r#type="application/wasm" crossorigin=""/>
        <script type="module" nonce=nonce>{script}</script>
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
