//! The server's configuration: command-line flags, each with an environment
//! variable twin and a default, all listed by `strangers --help`.
//!
//! A value that cannot be used stops the server at startup with a message that
//! names the flag, rather than a server running without what the operator asked for.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use ipnet::IpNet;

use super::Settings;
use super::challenge::{ChallengeMode, ChallengePolicy};
use super::documents::{Contact, Document, SitePages};
use super::flood::Rate;
use super::ice::{self, IceConfig};
use super::network::{AddressLimits, Proxies};
use super::origin::{OriginPolicy, PublicOrigin};
use crate::protocol::{IceServer, MAX_CHALLENGE_NUMBER};

/// Strangers: anonymous one-to-one chat with a random stranger.
#[derive(Debug, Clone, Parser)]
#[command(name = "strangers", version, about, max_term_width = 100)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Origins, besides the site's own, whose pages may open /ws (comma-separated,
    /// e.g. https://chat.example.org).
    #[arg(long, env = "STRANGERS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// How long a stranger with interests waits for a shared one before anyone will do (ms).
    #[arg(long, env = "STRANGERS_INTEREST_TIMEOUT_MS", default_value_t = 5000)]
    pub interest_timeout_ms: u64,

    /// How often, at most, the online count is pushed to everyone (ms).
    #[arg(long, env = "STRANGERS_ONLINE_INTERVAL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(50..))]
    pub online_interval_ms: u64,

    /// How often each connection is pinged (ms).
    #[arg(long, env = "STRANGERS_PING_INTERVAL_MS", default_value_t = 20_000,
          value_parser = clap::value_parser!(u64).range(50..))]
    pub ping_interval_ms: u64,

    /// How long past a ping interval a silent connection counts as gone (ms).
    #[arg(long, env = "STRANGERS_PONG_TIMEOUT_MS", default_value_t = 20_000)]
    pub pong_timeout_ms: u64,

    /// Chat messages (and joins, leaves, reports) one connection may send per second.
    #[arg(long, env = "STRANGERS_MESSAGES_PER_SECOND", default_value_t = 10.0)]
    pub messages_per_second: f64,

    /// How many of those may come in a burst.
    #[arg(long, env = "STRANGERS_MESSAGE_BURST", default_value_t = 20.0)]
    pub message_burst: f64,

    /// Typing notices one connection may send per second.
    #[arg(long, env = "STRANGERS_TYPING_PER_SECOND", default_value_t = 2.0)]
    pub typing_per_second: f64,

    /// How many typing notices may come in a burst.
    #[arg(long, env = "STRANGERS_TYPING_BURST", default_value_t = 6.0)]
    pub typing_burst: f64,

    /// Video call setup messages one connection may send per second.
    #[arg(long, env = "STRANGERS_SIGNALS_PER_SECOND", default_value_t = 10.0)]
    pub signals_per_second: f64,

    /// How many call setup messages may come in a burst.
    #[arg(long, env = "STRANGERS_SIGNAL_BURST", default_value_t = 60.0)]
    pub signal_burst: f64,

    /// STUN/TURN servers for video calls: a JSON list of RTCIceServer objects.
    #[arg(long, env = "STRANGERS_ICE_SERVERS", default_value = "[]",
          value_parser = parse_ice_servers)]
    pub ice_servers: IceServers,

    /// The secret shared with the TURN server (coturn's static-auth-secret), to make
    /// short-lived passwords for TURN servers listed without a username.
    #[arg(long, env = "STRANGERS_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,

    /// How long such a password is good for, from the start of the call (s).
    #[arg(
        long,
        env = "STRANGERS_TURN_CREDENTIAL_LIFETIME_S",
        default_value_t = 86_400
    )]
    pub turn_credential_lifetime_s: u64,

    /// Chat connections one network address may hold at once (0: no limit).
    #[arg(
        long,
        env = "STRANGERS_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 20
    )]
    pub max_connections_per_address: u32,

    /// New chat connections one network address may open per minute (0: no limit).
    #[arg(
        long,
        env = "STRANGERS_NEW_CONNECTIONS_PER_MINUTE",
        default_value_t = 60
    )]
    pub new_connections_per_minute: u32,

    /// Plain HTTP connections one network address may hold open at once (0: no
    /// limit; trusted proxies are not counted).
    #[arg(
        long,
        env = "STRANGERS_MAX_HTTP_CONNECTIONS_PER_ADDRESS",
        default_value_t = 64
    )]
    pub max_http_connections_per_address: u32,

    /// How many reverse proxies in front of the server append to X-Forwarded-For
    /// (0: ignore the header; clients can forge it).
    #[arg(long, env = "STRANGERS_TRUSTED_PROXY_HOPS", default_value_t = 0)]
    pub trusted_proxy_hops: usize,

    /// Which peers may set X-Forwarded-For (comma-separated addresses or CIDR
    /// networks); from anyone else it is ignored.
    #[arg(long, env = "STRANGERS_TRUSTED_PROXIES", value_delimiter = ',',
          default_value = "127.0.0.0/8,::1/128", value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

    /// The address people reach the site at, e.g. https://chat.example.org: requests
    /// for any other host are refused (421), and only its pages may open /ws.
    #[arg(long, env = "STRANGERS_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,

    /// IPv6 addresses sharing this many leading bits are one network for reports
    /// and bans (connection caps stay per /64).
    #[arg(long, env = "STRANGERS_IPV6_NETWORK_BITS", default_value_t = 48,
          value_parser = clap::value_parser!(u8).range(16..=64))]
    pub ipv6_network_bits: u8,

    /// Reports from this many different networks ban the reported one.
    #[arg(long, env = "STRANGERS_REPORTS_TO_BAN", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub reports_to_ban: u64,

    /// How long a report counts (s).
    #[arg(long, env = "STRANGERS_REPORT_WINDOW_S", default_value_t = 3600)]
    pub report_window_s: u64,

    /// A report counts toward a ban only if the chat lasted this long (s)...
    #[arg(long, env = "STRANGERS_REPORT_MIN_CHAT_S", default_value_t = 10)]
    pub report_min_chat_s: u64,

    /// ...or the reported stranger sent something (a message, or their camera).
    #[arg(long, env = "STRANGERS_REPORT_COUNTS_IF_SENT", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub report_counts_if_sent: bool,

    /// How many of one network's reports count toward bans in a day (0: all).
    #[arg(
        long,
        env = "STRANGERS_REPORTS_PER_NETWORK_PER_DAY",
        default_value_t = 10
    )]
    pub reports_per_network_per_day: u32,

    /// How long a network's first automatic ban lasts (s).
    #[arg(long, env = "STRANGERS_BAN_S", default_value_t = 3600)]
    pub ban_s: u64,

    /// Each further automatic ban of a network lasts this many times longer.
    #[arg(long, env = "STRANGERS_BAN_GROWTH", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ban_growth: u32,

    /// No automatic ban lasts longer than this (s).
    #[arg(long, env = "STRANGERS_MAX_BAN_S", default_value_t = 604_800)]
    pub max_ban_s: u64,

    /// How long a past ban counts as a previous offence (days).
    #[arg(long, env = "STRANGERS_OFFENCE_MEMORY_DAYS", default_value_t = 30)]
    pub offence_memory_days: u64,

    /// When new connections must pass the bot check (a proof of work in the browser).
    #[arg(long, env = "STRANGERS_CHALLENGE", value_enum, default_value_t = ChallengeMode::Suspicious)]
    pub challenge: ChallengeMode,

    /// How hard the bot check is: the largest secret number (a browser tries half
    /// as many SHA-256 hashes on average).
    #[arg(long, env = "STRANGERS_CHALLENGE_MAX_NUMBER", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=MAX_CHALLENGE_NUMBER))]
    pub challenge_max_number: u64,

    /// How long a write may wait for a client that does not read before the
    /// connection is dropped (s).
    #[arg(long, env = "STRANGERS_WRITE_TIMEOUT_S", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub write_timeout_s: u64,

    /// How long a client may take to send a request's headers, the WebSocket
    /// handshake included (s).
    #[arg(long, env = "STRANGERS_HEADER_TIMEOUT_S", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_s: u64,

    /// How long shutdown waits for every stranger to be told before exiting anyway (s).
    #[arg(long, env = "STRANGERS_SHUTDOWN_TIMEOUT_S", default_value_t = 10)]
    pub shutdown_timeout_s: u64,

    /// How long, once asked to stop (SIGTERM), to go on serving with /readyz at 503,
    /// so a load balancer moves new visitors elsewhere first (s).
    #[arg(long, env = "STRANGERS_DRAIN_S", default_value_t = 0)]
    pub drain_s: u64,

    /// Share matchmaking and chats with every other instance using this Redis,
    /// e.g. redis://127.0.0.1:6379, or one Sentinel watches, e.g.
    /// redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/strangers
    /// (unset: this instance alone, in memory).
    #[arg(long, env = "STRANGERS_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Your own rules page instead of the default: a Markdown (.md) or HTML (.html) file.
    #[arg(long, env = "STRANGERS_RULES_FILE")]
    pub rules_file: Option<PathBuf>,

    /// Your own privacy page instead of the default: a Markdown (.md) or HTML (.html) file.
    #[arg(long, env = "STRANGERS_PRIVACY_FILE")]
    pub privacy_file: Option<PathBuf>,

    /// How visitors reach you: an e-mail address or an http(s) address.
    #[arg(long, env = "STRANGERS_CONTACT")]
    pub contact: Option<String>,

    /// The token that opens the operator console at /admin (unset: no console, /admin is 404).
    #[arg(long, env = "STRANGERS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// How long reports are kept for the operator before they are deleted (days).
    #[arg(long, env = "STRANGERS_REPORT_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub report_retention_days: u64,
}

/// Libraries whose own debug and trace output would carry what must never be
/// logged: the WebSocket library prints frames (chat text), the HTTP library
/// headers (`X-Forwarded-For`), the Redis client commands (relayed messages).
/// They are held at `info` whatever `RUST_LOG` says.
const QUIET_TARGETS: [&str; 6] = [
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "h2",
    "redis",
];

/// The log filter: `RUST_LOG` (default `info`), with [`QUIET_TARGETS`] capped.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let mut filter = tracing_subscriber::EnvFilter::try_new(rust_log.unwrap_or("info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for target in QUIET_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// The shortest operator token accepted: a guessable token would open the
/// console to anyone.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// The parsed `--ice-servers` list.
#[derive(Debug, Clone)]
pub struct IceServers(pub Vec<IceServer>);

/// A CIDR network, or a single address (as its own network).
fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a network like 10.0.0.0/8"))
}

fn parse_ice_servers(json: &str) -> Result<IceServers, String> {
    ice::parse_ice_servers(json).map(IceServers)
}

impl Config {
    /// The settings the server runs with. Fails if the TURN servers cannot be
    /// logged into, or a rate is not a positive number.
    pub fn settings(&self) -> Result<Settings, String> {
        let rate = |name: &str, per_second: f64, burst: f64| {
            if per_second > 0.0 && burst >= 1.0 {
                Ok(Rate { per_second, burst })
            } else {
                Err(format!(
                    "--{name}: rates must be above 0 and bursts at least 1"
                ))
            }
        };
        let ice = IceConfig::new(
            self.ice_servers.0.clone(),
            self.turn_secret.clone().filter(|s| !s.is_empty()),
            Duration::from_secs(self.turn_credential_lifetime_s),
        )?;
        let admin_token = self.admin_token.clone().filter(|t| !t.is_empty());
        if admin_token
            .as_ref()
            .is_some_and(|t| t.chars().count() < MIN_ADMIN_TOKEN_CHARS)
        {
            return Err(format!(
                "--admin-token: use at least {MIN_ADMIN_TOKEN_CHARS} characters (a long random one)"
            ));
        }
        let pages = SitePages {
            rules: self
                .rules_file
                .as_deref()
                .map(|path| Document::load("rules-file", path))
                .transpose()?,
            privacy: self
                .privacy_file
                .as_deref()
                .map(|path| Document::load("privacy-file", path))
                .transpose()?,
            contact: self
                .contact
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(Contact::parse)
                .transpose()?,
        };
        let mut origins = if self.allowed_origins.is_empty() {
            OriginPolicy::same_origin_only()
        } else {
            OriginPolicy::allowing(self.allowed_origins.iter().map(String::as_str))
        };
        if let Some(public) = self.public_origin.as_deref().filter(|o| !o.is_empty()) {
            origins = origins.served_at(PublicOrigin::parse(public)?);
        }
        Ok(Settings {
            interest_timeout: Duration::from_millis(self.interest_timeout_ms),
            online_interval: Duration::from_millis(self.online_interval_ms),
            origins,
            message_rate: rate(
                "messages-per-second",
                self.messages_per_second,
                self.message_burst,
            )?,
            typing_rate: rate(
                "typing-per-second",
                self.typing_per_second,
                self.typing_burst,
            )?,
            signal_rate: rate(
                "signals-per-second",
                self.signals_per_second,
                self.signal_burst,
            )?,
            ice,
            ping_interval: Duration::from_millis(self.ping_interval_ms),
            pong_timeout: Duration::from_millis(self.pong_timeout_ms),
            limits: AddressLimits {
                max_connections: self.max_connections_per_address,
                new_per_minute: self.new_connections_per_minute,
                max_http_connections: self.max_http_connections_per_address,
                reports_to_ban: self.reports_to_ban as usize,
                report_window: Duration::from_secs(self.report_window_s),
                report_min_chat: Duration::from_secs(self.report_min_chat_s),
                report_counts_if_sent: self.report_counts_if_sent,
                reports_per_day: self.reports_per_network_per_day,
                ban_duration: Duration::from_secs(self.ban_s),
                ban_growth: self.ban_growth,
                max_ban: Duration::from_secs(self.max_ban_s),
                offence_memory: Duration::from_secs(self.offence_memory_days * 24 * 60 * 60),
                ipv6_network_bits: self.ipv6_network_bits,
            },
            proxies: Proxies {
                hops: self.trusted_proxy_hops,
                trusted: self.trusted_proxies.clone(),
            },
            challenge: ChallengePolicy {
                mode: self.challenge,
                max_number: self.challenge_max_number,
            },
            write_timeout: Duration::from_secs(self.write_timeout_s),
            header_timeout: Duration::from_secs(self.header_timeout_s),
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout_s),
            drain: Duration::from_secs(self.drain_s),
            redis_url: self.redis_url.clone().filter(|url| !url.is_empty()),
            pages,
            admin_token,
            report_retention: Duration::from_secs(self.report_retention_days * 24 * 60 * 60),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("strangers").chain(args.iter().copied()))
    }

    #[test]
    fn the_flag_defaults_are_the_documented_defaults() {
        let config = Config::try_parse_from(["strangers"]).unwrap();
        let settings = config.settings().unwrap();
        let defaults = Settings::default();
        assert_eq!(settings.interest_timeout, defaults.interest_timeout);
        assert_eq!(settings.online_interval, defaults.online_interval);
        assert_eq!(settings.message_rate, defaults.message_rate);
        assert_eq!(settings.typing_rate, defaults.typing_rate);
        assert_eq!(settings.signal_rate, defaults.signal_rate);
        assert_eq!(settings.ping_interval, defaults.ping_interval);
        assert_eq!(settings.pong_timeout, defaults.pong_timeout);
        assert_eq!(settings.limits, defaults.limits);
        assert_eq!(settings.proxies, defaults.proxies);
        assert_eq!(settings.challenge, defaults.challenge);
        assert_eq!(settings.write_timeout, defaults.write_timeout);
        assert_eq!(settings.origins, defaults.origins);
        assert_eq!(settings.header_timeout, defaults.header_timeout);
        assert_eq!(settings.shutdown_timeout, defaults.shutdown_timeout);
        assert_eq!(settings.drain, defaults.drain);
        assert_eq!(settings.report_retention, defaults.report_retention);
        assert_eq!(settings.admin_token, None);
        assert!(!settings.ice.relays());
    }

    #[test]
    fn flags_set_what_they_say() {
        let config = parse(&[
            "--listen=0.0.0.0:8080",
            "--allowed-origins=https://a.example,https://b.example",
            "--max-connections-per-address=5",
            "--ice-servers=[{\"urls\":\"turn:t.example.org\"}]",
            "--turn-secret=s3cret",
            "--messages-per-second=3",
            "--ban-s=60",
            "--trusted-proxy-hops=1",
            "--trusted-proxies=10.0.0.0/8, 192.0.2.7",
            "--challenge=always",
            "--report-counts-if-sent=false",
            "--public-origin=https://chat.example.org",
        ])
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:8080".parse().unwrap());
        let settings = config.settings().unwrap();
        assert_eq!(settings.limits.max_connections, 5);
        assert_eq!(settings.limits.ban_duration, Duration::from_secs(60));
        assert!(!settings.limits.report_counts_if_sent);
        assert!(settings.proxies.trusts("192.0.2.7".parse().unwrap()));
        assert!(settings.proxies.trusts("10.9.8.7".parse().unwrap()));
        assert!(!settings.proxies.trusts("127.0.0.1".parse().unwrap()));
        assert_eq!(settings.challenge.mode, ChallengeMode::Always);
        assert!(!settings.origins.serves_host(Some("evil.example")));
        assert_eq!(settings.message_rate.per_second, 3.0);
        assert!(settings.ice.relays());
        assert!(
            settings
                .origins
                .permits(Some("https://b.example"), Some("x"))
        );
    }

    #[test]
    fn unusable_values_are_refused_naming_the_flag() {
        let error = parse(&["--ice-servers=stun:nope"]).unwrap_err().to_string();
        assert!(error.contains("--ice-servers"), "{error}");
        let error = parse(&["--header-timeout-s=0"]).unwrap_err().to_string();
        assert!(error.contains("--header-timeout-s"), "{error}");
        let turn = parse(&["--ice-servers=[{\"urls\":\"turn:t.example.org\"}]"]).unwrap();
        assert!(
            turn.settings()
                .unwrap_err()
                .contains("STRANGERS_TURN_SECRET")
        );
        let zero = parse(&["--typing-per-second=0"]).unwrap();
        assert!(zero.settings().unwrap_err().contains("--typing-per-second"));
        let short = parse(&["--admin-token=hunter2"]).unwrap();
        assert!(short.settings().unwrap_err().contains("--admin-token"));
        let contact = parse(&["--contact=nobody"]).unwrap();
        assert!(contact.settings().unwrap_err().contains("--contact"));
        let origin = parse(&["--public-origin=chat.example.org"]).unwrap();
        assert!(origin.settings().unwrap_err().contains("--public-origin"));
        let error = parse(&["--trusted-proxies=10.0.0.0/33"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--trusted-proxies"), "{error}");
        let error = parse(&["--challenge=sometimes"]).unwrap_err().to_string();
        assert!(error.contains("--challenge"), "{error}");
        let rules = parse(&["--rules-file=/nonexistent/rules.md"]).unwrap();
        assert!(rules.settings().unwrap_err().contains("--rules-file"));
        let error = parse(&["--report-retention-days=0"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--report-retention-days"), "{error}");
    }

    #[test]
    fn every_flag_and_its_variable_is_in_the_readme() {
        let readme = include_str!("../../README.md");
        for arg in Config::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long == "help" || long == "version" {
                continue;
            }
            assert!(
                readme.contains(&format!("--{long}")),
                "README lacks --{long}"
            );
            let env = arg.get_env().and_then(|e| e.to_str()).unwrap();
            assert!(readme.contains(env), "README lacks {env}");
        }
    }
}
