//! The guard against cross-site WebSocket hijacking: a page on another site must
//! not be able to open `/ws` in a visitor's browser and chat in their name.
//!
//! Browsers always send `Origin` on a WebSocket handshake; a page's own origin
//! matches the `Host` it connects to. Other allowed origins can be listed (for a
//! site served from several names). A handshake with no `Origin` at all comes from
//! a program, not a page, and is let through: it has no visitor to hijack.

/// Which origins may open `/ws`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    /// Extra origins allowed besides the site's own, as `scheme://host[:port]`, lowercase.
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// Only the site's own origin.
    pub fn same_origin_only() -> Self {
        Self::default()
    }

    /// The site's own origin and `origins` (such as `https://chat.example.org`).
    pub fn allowing<S: AsRef<str>>(origins: impl IntoIterator<Item = S>) -> Self {
        OriginPolicy {
            allowed: origins
                .into_iter()
                .map(|o| normalize(o.as_ref()))
                .filter(|o| !o.is_empty())
                .collect(),
        }
    }

    /// Whether a handshake with this `Origin` and `Host` may proceed.
    pub fn permits(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let origin = normalize(origin);
        if self.allowed.contains(&origin) {
            return true;
        }
        let authority = origin.split_once("://").map(|(_, authority)| authority);
        match (authority, host) {
            (Some(authority), Some(host)) => authority == host.trim().to_ascii_lowercase(),
            _ => false,
        }
    }
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sites_own_pages_may_connect() {
        let policy = OriginPolicy::same_origin_only();
        assert!(policy.permits(Some("http://127.0.0.1:3000"), Some("127.0.0.1:3000")));
        assert!(policy.permits(Some("https://Chat.Example.org"), Some("chat.example.org")));
    }

    #[test]
    fn other_sites_may_not() {
        let policy = OriginPolicy::same_origin_only();
        assert!(!policy.permits(Some("https://evil.example"), Some("chat.example.org")));
        assert!(!policy.permits(Some("http://127.0.0.1:3001"), Some("127.0.0.1:3000")));
        assert!(!policy.permits(Some("null"), Some("chat.example.org")));
        assert!(!policy.permits(Some("https://evil.example"), None));
    }

    #[test]
    fn listed_origins_may() {
        let policy = OriginPolicy::allowing(["https://strangers.example/", ""]);
        assert!(policy.permits(Some("https://strangers.example"), Some("10.0.0.5:3000")));
        assert!(!policy.permits(Some("http://strangers.example"), Some("10.0.0.5:3000")));
    }

    #[test]
    fn programs_without_an_origin_may() {
        assert!(OriginPolicy::same_origin_only().permits(None, Some("x")));
    }
}
