//! Feeds arbitrary bytes to the server's decoder and validators, as a hostile
//! client would: nothing may panic, and whatever parses must survive a round trip.
//! The same bytes go to the page's reader of server frames (`from_fields`),
//! which must not panic either, must read every frame the server would write
//! exactly as serde does, and never read a frame differently from serde.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strangers::protocol::{
    COMMITMENT_CHARS, CallSignal, ClientMessage, LANGUAGE_PREFIX, MAX_BROWSER_ID_CHARS,
    MAX_CANDIDATE_BYTES, MAX_INTEREST_CHARS, MAX_INTERESTS, MAX_KEY_CHARS, MAX_MESSAGE_CHARS,
    MAX_QUESTION_CHARS, MAX_SDP_BYTES, MAX_SEALED_CHARS, ServerMessage, check_join, check_key,
    check_language, check_message_text, check_question_mode, check_report, check_sealed,
    check_signal, normalize_interest,
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
            // What the server writes (serde's own form of the message, which
            // is all a page is ever sent) the page reads exactly as serde does.
            let written: serde_json::Value =
                serde_json::from_str(&message.to_frame()).expect("JSON");
            assert_eq!(
                ServerMessage::from_fields(&written),
                Some(message.clone()),
                "the page reads what the server writes"
            );
            if read.is_some() {
                assert_eq!(read, Some(message), "and reads nothing else differently");
            }
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
            if check_join(interests, browser.as_deref()).is_ok() {
                // Accepted interests are few, distinct, already in their one
                // normal form (so two spellings never make two interests), of
                // a bounded length, and none can pose as a language.
                assert!(interests.len() <= MAX_INTERESTS);
                for (n, interest) in interests.iter().enumerate() {
                    assert_eq!(normalize_interest(interest).as_ref(), Some(interest));
                    assert!((1..=MAX_INTEREST_CHARS).contains(&interest.chars().count()));
                    assert!(!interest.starts_with(LANGUAGE_PREFIX));
                    assert!(!interests[..n].contains(interest));
                }
                if let Some(browser) = browser {
                    assert!((1..=MAX_BROWSER_ID_CHARS).contains(&browser.chars().count()));
                }
            }
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
            if check_message_text(text).is_ok() {
                // An accepted message says something and fits the limit.
                assert!(!text.trim().is_empty());
                assert!(text.chars().count() <= MAX_MESSAGE_CHARS);
            }
        }
        ClientMessage::Signal { signal } => {
            if check_signal(signal).is_ok() {
                // What is relayed to the partner is bounded.
                match signal {
                    CallSignal::Offer { sdp } | CallSignal::Answer { sdp } => {
                        assert!(!sdp.is_empty() && sdp.len() <= MAX_SDP_BYTES);
                    }
                    CallSignal::Candidate { candidate, .. } => {
                        assert!(candidate.len() <= MAX_CANDIDATE_BYTES);
                    }
                }
            }
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
