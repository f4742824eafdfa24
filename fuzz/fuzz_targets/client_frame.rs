//! Feeds arbitrary bytes to the server's decoder and validators, as a hostile
//! client would: nothing may panic, and whatever parses must survive a round trip.
//! The same bytes go to the page's reader of server frames (`from_fields`),
//! which must not panic either and must read every frame serde accepts as a
//! server message exactly as serde does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strangers::protocol::{
    COMMITMENT_CHARS, ClientMessage, MAX_KEY_CHARS, MAX_QUESTION_CHARS, MAX_SEALED_CHARS,
    ServerMessage, check_join, check_key, check_language, check_message_text, check_question_mode,
    check_report, check_sealed, check_signal,
};

/// Whether `text` is base64url without padding: all a key, a sealed message
/// or a franking value may be (nothing to escape in a log or a console page).
fn base64url(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fuzz_target!(|data: &[u8]| {
    // WebSocket text frames are UTF-8; the socket layer refuses anything else.
    let Ok(frame) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = serde_json::from_str::<serde_json::Value>(frame) {
        let read = ServerMessage::from_fields(&parsed);
        if let Ok(message) = ServerMessage::parse(frame) {
            assert_eq!(read, Some(message), "the page reads what serde reads");
        }
    }
    let Ok(message) = ClientMessage::parse(frame) else {
        return;
    };
    match &message {
        ClientMessage::Join {
            interests,
            browser,
            question,
            discuss,
            mode,
            language,
            ..
        } => {
            let _ = check_join(interests, browser.as_deref());
            if let Some(language) = language
                && check_language(language).is_ok()
            {
                // An accepted language is a plain code: it cannot smuggle
                // anything into the interests it joins.
                assert!((2..=3).contains(&language.len()));
                assert!(language.bytes().all(|b| b.is_ascii_lowercase()));
            }
            if check_question_mode(question.as_deref(), *discuss, *mode).is_ok()
                && let Some(question) = question
            {
                // An accepted question says something and fits the limit.
                assert!(!question.trim().is_empty());
                assert!(question.chars().count() <= MAX_QUESTION_CHARS);
                assert!(!discuss, "one asks or discusses, not both");
            }
        }
        ClientMessage::Message { text } => {
            let _ = check_message_text(text);
        }
        ClientMessage::Signal { signal } => {
            let _ = check_signal(signal);
        }
        ClientMessage::Report { evidence, .. } => {
            if check_report(evidence).is_ok() {
                for proof in evidence.iter().filter_map(|line| line.franking.as_deref()) {
                    assert!(
                        proof
                            .split('.')
                            .all(|part| base64url(part) && !part.is_empty())
                    );
                }
            }
        }
        ClientMessage::Key { key } => {
            if check_key(key).is_ok() {
                assert!(!key.is_empty() && key.len() <= MAX_KEY_CHARS && base64url(key));
            }
        }
        ClientMessage::Sealed { data, commitment } => {
            if check_sealed(data, commitment).is_ok() {
                assert!(!data.is_empty() && data.len() <= MAX_SEALED_CHARS && base64url(data));
                assert!(commitment.len() == COMMITMENT_CHARS && base64url(commitment));
            }
        }
        // A guess at the bot check is only compared with the secret number.
        ClientMessage::Typing { .. } | ClientMessage::Leave {} | ClientMessage::Solve { .. } => {}
    }
    assert_eq!(
        ClientMessage::parse(&message.to_frame()),
        Ok(message),
        "what the server accepts, it can write back unchanged"
    );
});
