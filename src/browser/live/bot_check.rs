//! The browser's side of the bot check: finds the number whose SHA-256 the
//! server sent (see [`crate::protocol::Challenge`]), hashing with the browser's
//! own WebCrypto so the page's code does not grow by a hash function.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen_futures::JsFuture;

use crate::protocol::{Challenge, MAX_CHALLENGE_NUMBER};

/// How many hashes are asked of WebCrypto at once: each digest is a promise,
/// and awaiting them in batches keeps the browser's crypto thread busy instead
/// of paying a round trip per number.
const BATCH: u64 = 1000;

/// The number that solves `challenge`, or `None` if there is none up to its
/// `max`, it asks for more work than any honest server would, or the browser
/// has no WebCrypto (a page served over plain HTTP from another machine).
pub async fn solve(challenge: &Challenge) -> Option<u64> {
    if challenge.max > MAX_CHALLENGE_NUMBER {
        return None;
    }
    let target = challenge.digest()?;
    let subtle = web_sys::window()?.crypto().ok()?.subtle();
    let mut start = 0;
    while start <= challenge.max {
        let end = (start + BATCH).min(challenge.max + 1);
        let digests = Array::new();
        for number in start..end {
            let input = challenge.input(number);
            let digest = subtle
                .digest_with_str_and_u8_array("SHA-256", input.as_bytes())
                .ok()?;
            digests.push(&digest);
        }
        let done = JsFuture::from(Promise::all(&digests)).await.ok()?;
        let found = Array::from(&done)
            .iter()
            .position(|digest| Uint8Array::new(&digest).to_vec() == target);
        if let Some(offset) = found {
            return Some(start + offset as u64);
        }
        start = end;
    }
    None
}
