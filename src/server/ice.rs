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

use crate::protocol::{CallSignal, IceServer};

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

/// Whether `signal` would tell the partner a network address other than a
/// relay's: an ICE candidate of type host, srflx or prflx (an mDNS `.local`
/// host candidate included), or a session description carrying one, or a
/// connection address (`c=`) that is not a relay candidate's. For a stranger
/// who asked to hide their address, such a signal is dropped: the browser
/// already gathers relay candidates only, and this holds even if it did not.
pub fn reveals_address(signal: &CallSignal) -> bool {
    match signal {
        CallSignal::Candidate { candidate, .. } => {
            !candidate.trim().is_empty() && candidate_type(candidate) != Some("relay")
        }
        CallSignal::Offer { sdp } | CallSignal::Answer { sdp } => sdp_reveals_address(sdp),
    }
}

/// The `typ` of an ICE candidate line (`candidate:... typ relay ...`).
fn candidate_type(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace();
    words.find(|&word| word == "typ")?;
    words.next()
}

/// The connection address of an ICE candidate line (its fifth field).
fn candidate_address(line: &str) -> Option<&str> {
    line.split_whitespace().nth(4)
}

fn sdp_reveals_address(sdp: &str) -> bool {
    let lines = || sdp.lines().map(str::trim);
    let candidates: Vec<&str> = lines()
        .filter_map(|line| line.strip_prefix("a=candidate:"))
        .collect();
    if candidates
        .iter()
        .any(|line| candidate_type(line) != Some("relay"))
    {
        return true;
    }
    let relays: Vec<&str> = candidates
        .iter()
        .filter_map(|line| candidate_address(line))
        .collect();
    lines()
        .filter_map(|line| line.strip_prefix("c="))
        .filter_map(|connection| connection.split_whitespace().nth(2))
        .any(|address| {
            let unspecified = address
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_unspecified());
            !unspecified && !relays.contains(&address)
        })
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

    fn candidate(line: &str) -> CallSignal {
        CallSignal::Candidate {
            candidate: line.into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        }
    }

    fn offer(sdp: &str) -> CallSignal {
        CallSignal::Offer { sdp: sdp.into() }
    }

    #[test]
    fn relay_candidates_pass_and_every_other_kind_reveals_an_address() {
        assert!(!reveals_address(&candidate(
            "candidate:1 1 udp 41885439 198.51.100.3 50000 typ relay raddr 0.0.0.0 rport 0"
        )));
        for line in [
            "candidate:2 1 udp 2122260223 192.168.1.20 54321 typ host generation 0",
            "candidate:3 1 udp 2122260223 0f1e2d3c-aaaa-bbbb-cccc-1234567890ab.local 54321 typ host",
            "candidate:4 1 udp 1686052607 203.0.113.9 54321 typ srflx raddr 192.168.1.20 rport 54321",
            "candidate:5 1 udp 1845501695 203.0.113.9 54321 typ prflx",
            "candidate:6 1 udp 1 203.0.113.9 54321",
        ] {
            assert!(reveals_address(&candidate(line)), "{line}");
        }
        assert!(
            !reveals_address(&candidate("")),
            "the end-of-candidates marker carries nothing"
        );
    }

    #[test]
    fn a_description_reveals_an_address_through_its_candidates_or_its_connection_line() {
        let clean = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n";
        assert!(!reveals_address(&offer(clean)));
        let relayed = "v=0\r\nm=video 50000 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 198.51.100.3\r\n\
            a=candidate:1 1 udp 41885439 198.51.100.3 50000 typ relay raddr 0.0.0.0 rport 0\r\n";
        assert!(!reveals_address(&offer(relayed)));
        let host = "v=0\r\nc=IN IP4 0.0.0.0\r\n\
            a=candidate:2 1 udp 2122260223 192.168.1.20 54321 typ host\r\n";
        assert!(reveals_address(&offer(host)));
        let bare = "v=0\r\nm=video 54321 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 203.0.113.9\r\n";
        assert!(reveals_address(&CallSignal::Answer { sdp: bare.into() }));
        let v6 = "v=0\r\nc=IN IP6 ::\r\n";
        assert!(!reveals_address(&offer(v6)));
    }
}
