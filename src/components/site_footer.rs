use leptos::prelude::*;

use crate::i18n::{Language, PageWord};

/// The footer on every page: the rules, the privacy page and the operator's
/// contact, and, with `languages`, the page in another language (not on the
/// chat page, where a new page would end the chat). They are server-rendered
/// pages, not the app's, so the links load them in full (`rel="external"`
/// keeps the router's hands off).
#[component]
pub fn SiteFooter(#[prop(optional)] languages: bool) -> impl IntoView {
    view! {
        <footer class="site-footer">
            <nav aria-label=PageWord::AboutStrangers.say()>
                <a href="/rules" rel="external">{PageWord::Rules.say()}</a>
                <a href="/privacy" rel="external">{PageWord::Privacy.say()}</a>
                <a href="/contact" rel="external">{PageWord::Contact.say()}</a>
            </nav>
            {languages.then(LanguageSwitch)}
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
                href=format!("?lang={}", language.code())
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
