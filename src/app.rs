//! The HTML shell the server renders and the router both sides share.

use leptos::prelude::*;
use leptos_meta::{Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::StaticSegment;
use leptos_router::components::{Route, Router, Routes};

use crate::pages::{ChatPage, LandingPage, NotFound};

/// The document around the app: head, scripts for hydration, body.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: the stylesheet, the title and the two pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/strangers.css"/>
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
