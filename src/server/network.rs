//! Where strangers come from, and what is kept per network address: how many
//! chat connections it holds, how fast it opens new ones, reports against it,
//! and bans.
//!
//! No plain address is ever stored or logged. Each is reduced at once to an
//! [`AddressKey`]: a keyed hash (HMAC-SHA1 with an [`AddressSecret`] chosen at
//! random when the server starts), so the tables cannot be turned back into
//! addresses, and the keys of one run mean nothing in the next. Instances
//! sharing a Redis share one secret kept there, so that a ban reaches them all.
//! IPv6 addresses count by their /64 network, which is what one household or
//! phone gets.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use tokio::time::Instant;

use super::flood::{Rate, TokenBucket};

/// A network address, as a keyed hash. Written as 16 hex digits where it
/// leaves the process (to Redis, shared by instances).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(u64);

impl fmt::Display for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl serde::Serialize for AddressKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for AddressKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for AddressKey {
    type Err = std::num::ParseIntError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(text, 16).map(AddressKey)
    }
}

/// The key of the address hash: random, and never logged or sent to a client.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AddressSecret([u8; 16]);

impl AddressSecret {
    /// A fresh secret from the operating system's random source.
    pub fn random() -> Self {
        AddressSecret(uuid::Uuid::new_v4().into_bytes())
    }

    /// The secret as 32 hex digits, to share it with other instances.
    pub fn to_hex(self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Reads [`AddressSecret::to_hex`]'s form back; `None` for anything else.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(AddressSecret(bytes))
    }
}

impl fmt::Debug for AddressSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AddressSecret(..)")
    }
}

/// The limits kept per network address.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressLimits {
    /// Chat connections one address may hold at once (0: no limit).
    pub max_connections: u32,
    /// New chat connections one address may open per minute (0: no limit).
    pub new_per_minute: u32,
    /// Reports from this many different addresses within `report_window` ban an address.
    pub reports_to_ban: usize,
    /// How long a report counts.
    pub report_window: Duration,
    /// How long a ban lasts.
    pub ban_duration: Duration,
}

impl Default for AddressLimits {
    fn default() -> Self {
        AddressLimits {
            max_connections: 20,
            new_per_minute: 60,
            reports_to_ban: 3,
            report_window: Duration::from_secs(60 * 60),
            ban_duration: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// The close reason for a banned network's connections (the notice with the
/// time left comes in a message first).
pub const BANNED_REASON: &str = "Banned after reports from other strangers";

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address already holds its share of connections.
    TooMany,
    /// The address opened too many connections in the last minute.
    TooFast,
    /// The address is banned for this much longer.
    Banned(Duration),
}

impl Refusal {
    /// The sentence the browser shows (a WebSocket close reason: under 123 bytes).
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::TooMany => "Too many chats from your network. Close some tabs and try again.",
            Refusal::TooFast => {
                "Too many new chats from your network. Wait a minute and try again."
            }
            Refusal::Banned(_) => BANNED_REASON,
        }
    }
}

/// What came of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// Noted; not (yet) enough different reporters for a ban.
    Noted,
    /// Enough different reporters: the address is banned for this long.
    Banned(Duration),
}

/// Finds the client's address and keeps the per-address tables. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Gatekeeper {
    /// The key of the address hash.
    secret: AddressSecret,
    /// How many proxies in front of the server append to `X-Forwarded-For`.
    trusted_proxy_hops: usize,
    limits: AddressLimits,
    tables: Arc<Mutex<Tables>>,
}

#[derive(Debug, Default)]
struct Tables {
    /// Connection counts and new-connection buckets, for addresses with either in use.
    addresses: HashMap<AddressKey, Usage>,
    /// Reports per reported address: who reported (distinct addresses) and when.
    reports: HashMap<AddressKey, Vec<(AddressKey, Instant)>>,
    /// Banned addresses and when each ban ends.
    bans: HashMap<AddressKey, Instant>,
}

#[derive(Debug)]
struct Usage {
    open: u32,
    arrivals: TokenBucket,
}

/// A chat connection let in; dropping it gives its place back.
#[derive(Debug)]
pub struct Admission {
    address: AddressKey,
    gate: Gatekeeper,
}

impl Admission {
    /// The address this connection came from.
    pub fn address(&self) -> AddressKey {
        self.address
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut tables = self.gate.tables();
        if let Some(usage) = tables.addresses.get_mut(&self.address) {
            usage.open = usage.open.saturating_sub(1);
        }
    }
}

impl Gatekeeper {
    /// Empty tables with a fresh hash key. With `trusted_proxy_hops` above 0, the
    /// client's address is read from `X-Forwarded-For`, that many entries from
    /// the right (the ones our own proxies added); clients can forge the rest.
    pub fn new(limits: AddressLimits, trusted_proxy_hops: usize) -> Self {
        Gatekeeper::with_secret(limits, trusted_proxy_hops, AddressSecret::random())
    }

    /// Like [`Gatekeeper::new`], hashing addresses with `secret` (shared by
    /// every instance of the service, so their keys agree).
    pub fn with_secret(
        limits: AddressLimits,
        trusted_proxy_hops: usize,
        secret: AddressSecret,
    ) -> Self {
        Gatekeeper {
            secret,
            trusted_proxy_hops,
            limits,
            tables: Arc::default(),
        }
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The keyed hash of the client behind a request from `peer` with `headers`.
    pub fn address_of(&self, peer: SocketAddr, headers: &HeaderMap) -> AddressKey {
        let forwarded = (self.trusted_proxy_hops > 0)
            .then(|| forwarded_for(headers, self.trusted_proxy_hops))
            .flatten();
        self.key_of(forwarded.unwrap_or(peer.ip()))
    }

    /// The keyed hash of `ip` (of its /64 network for IPv6).
    pub fn key_of(&self, ip: IpAddr) -> AddressKey {
        let (family, network) = match ip.to_canonical() {
            IpAddr::V4(v4) => (4u8, u128::from(v4.to_bits())),
            IpAddr::V6(v6) => (6u8, v6.to_bits() >> 64),
        };
        let mut mac =
            Hmac::<Sha1>::new_from_slice(&self.secret.0).expect("HMAC takes keys of any length");
        mac.update(&[family]);
        mac.update(&network.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        AddressKey(u64::from_be_bytes(first))
    }

    /// The secret addresses are hashed with (to share it through Redis).
    pub fn secret(&self) -> AddressSecret {
        self.secret
    }

    /// Lets a new chat connection from `address` in, or says why not.
    pub fn admit(&self, address: AddressKey, now: Instant) -> Result<Admission, Refusal> {
        let limits = &self.limits;
        let mut tables = self.tables();
        if let Some(&until) = tables.bans.get(&address) {
            if until > now {
                return Err(Refusal::Banned(until - now));
            }
            tables.bans.remove(&address);
        }
        let per_minute = f64::from(limits.new_per_minute.max(1));
        let usage = tables.addresses.entry(address).or_insert_with(|| Usage {
            open: 0,
            arrivals: TokenBucket::new(
                Rate {
                    per_second: per_minute / 60.0,
                    burst: per_minute,
                },
                now,
            ),
        });
        if limits.max_connections > 0 && usage.open >= limits.max_connections {
            return Err(Refusal::TooMany);
        }
        if limits.new_per_minute > 0 && !usage.arrivals.take(now) {
            return Err(Refusal::TooFast);
        }
        usage.open += 1;
        Ok(Admission {
            address,
            gate: self.clone(),
        })
    }

    /// `reporter` reports the stranger at `reported`. Reports from one address
    /// count once; enough different reporters within the window ban `reported`.
    pub fn report(&self, reporter: AddressKey, reported: AddressKey, now: Instant) -> Reported {
        let limits = &self.limits;
        let mut tables = self.tables();
        let reports = tables.reports.entry(reported).or_default();
        reports.retain(|&(from, at)| {
            from != reporter && now.duration_since(at) < limits.report_window
        });
        reports.push((reporter, now));
        if reports.len() < limits.reports_to_ban.max(1) {
            return Reported::Noted;
        }
        tables.reports.remove(&reported);
        tables.bans.insert(reported, now + limits.ban_duration);
        Reported::Banned(limits.ban_duration)
    }

    /// Bans `address` for `remaining` from `now`, as decided elsewhere (by the
    /// reports counted in Redis, for every instance).
    pub fn ban(&self, address: AddressKey, remaining: Duration, now: Instant) {
        let mut tables = self.tables();
        tables.reports.remove(&address);
        tables.bans.insert(address, now + remaining);
    }

    /// Lifts the ban on `address` (an operator's decision), here.
    pub fn unban(&self, address: AddressKey) {
        self.tables().bans.remove(&address);
    }

    /// Forgets what no longer matters: ended bans, old reports, idle addresses.
    pub fn sweep(&self, now: Instant) {
        let window = self.limits.report_window;
        let mut tables = self.tables();
        tables.bans.retain(|_, until| *until > now);
        tables.reports.retain(|_, reports| {
            reports.retain(|&(_, at)| now.duration_since(at) < window);
            !reports.is_empty()
        });
        tables
            .addresses
            .retain(|_, usage| usage.open > 0 || !usage.arrivals.is_full(now));
    }

    /// How many addresses the tables hold (connections, reports, bans). For tests.
    pub fn remembered(&self) -> (usize, usize, usize) {
        let tables = self.tables();
        (
            tables.addresses.len(),
            tables.reports.len(),
            tables.bans.len(),
        )
    }
}

/// The client address in `X-Forwarded-For`, `hops` entries from the right.
/// `None` if the header is missing, too short or not an address.
fn forwarded_for(headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let entry = entries.len().checked_sub(hops).map(|i| entries[i])?;
    entry.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(limits: AddressLimits) -> Gatekeeper {
        Gatekeeper::new(limits, 0)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn instances_sharing_a_secret_hash_addresses_alike_and_keys_survive_being_written_out() {
        let secret = AddressSecret::random();
        let shared = |hops| Gatekeeper::with_secret(AddressLimits::default(), hops, secret);
        let (one, two) = (shared(0), shared(1));
        let key = one.key_of(ip("203.0.113.9"));
        assert_eq!(key, two.key_of(ip("203.0.113.9")));
        assert_ne!(
            key,
            gate(AddressLimits::default()).key_of(ip("203.0.113.9"))
        );

        assert_eq!(AddressSecret::from_hex(&secret.to_hex()), Some(secret));
        assert_eq!(key.to_string().parse(), Ok(key));
        assert_eq!(key.to_string().len(), 16);
        for garbage in ["", "zz", &"g".repeat(32), &"é".repeat(16)] {
            assert_eq!(AddressSecret::from_hex(garbage), None, "{garbage}");
        }
        assert!(!format!("{secret:?}").contains(&secret.to_hex()[..8]));
    }

    #[test]
    fn addresses_are_hashed_with_a_key_of_this_run_and_ipv6_counts_per_network() {
        let one = gate(AddressLimits::default());
        let other = gate(AddressLimits::default());
        assert_eq!(one.key_of(ip("203.0.113.9")), one.key_of(ip("203.0.113.9")));
        assert_ne!(
            one.key_of(ip("203.0.113.9")),
            one.key_of(ip("203.0.113.10"))
        );
        assert_ne!(
            one.key_of(ip("203.0.113.9")),
            other.key_of(ip("203.0.113.9")),
            "another run, another key"
        );
        assert_eq!(
            one.key_of(ip("2001:db8:1:2::1")),
            one.key_of(ip("2001:db8:1:2:ffff::9")),
            "one /64 is one household"
        );
        assert_ne!(
            one.key_of(ip("2001:db8:1:2::1")),
            one.key_of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            one.key_of(ip("::ffff:203.0.113.9")),
            one.key_of(ip("203.0.113.9"))
        );
    }

    #[test]
    fn forwarded_for_is_read_only_when_trusted_and_from_the_right() {
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.1, 203.0.113.7".parse().unwrap(),
        );
        let untrusting = gate(AddressLimits::default());
        assert_eq!(
            untrusting.address_of(peer, &headers),
            untrusting.key_of(peer.ip())
        );

        let behind_one = Gatekeeper::new(AddressLimits::default(), 1);
        assert_eq!(
            behind_one.address_of(peer, &headers),
            behind_one.key_of(ip("203.0.113.7")),
            "the entry our proxy added, not the one the client wrote"
        );
        let behind_three = Gatekeeper::new(AddressLimits::default(), 3);
        assert_eq!(
            behind_three.address_of(peer, &headers),
            behind_three.key_of(peer.ip()),
            "too short: fall back to the peer"
        );
        headers.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(
            behind_one.address_of(peer, &headers),
            behind_one.key_of(peer.ip())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_holds_a_limited_number_of_connections() {
        let limits = AddressLimits {
            max_connections: 2,
            ..AddressLimits::default()
        };
        let gate = gate(limits);
        let home = gate.key_of(ip("203.0.113.9"));
        let first = gate.admit(home, Instant::now()).unwrap();
        let _second = gate.admit(home, Instant::now()).unwrap();
        assert_eq!(
            gate.admit(home, Instant::now()).unwrap_err(),
            Refusal::TooMany
        );
        let elsewhere = gate.key_of(ip("203.0.113.10"));
        assert!(
            gate.admit(elsewhere, Instant::now()).is_ok(),
            "others are not affected"
        );
        drop(first);
        assert!(
            gate.admit(home, Instant::now()).is_ok(),
            "a closed connection frees its place"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_opens_a_limited_number_of_connections_a_minute() {
        let gate = gate(AddressLimits {
            new_per_minute: 3,
            ..AddressLimits::default()
        });
        let home = gate.key_of(ip("203.0.113.9"));
        for _ in 0..3 {
            drop(gate.admit(home, Instant::now()).unwrap());
        }
        assert_eq!(
            gate.admit(home, Instant::now()).unwrap_err(),
            Refusal::TooFast
        );
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(
            gate.admit(home, Instant::now()).is_ok(),
            "one more every 20 s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reports_from_enough_different_addresses_ban_for_a_while() {
        let limits = AddressLimits::default();
        let gate = gate(limits.clone());
        let troll = gate.key_of(ip("198.51.100.66"));
        let [a, b, c] = ["203.0.113.1", "203.0.113.2", "203.0.113.3"].map(|x| gate.key_of(ip(x)));
        assert_eq!(gate.report(a, troll, Instant::now()), Reported::Noted);
        assert_eq!(
            gate.report(a, troll, Instant::now()),
            Reported::Noted,
            "one reporter counts once, however often"
        );
        assert_eq!(gate.report(b, troll, Instant::now()), Reported::Noted);
        assert!(gate.admit(troll, Instant::now()).is_ok());
        assert_eq!(
            gate.report(c, troll, Instant::now()),
            Reported::Banned(limits.ban_duration)
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(
            gate.admit(troll, Instant::now()).unwrap_err(),
            Refusal::Banned(limits.ban_duration - Duration::from_secs(60))
        );
        tokio::time::advance(limits.ban_duration).await;
        assert!(gate.admit(troll, Instant::now()).is_ok(), "bans end");
    }

    #[tokio::test(start_paused = true)]
    async fn a_ban_decided_elsewhere_turns_the_network_away_until_it_ends() {
        let gate = gate(AddressLimits::default());
        let troll = gate.key_of(ip("198.51.100.66"));
        let reporter = gate.key_of(ip("203.0.113.1"));
        gate.report(reporter, troll, Instant::now());
        gate.ban(troll, Duration::from_secs(90), Instant::now());
        assert_eq!(gate.remembered(), (0, 0, 1), "its reports are done with");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            gate.admit(troll, Instant::now()).unwrap_err(),
            Refusal::Banned(Duration::from_secs(60))
        );
        assert!(gate.admit(reporter, Instant::now()).is_ok());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(gate.admit(troll, Instant::now()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn old_reports_expire_and_the_tables_forget_idle_addresses() {
        let limits = AddressLimits::default();
        let gate = gate(limits.clone());
        let troll = gate.key_of(ip("198.51.100.66"));
        let [a, b, c] = ["203.0.113.1", "203.0.113.2", "203.0.113.3"].map(|x| gate.key_of(ip(x)));
        gate.report(a, troll, Instant::now());
        gate.report(b, troll, Instant::now());
        tokio::time::advance(limits.report_window).await;
        assert_eq!(
            gate.report(c, troll, Instant::now()),
            Reported::Noted,
            "the first two expired"
        );

        drop(gate.admit(a, Instant::now()).unwrap());
        tokio::time::advance(limits.report_window).await;
        gate.sweep(Instant::now());
        assert_eq!(gate.remembered(), (0, 0, 0));
    }
}
