//! The guard against cross-site WebSocket hijacking: a page on another site must
//! not be able to open `/ws` in a visitor's browser and chat in their name.
//!
//! Browsers always send `Origin` on a WebSocket handshake; a page's own origin
//! matches the `Host` it connects to. Other allowed origins can be listed (for a
//! site served from several names). A handshake with no `Origin` at all comes from
//! a program, not a page, and is let through: it has no visitor to hijack.
//!
//! Comparing `Origin` with `Host` is not enough on its own: a site whose name
//! is rebound (DNS rebinding) to a Strangers server sends matching ones. With a
//! public origin set (`--public-origin`), only requests for that host are
//! served, and only pages of that origin may open `/ws`.

/// Which origins may open `/ws`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    /// Extra origins allowed besides the site's own, as `scheme://host[:port]`, lowercase.
    allowed: Vec<String>,
    /// The site's one public origin, if the operator named it.
    public: Option<PublicOrigin>,
}

/// The address people reach the site at, such as `https://chat.example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin {
    /// `scheme://host[:port]`, lowercase, without a default port.
    origin: String,
    /// `host[:port]` as a `Host` header carries it, without a default port.
    host: String,
    /// The port a `Host` may name explicitly and still mean this origin.
    default_port: &'static str,
}

impl PublicOrigin {
    /// Reads `http(s)://host[:port]` (no path, query or user); an error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = normalize(text);
        let (scheme, authority) = text
            .split_once("://")
            .ok_or("--public-origin: write it as https://your.host (with the scheme)")?;
        let default_port = match scheme {
            "https" => "443",
            "http" => "80",
            _ => return Err("--public-origin: the scheme must be http or https".into()),
        };
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err("--public-origin: only a scheme and a host (and a port), no path".into());
        }
        let host = without_port(authority, default_port).to_owned();
        Ok(PublicOrigin {
            origin: format!("{scheme}://{host}"),
            host,
            default_port,
        })
    }
}

/// `authority` without `:port` when it is the scheme's default.
fn without_port<'a>(authority: &'a str, default_port: &str) -> &'a str {
    match authority.rsplit_once(':') {
        Some((host, port)) if port == default_port && !host.ends_with(':') => host,
        _ => authority,
    }
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
            public: None,
        }
    }

    /// The same policy for a site served only at `public`.
    pub fn served_at(self, public: PublicOrigin) -> Self {
        OriginPolicy {
            public: Some(public),
            ..self
        }
    }

    /// Whether a request for `host` is served: any host, unless a public
    /// origin is set; then only its own.
    pub fn serves_host(&self, host: Option<&str>) -> bool {
        let Some(public) = &self.public else {
            return true;
        };
        host.map(normalize)
            .is_some_and(|host| without_port(&host, public.default_port) == public.host)
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
        if let Some(public) = &self.public {
            return origin == public.origin;
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
    fn with_a_public_origin_only_its_host_is_served_and_only_its_pages_connect() {
        let public = PublicOrigin::parse("https://Chat.Example.org/").unwrap();
        let policy = OriginPolicy::same_origin_only().served_at(public);
        assert!(policy.serves_host(Some("chat.example.org")));
        assert!(policy.serves_host(Some("chat.example.org:443")));
        assert!(!policy.serves_host(Some("chat.example.org:8443")));
        assert!(!policy.serves_host(Some("evil.example")));
        assert!(!policy.serves_host(None));
        assert!(policy.permits(Some("https://chat.example.org"), Some("chat.example.org")));
        assert!(
            !policy.permits(Some("http://evil.example"), Some("evil.example")),
            "a rebound name: Origin and Host agree, and it is still refused"
        );
        assert!(!policy.permits(Some("http://chat.example.org"), Some("chat.example.org")));
        assert!(OriginPolicy::same_origin_only().serves_host(Some("anything")));

        let local = PublicOrigin::parse("http://127.0.0.1:8080").unwrap();
        let policy = OriginPolicy::same_origin_only().served_at(local);
        assert!(policy.serves_host(Some("127.0.0.1:8080")));
        assert!(!policy.serves_host(Some("127.0.0.1")));
    }

    #[test]
    fn a_public_origin_is_a_scheme_and_a_host_only() {
        for bad in [
            "chat.example.org",
            "ftp://x.example",
            "https://",
            "https://x.example/chat",
            "https://u@x.example",
        ] {
            assert!(PublicOrigin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn programs_without_an_origin_may() {
        assert!(OriginPolicy::same_origin_only().permits(None, Some("x")));
    }
}
