use leptos::prelude::*;

use crate::i18n::{Language, PageWord};

/// The footer on every page: the rules, the privacy page and the operator's
/// contact, and the page in another language. They are server-rendered
/// pages, not the app's, so the links load them in full (`rel="external"`
/// keeps the router's hands off).
#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <nav aria-label=PageWord::AboutStrangers.say()>
                <a href="/rules" rel="external">{PageWord::Rules.say()}</a>
                <a href="/privacy" rel="external">{PageWord::Privacy.say()}</a>
                <a href="/contact" rel="external">{PageWord::Contact.say()}</a>
            </nav>
            <LanguageSwitch/>
        </footer>
    }
}

/// The page in each language, each named in itself; the current one marked.
/// The choice is remembered for the next pages (a `lang` cookie).
#[component]
fn LanguageSwitch() -> impl IntoView {
    let here = Language::current();
    let links = Language::ALL.map(|language| {
        view! {
            <a
                href=switch_to(language)
                hreflang=language.code()
                lang=language.code()
                rel="external"
                aria-current=(language == here).then_some("page")
            >
                {language.own_name()}
            </a>
        }
    });
    view! { <nav class="languages" aria-label=PageWord::LanguageSwitch.say()>{links}</nav> }
}

/// The address of this page in `language` (only the server renders the footer).
fn switch_to(language: Language) -> String {
    #[cfg(feature = "ssr")]
    {
        crate::server::page_language::switch_to(language)
    }
    #[cfg(not(feature = "ssr"))]
    {
        format!("?lang={}", language.code())
    }
}
