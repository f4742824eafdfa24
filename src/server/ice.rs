//! The STUN and TURN servers handed to video callers, with short-lived TURN
//! passwords when the relay shares a secret with us.
//!
//! A TURN relay forwards anyone's traffic, so a password that every visitor's
//! browser receives must not be good forever. With a shared secret (coturn's
//! `use-auth-secret` / `static-auth-secret`, the "TURN REST API" scheme), each
//! call gets a user name that carries its own expiry time and a password the
//! relay can check without asking us: `base64(HMAC-SHA1(secret, user name))`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::protocol::IceServer;

/// How long a generated TURN password is good for, unless configured.
pub const DEFAULT_CREDENTIAL_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The ICE servers this service provides and how their passwords are made.
#[derive(Debug, Clone)]
pub struct IceConfig {
    /// The servers, as configured. TURN servers without a username and credential
    /// get generated ones (which needs `turn_secret`).
    pub servers: Vec<IceServer>,
    /// The secret shared with the TURN relay, if passwords are generated.
    pub turn_secret: Option<String>,
    /// How long a generated password is good for.
    pub credential_lifetime: Duration,
}

impl Default for IceConfig {
    fn default() -> Self {
        IceConfig {
            servers: Vec::new(),
            turn_secret: None,
            credential_lifetime: DEFAULT_CREDENTIAL_LIFETIME,
        }
    }
}

impl IceConfig {
    /// Checks that every TURN server can be logged into: fixed credentials, or a
    /// secret to make them with.
    pub fn new(
        servers: Vec<IceServer>,
        turn_secret: Option<String>,
        credential_lifetime: Duration,
    ) -> Result<Self, String> {
        if let Some(server) = servers
            .iter()
            .find(|s| s.relays() && s.credential.is_none() && turn_secret.is_none())
        {
            return Err(format!(
                "the TURN server {:?} needs a username and credential, or STRANGERS_TURN_SECRET",
                server.urls[0]
            ));
        }
        Ok(IceConfig {
            servers,
            turn_secret,
            credential_lifetime,
        })
    }

    /// Whether a relay is configured, so a caller can hide their address.
    pub fn relays(&self) -> bool {
        self.servers.iter().any(IceServer::relays)
    }

    /// The servers for a call starting at `now`, with fresh passwords for the
    /// TURN servers that take generated ones.
    pub fn for_call(&self, now: SystemTime) -> Vec<IceServer> {
        let expires = now
            .checked_add(self.credential_lifetime)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        self.servers
            .iter()
            .map(|server| match &self.turn_secret {
                Some(secret) if server.relays() && server.credential.is_none() => {
                    let (username, credential) = turn_credentials(secret, expires);
                    IceServer {
                        username: Some(username),
                        credential: Some(credential),
                        ..server.clone()
                    }
                }
                _ => server.clone(),
            })
            .collect()
    }
}

/// A user name good until `expires` (seconds since 1970) and its password, as
/// a relay sharing `secret` checks them.
pub fn turn_credentials(secret: &str, expires: u64) -> (String, String) {
    let username = format!("{expires}:strangers");
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(username.as_bytes());
    let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

/// Reads ICE servers written the way a browser's `RTCPeerConnection` takes them:
/// `[{"urls":"stun:stun.example.org:3478"},
///   {"urls":["turn:turn.example.org:3478"],"username":"u","credential":"p"}]`.
/// `urls` may be one string or a list; every URL must be `stun:`, `turn:` or `turns:`.
pub fn parse_ice_servers(json: &str) -> Result<Vec<IceServer>, String> {
    /// `urls` as browsers accept it: one URL or several.
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Urls {
        One(String),
        Many(Vec<String>),
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Written {
        urls: Urls,
        username: Option<String>,
        credential: Option<String>,
    }
    let written: Vec<Written> =
        serde_json::from_str(json).map_err(|e| format!("not a JSON list of ICE servers: {e}"))?;
    written
        .into_iter()
        .map(|w| {
            let urls = match w.urls {
                Urls::One(url) => vec![url],
                Urls::Many(urls) => urls,
            };
            if urls.is_empty() {
                return Err("an ICE server has no URLs".to_owned());
            }
            if let Some(bad) = urls.iter().find(|u| {
                !["stun:", "turn:", "turns:"]
                    .iter()
                    .any(|s| u.starts_with(s))
            }) {
                return Err(format!("{bad:?} is not a stun:, turn: or turns: URL"));
            }
            if w.username.is_some() != w.credential.is_some() {
                return Err(format!(
                    "{:?}: give both username and credential, or neither",
                    urls[0]
                ));
            }
            Ok(IceServer {
                urls,
                username: w.username,
                credential: w.credential,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_servers_are_read_as_browsers_write_them() {
        let servers = parse_ice_servers(
            r#"[{"urls":"stun:stun.example.org:3478"},
                {"urls":["turn:turn.example.org:3478","turns:turn.example.org:5349"],
                 "username":"u","credential":"p"}]"#,
        )
        .unwrap();
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].urls, ["stun:stun.example.org:3478"]);
        assert!(!servers[0].relays());
        assert!(servers[1].relays());
        assert_eq!(parse_ice_servers("[]"), Ok(Vec::new()));
    }

    #[test]
    fn unusable_ice_servers_are_refused_with_the_reason() {
        for (json, reason) in [
            ("stun:stun.example.org", "not a JSON list"),
            (r#"[{"urls":"http://example.org"}]"#, "is not a stun:"),
            (r#"[{"urls":[]}]"#, "no URLs"),
            (
                r#"[{"urls":"turn:t.example.org","username":"u"}]"#,
                "give both",
            ),
            (
                r#"[{"urls":"stun:s.example.org","extra":1}]"#,
                "not a JSON list",
            ),
        ] {
            let error = parse_ice_servers(json).unwrap_err();
            assert!(error.contains(reason), "{json}: {error}");
        }
        let turn = parse_ice_servers(r#"[{"urls":"turn:t.example.org"}]"#).unwrap();
        let error = IceConfig::new(turn, None, DEFAULT_CREDENTIAL_LIFETIME).unwrap_err();
        assert!(error.contains("STRANGERS_TURN_SECRET"), "{error}");
    }

    #[test]
    fn turn_passwords_are_what_coturn_expects() {
        // Computed independently: base64(HMAC-SHA1("north-wind", "1700000000:strangers")),
        // with Python's hmac, hashlib and base64 modules.
        assert_eq!(
            turn_credentials("north-wind", 1_700_000_000),
            (
                "1700000000:strangers".to_owned(),
                "O4lY4LUVA75aK5mioO9CZkFt1Eg=".to_owned()
            )
        );
    }

    #[test]
    fn each_call_gets_a_password_that_expires_and_fixed_ones_are_kept() {
        let servers = parse_ice_servers(
            r#"[{"urls":"stun:s.example.org"},
                {"urls":"turn:t.example.org"},
                {"urls":"turn:fixed.example.org","username":"u","credential":"p"}]"#,
        )
        .unwrap();
        let config = IceConfig::new(
            servers,
            Some("north-wind".into()),
            Duration::from_secs(3600),
        )
        .unwrap();
        let start = UNIX_EPOCH + Duration::from_secs(1_699_996_400);
        let handed = config.for_call(start);
        assert_eq!(handed[0].username, None, "STUN needs no login");
        assert_eq!(
            handed[1].username.as_deref(),
            Some("1700000000:strangers"),
            "good for an hour from the start of the call"
        );
        assert_eq!(
            handed[1].credential.as_deref(),
            Some("O4lY4LUVA75aK5mioO9CZkFt1Eg=")
        );
        assert_eq!(handed[2].username.as_deref(), Some("u"));
        assert_eq!(handed[2].credential.as_deref(), Some("p"));
        assert!(config.relays());
    }
}
