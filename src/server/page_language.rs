//! Which language a page is rendered in, and remembering the footer's choice.
//!
//! The choice is the visitor's: `?lang=es` from the footer's switch, which
//! this module answers with a `lang` cookie (the language and nothing else,
//! for a year) so the next pages follow it; then that cookie; then the
//! browser's `Accept-Language`. See [`Language::for_request`].

use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use leptos::prelude::{provide_context, use_context};
use leptos_axum::ResponseOptions;

use crate::i18n::{Island, Language};

/// The cookie that remembers the footer's choice.
const COOKIE: &str = "lang";

/// How long the choice is remembered: a year, in seconds.
const REMEMBERED_S: u32 = 365 * 24 * 60 * 60;

/// Chooses the language of the page being rendered, provides it to the
/// page's components ([`Language::current`]), and says it in the response:
/// `Content-Language`, `Vary` (the same address is another page in another
/// language, which caches must know), and the cookie when the footer chose.
pub fn choose() -> Language {
    let parts = use_context::<Parts>();
    let chosen = parts.as_ref().and_then(|parts| query_value(parts, COOKIE));
    let remembered = parts.as_ref().and_then(|parts| cookie_value(parts, COOKIE));
    let accepted = parts.as_ref().and_then(|parts| {
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
    });
    let language = Language::for_request(chosen, remembered, accepted);
    provide_context(language);
    if let Some(response) = use_context::<ResponseOptions>() {
        response.insert_header(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(language.code()),
        );
        response.insert_header(
            header::VARY,
            HeaderValue::from_static("accept-language, cookie"),
        );
        if chosen.and_then(Language::from_code).is_some() {
            let cookie = format!(
                "{COOKIE}={}; Path=/; Max-Age={REMEMBERED_S}; SameSite=Lax; HttpOnly",
                language.code()
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.insert_header(header::SET_COOKIE, value);
            }
        }
    }
    language
}

/// The islands of the page being rendered, if it has any.
pub fn island() -> Option<Island> {
    let parts = use_context::<Parts>()?;
    Island::at(parts.uri.path(), query_value(&parts, "mode"))
}

/// The first value of `name` in the request's query.
fn query_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .uri
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// The value of the cookie `name`.
fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|cookie| cookie.trim().strip_prefix(name)?.strip_prefix('='))
}
