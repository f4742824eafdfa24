//! The pages in the visitor's language: from the browser's Accept-Language,
//! from the footer's switch (remembered in a cookie), with a dictionary for
//! what the islands say later; English when nothing else is asked for.

#![cfg(feature = "ssr")]

mod common;

use common::TestServer;
use common::http::{Reply, request};
use strangers::i18n::{Language, Word};

async fn page(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Reply {
    let reply = request(server.addr, "GET", path, headers, None).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply
}

/// The page's dictionary (`<body data-words="...">`), one word per line.
fn dictionary(reply: &Reply) -> Option<Vec<String>> {
    let (_, rest) = reply.body.split_once("data-words=\"")?;
    let (words, _) = rest.split_once('"')?;
    Some(
        words
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
            .split('\n')
            .map(str::to_owned)
            .collect(),
    )
}

#[tokio::test]
async fn a_spanish_browser_gets_the_start_page_in_spanish_with_the_islands_words() {
    let server = TestServer::start().await;
    let reply = page(
        &server,
        "/",
        &[("Accept-Language", "es-MX,es;q=0.9,en;q=0.8")],
    )
    .await;
    assert!(reply.body.contains("<html lang=\"es\""), "{}", reply.body);
    assert!(reply.body.contains("¡Habla con desconocidos!"));
    assert!(
        reply.body.contains("¿De qué quieres hablar?"),
        "the start form too"
    );
    assert!(!reply.body.contains("Talk to strangers!"));
    assert_eq!(reply.header("content-language"), Some("es"));
    let vary = reply
        .header("vary")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        vary.contains("accept-language") && vary.contains("cookie"),
        "{vary}"
    );
    assert_eq!(
        reply.header("set-cookie"),
        None,
        "nothing chosen, nothing remembered"
    );

    // What the start form may say once it is alive, and nothing of the chat's.
    let words = dictionary(&reply).expect("a dictionary for the islands");
    assert_eq!(words.len(), Word::Connecting as usize);
    assert_eq!(
        words[Word::GateMissing as usize],
        "Para empezar a chatear, marca primero la casilla de arriba: Strangers es para adultos que aceptan sus normas."
    );
    server.shutdown().await;
}

#[tokio::test]
async fn english_is_the_default_and_carries_no_dictionary() {
    let server = TestServer::start().await;
    for accepted in [None, Some("ja,zh;q=0.9"), Some("en-GB")] {
        let headers: Vec<(&str, &str)> = accepted
            .map(|a| ("Accept-Language", a))
            .into_iter()
            .collect();
        let reply = page(&server, "/", &headers).await;
        assert!(reply.body.contains("<html lang=\"en\""), "{accepted:?}");
        assert!(reply.body.contains("Talk to strangers!"), "{accepted:?}");
        assert_eq!(dictionary(&reply), None, "{accepted:?}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_footer_switch_beats_the_browser_and_is_remembered() {
    let server = TestServer::start().await;
    let spanish = [("Accept-Language", "es")];
    let home = page(&server, "/", &spanish).await;
    for language in Language::ALL {
        let link = format!("href=\"?lang={}\"", language.code());
        assert!(home.body.contains(&link), "the footer offers {link}");
    }

    let chosen = page(&server, "/?lang=de", &spanish).await;
    assert!(chosen.body.contains("<html lang=\"de\""));
    assert!(chosen.body.contains("Sprich mit Fremden!"));
    let cookie = chosen
        .header("set-cookie")
        .expect("the choice is remembered");
    assert!(cookie.starts_with("lang=de;"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    // The next page, with the cookie and the same browser, stays German.
    let next = page(
        &server,
        "/",
        &[("Accept-Language", "es"), ("Cookie", "theme=x; lang=de")],
    )
    .await;
    assert!(next.body.contains("<html lang=\"de\""));
    assert_eq!(next.header("set-cookie"), None);

    // Switching back to English is a choice like any other.
    let back = page(
        &server,
        "/?lang=en",
        &[("Accept-Language", "es"), ("Cookie", "lang=de")],
    )
    .await;
    assert!(back.body.contains("Talk to strangers!"));
    assert!(
        back.header("set-cookie")
            .unwrap_or_default()
            .starts_with("lang=en;")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_chat_page_speaks_the_language_and_carries_what_its_chat_may_say() {
    let server = TestServer::start().await;
    let reply = page(
        &server,
        "/chat?mode=text&interests=chess&agreed=1&lang=pt",
        &[],
    )
    .await;
    assert!(reply.body.contains("<html lang=\"pt\""));
    assert!(
        reply.body.contains("Conectando ao servidor..."),
        "the status line"
    );
    let words = dictionary(&reply).expect("the chat's words");
    assert_eq!(
        words[Word::StrangerLeft as usize],
        "O desconhecido se desconectou."
    );
    assert!(
        !reply.body.contains("?lang="),
        "no switch on the chat page: a new page would end the chat"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_or_hostile_language_is_ignored() {
    let server = TestServer::start().await;
    for path in [
        "/?lang=xx",
        "/?lang=%3Cscript%3E",
        "/?lang=",
        "/?lang=es-ES",
    ] {
        let reply = page(&server, path, &[("Cookie", "lang=\"><b>")]).await;
        assert!(reply.body.contains("<html lang=\"en\""), "{path}");
        assert_eq!(reply.header("set-cookie"), None, "{path}");
        assert!(!reply.body.contains("<b>"), "{path}");
    }
    server.shutdown().await;
}
