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
    let island = crate::server::page_language::island();
    let words = island.and_then(|page| crate::i18n::Word::dictionary(language, page));
    let chat = island.is_some_and(|page| page != crate::i18n::Island::Start);
    view! {
        <!DOCTYPE html>
        <html lang=language.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options/>
                // First in the head, so that it starts before the parser reaches
                // the stylesheet (a script after one would wait for it).
                <IslandLoader built chat/>
                <link id="leptos" rel="stylesheet" href=built.stylesheet.clone()/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"/>
                <meta name="theme-color" content="#2856c7"/>
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

/// Brings the page's islands to life as early as the browser allows: from the
/// top of the head, before the rest of the page is parsed, it starts fetching
/// and compiling the WebAssembly (streamed: compiled as its bytes arrive) and
/// importing the script, and instantiates the one with the other; once the
/// page is parsed, it hydrates the islands. (The service worker that makes the
/// site an installable app is registered by the chat once a stranger is found:
/// see `browser::install_app`.)
///
/// On a chat page (`chat`) it also opens the chat's socket at once, so that the
/// handshake and the server's welcome happen while the WebAssembly loads and
/// hydrates rather than after: the chat adopts that socket, and is handed what
/// the server said meanwhile (see `browser::live::socket::Link::open`).
///
/// A classic script rather than a module, which would wait for the whole page
/// to be parsed before it even started; and instead of Leptos's own islands
/// script, which waits for the browser to be idle first (`requestIdleCallback`,
/// 140 to 260 ms after navigation here) and reads the hash file on every page
/// it renders; the names here are read once
/// ([`crate::server::built::BuiltFiles`]). The pages' islands are never
/// nested, so each is hydrated in page order. (BENCHMARKS.md, "Time to usable".)
#[cfg(feature = "ssr")]
#[component]
fn IslandLoader(built: &'static crate::server::built::BuiltFiles, chat: bool) -> impl IntoView {
    // The server renders every part but the islands as plain HTML.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let socket = if chat { EARLY_SOCKET } else { "" };
    // If the WebAssembly cannot be compiled as it streams (served with another
    // type, say), the script's own loader is given its address instead.
    let script = format!(
        "{socket}{{\
           const compiled = WebAssembly.compileStreaming(fetch({wasm:?})).catch(() => {wasm:?});\
           const code = import({script:?});\
           const parsed = new Promise((done) => document.readyState === \"loading\"\
             ? document.addEventListener(\"DOMContentLoaded\", done, {{ once: true }}) : done());\
           (async () => {{\
             const glue = await code;\
             await glue.default({{ module_or_path: await compiled }});\
             await parsed;\
             glue.hydrate();\
             for (const island of document.querySelectorAll(\"leptos-island\")) {{\
               const hydrate = glue[island.dataset.component];\
               if (hydrate) await hydrate(island);\
             }}\
           }})();\
         }}",
        script = built.script,
        wasm = built.wasm,
    );
    let nonce = leptos::nonce::use_nonce();
    view! {
        <link rel="modulepreload" href=built.script.clone()/>
        <link rel="preload" href=built.wasm.clone() r#as="fetch" r#type="application/wasm" crossorigin=""/>
        <script nonce=nonce>{script}</script>
    }
}

/// The chat's socket, opened by the loader before it fetches the code: it keeps
/// what the server says (and how the socket closed, if it did) until the chat
/// calls `adopt`, then replays it to the chat's own handlers, in order, before
/// anything that arrives later.
#[cfg(feature = "ssr")]
const EARLY_SOCKET: &str = "{\
  const socket = new WebSocket((location.protocol === \"https:\" ? \"wss://\" : \"ws://\") + location.host + \"/ws\");\
  const heard = [];\
  let closed = null;\
  socket.onmessage = (event) => heard.push(event.data);\
  socket.onclose = (event) => { closed = { code: event.code, reason: event.reason, wasClean: event.wasClean }; };\
  window.__strangersSocket = { socket, adopt() {\
    delete window.__strangersSocket;\
    queueMicrotask(() => {\
      for (const data of heard) socket.dispatchEvent(new MessageEvent(\"message\", { data }));\
      if (closed) socket.dispatchEvent(new CloseEvent(\"close\", closed));\
    });\
  } };\
}";

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
