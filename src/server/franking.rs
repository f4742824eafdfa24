//! Message franking: how a report of an end-to-end encrypted line is checked,
//! without the server ever reading a line nobody reported (the scheme of
//! Facebook's "Messenger Secret Conversations", analysed by Grubbs, Lu and
//! Ristenpart, 2017).
//!
//! 1. The sender's browser picks a fresh franking key for each message and
//!    commits to the text: `commitment = HMAC-SHA256(franking key, text)`. The
//!    key and the text travel sealed; the commitment in the clear.
//! 2. Relaying, the server stamps the commitment with a secret only it knows:
//!    `stamp = HMAC-SHA256(secret, room ‖ sender ‖ commitment)`. The stamp
//!    says "this server relayed this commitment from that stranger in that chat".
//! 3. The recipient's browser opens the message and drops it unless the
//!    commitment matches the text, so whatever it shows can be proven.
//! 4. A report sends the line back with its franking key, commitment and
//!    stamp: the text must match the commitment and the stamp the reported
//!    stranger in the reporter's current chat. A line changed, moved from
//!    another chat or put in someone else's mouth fails.
//!
//! The secret is made at start and never leaves the process: a report is
//! checked while its chat is still open on this instance, so nothing needs to
//! last longer, and nothing about unreported lines is kept.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::room::RoomId;
use super::stranger::StrangerId;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 keyed with this process's stamping secret (random, made on
/// first use), ready to stamp: each stamp starts from a copy, so the key is
/// not set up again for every message delivered.
fn keyed() -> HmacSha256 {
    static KEYED: OnceLock<HmacSha256> = OnceLock::new();
    KEYED
        .get_or_init(|| {
            let mut secret = [0; 32];
            secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            HmacSha256::new_from_slice(&secret).expect("HMAC takes keys of any length")
        })
        .clone()
}

fn stamp_mac(room: RoomId, from: StrangerId, commitment: &[u8]) -> HmacSha256 {
    let mut mac = keyed();
    mac.update(room.as_bytes());
    mac.update(from.as_bytes());
    mac.update(commitment);
    mac
}

/// The server's stamp on `commitment` (base64url, as sent), relayed from
/// `from` in `room`; base64url. A commitment that is not base64url is stamped
/// as its text (the recipient's browser drops such a message anyway).
pub fn stamp(room: RoomId, from: StrangerId, commitment: &str) -> String {
    let bytes = URL_SAFE_NO_PAD
        .decode(commitment)
        .unwrap_or_else(|_| commitment.as_bytes().to_vec());
    URL_SAFE_NO_PAD.encode(stamp_mac(room, from, &bytes).finalize().into_bytes())
}

/// The commitment to `text` under `franking_key`, as a sender's browser
/// makes it: HMAC-SHA256 of the text's UTF-8, base64url.
pub fn commit(franking_key: &[u8], text: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(franking_key).expect("HMAC takes keys of any length");
    mac.update(text.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Whether `proof` (franking key, commitment and stamp, base64url, joined by
/// dots) shows that `from` sent exactly `text` in `room` through this server.
pub fn verify(room: RoomId, from: StrangerId, text: &str, proof: &str) -> bool {
    let parts: Vec<_> = proof
        .split('.')
        .map(|p| URL_SAFE_NO_PAD.decode(p))
        .collect();
    let [Ok(key), Ok(commitment), Ok(stamp)] = parts.as_slice() else {
        return false;
    };
    let mut committed = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    committed.update(text.as_bytes());
    committed.verify_slice(commitment).is_ok()
        && stamp_mac(room, from, commitment)
            .verify_slice(stamp)
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as the recipient's browser keeps it: its proof.
    fn proof(room: RoomId, from: StrangerId, key: &[u8], text: &str) -> String {
        let commitment = commit(key, text);
        let stamp = stamp(room, from, &commitment);
        format!("{}.{commitment}.{stamp}", URL_SAFE_NO_PAD.encode(key))
    }

    #[test]
    fn a_true_line_verifies_and_a_forged_one_does_not() {
        let room = RoomId::new();
        let (sender, reporter) = (StrangerId::new(), StrangerId::new());
        let key = [7u8; 32];
        let said = proof(room, sender, &key, "meet me behind the school");
        assert!(verify(room, sender, "meet me behind the school", &said));

        assert!(
            !verify(room, sender, "give me your address", &said),
            "another text under a true proof"
        );
        assert!(
            !verify(room, reporter, "meet me behind the school", &said),
            "a line put in someone else's mouth"
        );
        assert!(
            !verify(RoomId::new(), sender, "meet me behind the school", &said),
            "a line moved from another chat"
        );
        // A reporter who makes up a line, with a commitment of their own, has
        // no stamp for it: the server never relayed that commitment.
        let made_up = commit(&key, "give me your address");
        let forged_stamp = stamp(RoomId::new(), sender, &made_up);
        let forged = format!("{}.{made_up}.{forged_stamp}", URL_SAFE_NO_PAD.encode(key));
        assert!(!verify(room, sender, "give me your address", &forged));
        for junk in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert!(!verify(room, sender, "meet me behind the school", junk));
        }
    }

    #[test]
    fn a_commitment_is_the_browsers_hmac_of_the_text() {
        // RFC 4231, test case 2: HMAC-SHA256 with key "Jefe".
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let bytes = URL_SAFE_NO_PAD
            .decode(commit(b"Jefe", "what do ya want for nothing?"))
            .unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }
}
