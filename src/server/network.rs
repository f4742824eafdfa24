//! Where strangers come from, and what is kept per network address: how many
//! chat connections it holds, how fast it opens new ones, reports against it,
//! and bans.
//!
//! No plain address is ever stored or logged. Each is reduced at once to an
//! [`AddressKey`]: a keyed hash (HMAC-SHA1 with an [`AddressSecret`] chosen at
//! random when the server starts), so the tables cannot be turned back into
//! addresses, and the keys of one run mean nothing in the next. Instances
//! sharing a Redis share one secret kept there, so that a ban reaches them all.
//! IPv6 addresses are counted twice over: connection caps per /64 (what one
//! household or phone gets), reports and bans per /48 (what one customer can
//! draw addresses from), so a block of addresses does not make many people.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use ipnet::IpNet;
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
        crate::protocol::from_hex(text)?
            .try_into()
            .ok()
            .map(AddressSecret)
    }
}

impl fmt::Debug for AddressSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AddressSecret(..)")
    }
}

/// Where a client's address comes from: the TCP peer, or, when the peer is one
/// of our own reverse proxies, the `X-Forwarded-For` entry that proxy added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxies {
    /// How many proxies in front of the server append to `X-Forwarded-For`
    /// (0: the header is ignored).
    pub hops: usize,
    /// Which peers may set the header. From anyone else it is ignored: whoever
    /// reaches the port directly could otherwise claim any address.
    pub trusted: Vec<IpNet>,
}

impl Proxies {
    /// No proxy: the TCP peer is the client.
    pub fn none() -> Self {
        Proxies {
            hops: 0,
            trusted: Self::loopback(),
        }
    }

    /// `hops` proxies on this machine (the deploy kit's Caddy or nginx).
    pub fn behind(hops: usize) -> Self {
        Proxies {
            hops,
            trusted: Self::loopback(),
        }
    }

    /// This machine's own addresses, the default for `--trusted-proxies`.
    pub fn loopback() -> Vec<IpNet> {
        ["127.0.0.0/8", "::1/128"]
            .iter()
            .map(|net| net.parse().expect("a valid network"))
            .collect()
    }

    /// Whether `peer` may tell us who the client is.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.hops > 0 && self.trusted.iter().any(|net| net.contains(&peer))
    }
}

impl Default for Proxies {
    fn default() -> Self {
        Proxies::none()
    }
}

/// A trusted proxy's `X-Forwarded-For` names no usable address where the
/// client's should be (a port, brackets, an empty entry). Refused (400) rather
/// than read as the proxy's own address, which would lump everyone together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadForwarding;

/// Who a client is, as far as the limits go: two keys, because one person's
/// address block is bigger than what one connection says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress {
    /// The address itself: an IPv4 address, or an IPv6 /64 (what one household
    /// or phone gets). Connection caps count here.
    pub household: AddressKey,
    /// The network: the same for IPv4; for IPv6 the block one customer can
    /// draw addresses from (a /48 by default). Reports, bans and bot checks
    /// count here, so someone with 65,536 /64s still counts once.
    pub network: AddressKey,
}

/// The limits kept per network address.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressLimits {
    /// Chat connections one address may hold at once (0: no limit).
    pub max_connections: u32,
    /// New chat connections one address may open per minute (0: no limit).
    pub new_per_minute: u32,
    /// Plain HTTP connections one address may hold open at once (0: no
    /// limit). Not counted for trusted proxies, which carry everyone.
    pub max_http_connections: u32,
    /// Reports from this many different networks within `report_window` ban a network.
    pub reports_to_ban: usize,
    /// How long a report counts.
    pub report_window: Duration,
    /// A report counts toward a ban only if the chat lasted this long...
    pub report_min_chat: Duration,
    /// ...or (when true) the reported stranger sent something: a message, or
    /// their camera in a video chat. An instant report of someone silent is
    /// kept for the operator but bans nobody.
    pub report_counts_if_sent: bool,
    /// How many of one network's reports count toward bans in a day (0: all).
    pub reports_per_day: u32,
    /// How long a network's first automatic ban lasts.
    pub ban_duration: Duration,
    /// Each further automatic ban lasts this many times longer than the last.
    pub ban_growth: u32,
    /// No automatic ban lasts longer than this.
    pub max_ban: Duration,
    /// How long a past ban counts as a previous offence.
    pub offence_memory: Duration,
    /// IPv6 addresses sharing this many leading bits are one network for
    /// reports and bans (connection caps stay per /64).
    pub ipv6_network_bits: u8,
}

impl Default for AddressLimits {
    fn default() -> Self {
        AddressLimits {
            max_connections: 20,
            new_per_minute: 60,
            max_http_connections: 64,
            reports_to_ban: 3,
            report_window: Duration::from_secs(60 * 60),
            report_min_chat: Duration::from_secs(10),
            report_counts_if_sent: true,
            reports_per_day: 10,
            ban_duration: Duration::from_secs(60 * 60),
            ban_growth: 4,
            max_ban: Duration::from_secs(7 * DAY_S),
            offence_memory: Duration::from_secs(30 * DAY_S),
            ipv6_network_bits: 48,
        }
    }
}

/// Seconds in a day.
const DAY_S: u64 = 24 * 60 * 60;

/// How long a network that tripped a limit (too many new connections,
/// flooding, a counted report) must prove it is not a bot before joining.
pub const SUSPICION: Duration = Duration::from_secs(10 * 60);

impl AddressLimits {
    /// How long an automatic ban lasts for a network banned `previous` times
    /// within the offence memory: short the first time (one shared address may
    /// be many people), longer each time it happens again.
    pub fn ban_for(&self, previous: u32) -> Duration {
        let factor = u64::from(self.ban_growth.max(1)).saturating_pow(previous);
        let secs = self.ban_duration.as_secs().saturating_mul(factor);
        Duration::from_secs(secs).min(self.max_ban.max(self.ban_duration))
    }

    /// Whether a report of a chat that lasted `lasted`, in which the reported
    /// stranger sent something or not, counts toward a ban.
    pub fn report_counts(&self, lasted: Duration, reported_sent: bool) -> bool {
        lasted >= self.report_min_chat || (self.report_counts_if_sent && reported_sent)
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
    /// Kept for the operator, but it does not count toward a ban: the chat was
    /// too short and the stranger silent, or the reporter's network has used
    /// its reports for the day.
    NotCounted,
    /// Counted; not (yet) enough different reporters for a ban.
    Noted,
    /// Enough different reporters: the network is banned for this long.
    Banned(Duration),
}

/// Finds the client's address and keeps the per-address tables. Cheap to
/// clone, and one pointer wide: every connection holds it.
#[derive(Debug, Clone)]
pub struct Gatekeeper(Arc<Gate>);

/// What a [`Gatekeeper`] shares with its clones.
#[derive(Debug)]
struct Gate {
    /// The key of the address hash.
    secret: AddressSecret,
    /// Which proxies may say who the client is.
    proxies: Proxies,
    limits: AddressLimits,
    tables: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    /// Connection counts and new-connection buckets, per household, for those with either in use.
    addresses: HashMap<AddressKey, Usage>,
    /// Counted reports per reported network: who reported (distinct networks) and when.
    reports: HashMap<AddressKey, Vec<(AddressKey, Instant)>>,
    /// Banned networks and when each ban ends.
    bans: HashMap<AddressKey, Instant>,
    /// Per reporting network: when its day of reports began, and how many counted.
    reporting: HashMap<AddressKey, (Instant, u32)>,
    /// Per banned network: how many automatic bans, and when the last began.
    offences: HashMap<AddressKey, (u32, Instant)>,
    /// Networks that must prove they are not bots, until when.
    suspects: HashMap<AddressKey, Instant>,
    /// Open plain HTTP connections per household, for those with any.
    http: HashMap<AddressKey, u32>,
}

#[derive(Debug)]
struct Usage {
    open: u32,
    arrivals: TokenBucket,
}

/// A chat connection let in; dropping it gives its place back.
#[derive(Debug)]
pub struct Admission {
    client: ClientAddress,
    /// Whether its network tripped a limit lately (it must prove it is not a bot
    /// before joining, unless bot checks are off).
    suspect: bool,
    gate: Gatekeeper,
}

impl Admission {
    /// The network this connection came from (for reports and bans).
    pub fn address(&self) -> AddressKey {
        self.client.network
    }

    /// Whether its network tripped a limit lately.
    pub fn suspect(&self) -> bool {
        self.suspect
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut tables = self.gate.tables();
        if let Some(usage) = tables.addresses.get_mut(&self.client.household) {
            usage.open = usage.open.saturating_sub(1);
        }
    }
}

/// A plain HTTP connection let in; dropping it gives its place back.
#[derive(Debug)]
pub struct HttpPass {
    /// The household it counts against; `None` for a trusted proxy's.
    household: Option<AddressKey>,
    gate: Gatekeeper,
}

impl Drop for HttpPass {
    fn drop(&mut self) {
        let Some(household) = self.household else {
            return;
        };
        let mut tables = self.gate.tables();
        if let Some(open) = tables.http.get_mut(&household) {
            *open -= 1;
            if *open == 0 {
                tables.http.remove(&household);
            }
        }
    }
}

impl Gatekeeper {
    /// Lets a TCP connection from `peer` in, unless its household already
    /// holds its share. Trusted proxies are not counted: they carry everyone.
    pub fn open_http(&self, peer: IpAddr) -> Option<HttpPass> {
        let max = self.0.limits.max_http_connections;
        if max == 0 || self.0.proxies.trusts(peer) {
            return Some(HttpPass {
                household: None,
                gate: self.clone(),
            });
        }
        let household = self.key_of(peer);
        let mut tables = self.tables();
        let open = tables.http.entry(household).or_insert(0);
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(HttpPass {
            household: Some(household),
            gate: self.clone(),
        })
    }

    /// Empty tables with a fresh hash key, reading client addresses as `proxies` say.
    pub fn new(limits: AddressLimits, proxies: Proxies) -> Self {
        Gatekeeper::with_secret(limits, proxies, AddressSecret::random())
    }

    /// Like [`Gatekeeper::new`], hashing addresses with `secret` (shared by
    /// every instance of the service, so their keys agree).
    pub fn with_secret(limits: AddressLimits, proxies: Proxies, secret: AddressSecret) -> Self {
        Gatekeeper(Arc::new(Gate {
            secret,
            proxies,
            limits,
            tables: Mutex::default(),
        }))
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.0.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The client's address behind a request from `peer` with `headers`: the
    /// peer's own, unless the peer is a trusted proxy and says otherwise.
    pub fn client_ip(
        &self,
        peer: SocketAddr,
        headers: &HeaderMap,
    ) -> Result<IpAddr, BadForwarding> {
        if !self.0.proxies.trusts(peer.ip()) {
            return Ok(peer.ip());
        }
        Ok(forwarded_for(headers, self.0.proxies.hops)?.unwrap_or(peer.ip()))
    }

    /// The keys of the client behind a request from `peer` with `headers`.
    pub fn client_of(
        &self,
        peer: SocketAddr,
        headers: &HeaderMap,
    ) -> Result<ClientAddress, BadForwarding> {
        self.client_ip(peer, headers).map(|ip| self.client_at(ip))
    }

    /// The keys of a client at `ip`.
    pub fn client_at(&self, ip: IpAddr) -> ClientAddress {
        ClientAddress {
            household: self.key_of(ip),
            network: self.network_of(ip),
        }
    }

    /// The keyed hash of `ip`'s household (the /64 for IPv6).
    pub fn key_of(&self, ip: IpAddr) -> AddressKey {
        self.hash(ip, 64)
    }

    /// The keyed hash of `ip`'s network (the configured prefix for IPv6).
    pub fn network_of(&self, ip: IpAddr) -> AddressKey {
        self.hash(ip, self.0.limits.ipv6_network_bits)
    }

    fn hash(&self, ip: IpAddr, ipv6_bits: u8) -> AddressKey {
        let (family, network) = match ip.to_canonical() {
            IpAddr::V4(v4) => (4u8, u128::from(v4.to_bits())),
            IpAddr::V6(v6) => {
                let bits = ipv6_bits.clamp(1, 128);
                // The prefix length is hashed too: a /48 and a /64 never share a key.
                (128 + bits, v6.to_bits() >> (128 - u32::from(bits)))
            }
        };
        let mut mac =
            Hmac::<Sha1>::new_from_slice(&self.0.secret.0).expect("HMAC takes keys of any length");
        mac.update(&[family]);
        mac.update(&network.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        AddressKey(u64::from_be_bytes(first))
    }

    /// The secret addresses are hashed with (to share it through Redis).
    pub fn secret(&self) -> AddressSecret {
        self.0.secret
    }

    /// The limits this gate keeps.
    pub fn limits(&self) -> &AddressLimits {
        &self.0.limits
    }

    /// Lets a new chat connection from `client` in, or says why not.
    pub fn admit(&self, client: ClientAddress, now: Instant) -> Result<Admission, Refusal> {
        let limits = &self.0.limits;
        let mut tables = self.tables();
        if let Some(&until) = tables.bans.get(&client.network) {
            if until > now {
                return Err(Refusal::Banned(until - now));
            }
            tables.bans.remove(&client.network);
        }
        let per_minute = f64::from(limits.new_per_minute.max(1));
        let usage = tables
            .addresses
            .entry(client.household)
            .or_insert_with(|| Usage {
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
            tables.suspects.insert(client.network, now + SUSPICION);
            return Err(Refusal::TooFast);
        }
        usage.open += 1;
        let suspect = tables
            .suspects
            .get(&client.network)
            .is_some_and(|&until| until > now);
        Ok(Admission {
            client,
            suspect,
            gate: self.clone(),
        })
    }

    /// `network` tripped a limit (a connection flooded): its next connections
    /// must prove they are not bots for a while.
    pub fn suspect(&self, network: AddressKey, now: Instant) {
        self.tables().suspects.insert(network, now + SUSPICION);
    }

    /// `reporter` reports the stranger from `reported`. A report that does not
    /// `count` (see [`AddressLimits::report_counts`]) bans nobody, nor does one
    /// beyond the reporter's daily allowance. Counted reports from one network
    /// count once; enough different reporters within the window ban `reported`,
    /// for longer each time it happens again.
    pub fn report(
        &self,
        reporter: AddressKey,
        reported: AddressKey,
        counts: bool,
        now: Instant,
    ) -> Reported {
        let limits = &self.0.limits;
        if !counts {
            return Reported::NotCounted;
        }
        let mut tables = self.tables();
        let day = Duration::from_secs(DAY_S);
        let today = tables.reporting.entry(reporter).or_insert((now, 0));
        if now.duration_since(today.0) >= day {
            *today = (now, 0);
        }
        if limits.reports_per_day > 0 && today.1 >= limits.reports_per_day {
            return Reported::NotCounted;
        }
        today.1 += 1;
        tables.suspects.insert(reported, now + SUSPICION);
        let reports = tables.reports.entry(reported).or_default();
        reports.retain(|&(from, at)| {
            from != reporter && now.duration_since(at) < limits.report_window
        });
        reports.push((reporter, now));
        if reports.len() < limits.reports_to_ban.max(1) {
            return Reported::Noted;
        }
        tables.reports.remove(&reported);
        let offences = tables.offences.entry(reported).or_insert((0, now));
        if now.duration_since(offences.1) >= limits.offence_memory {
            offences.0 = 0;
        }
        let ban = limits.ban_for(offences.0);
        *offences = (offences.0 + 1, now);
        tables.bans.insert(reported, now + ban);
        Reported::Banned(ban)
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

    /// Forgets what no longer matters: ended bans, old reports, idle addresses,
    /// old offences and suspicions.
    pub fn sweep(&self, now: Instant) {
        let limits = &self.0.limits;
        let window = limits.report_window;
        let mut tables = self.tables();
        tables.bans.retain(|_, until| *until > now);
        tables.reports.retain(|_, reports| {
            reports.retain(|&(_, at)| now.duration_since(at) < window);
            !reports.is_empty()
        });
        tables
            .addresses
            .retain(|_, usage| usage.open > 0 || !usage.arrivals.is_full(now));
        let day = Duration::from_secs(DAY_S);
        tables
            .reporting
            .retain(|_, (since, _)| now.duration_since(*since) < day);
        tables
            .offences
            .retain(|_, (_, last)| now.duration_since(*last) < limits.offence_memory);
        tables.suspects.retain(|_, until| *until > now);
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

    /// How many networks the other tables hold (daily report counts,
    /// offences, suspicions). For tests.
    pub fn remembered_besides(&self) -> (usize, usize, usize) {
        let tables = self.tables();
        (
            tables.reporting.len(),
            tables.offences.len(),
            tables.suspects.len(),
        )
    }
}

/// The client address in `X-Forwarded-For`, `hops` entries from the right.
/// `None` if the header is missing or too short; an error if the entry there
/// is not a plain address.
fn forwarded_for(headers: &HeaderMap, hops: usize) -> Result<Option<IpAddr>, BadForwarding> {
    let mut entries = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value.to_str().map_err(|_| BadForwarding)?;
        entries.extend(value.split(',').map(str::trim));
    }
    let Some(entry) = entries.len().checked_sub(hops).map(|i| entries[i]) else {
        return Ok(None);
    };
    entry.parse().map(Some).map_err(|_| BadForwarding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(limits: AddressLimits) -> Gatekeeper {
        Gatekeeper::new(limits, Proxies::none())
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn instances_sharing_a_secret_hash_addresses_alike_and_keys_survive_being_written_out() {
        let secret = AddressSecret::random();
        let shared =
            |hops| Gatekeeper::with_secret(AddressLimits::default(), Proxies::behind(hops), secret);
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

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies_and_from_the_right() {
        let proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let headers = forwarded("198.51.100.1, 203.0.113.7");
        let untrusting = gate(AddressLimits::default());
        assert_eq!(untrusting.client_ip(proxy, &headers), Ok(proxy.ip()));

        let behind_one = Gatekeeper::new(AddressLimits::default(), Proxies::behind(1));
        assert_eq!(
            behind_one.client_ip(proxy, &headers),
            Ok(ip("203.0.113.7")),
            "the entry our proxy added, not the one the client wrote"
        );
        let stranger: SocketAddr = "192.0.2.50:5000".parse().unwrap();
        assert_eq!(
            behind_one.client_ip(stranger, &headers),
            Ok(stranger.ip()),
            "a peer that is not our proxy cannot claim an address"
        );
        let behind_three = Gatekeeper::new(AddressLimits::default(), Proxies::behind(3));
        assert_eq!(
            behind_three.client_ip(proxy, &headers),
            Ok(proxy.ip()),
            "too short: the proxy itself asked (a health check)"
        );
        assert_eq!(
            behind_one.client_ip(proxy, &HeaderMap::new()),
            Ok(proxy.ip())
        );
        let listed = Proxies {
            hops: 1,
            trusted: vec!["10.1.0.0/16".parse().unwrap()],
        };
        let elsewhere = Gatekeeper::new(AddressLimits::default(), listed);
        let far_proxy: SocketAddr = "10.1.2.3:443".parse().unwrap();
        assert_eq!(
            elsewhere.client_ip(far_proxy, &headers),
            Ok(ip("203.0.113.7"))
        );
        assert_eq!(elsewhere.client_ip(proxy, &headers), Ok(proxy.ip()));
    }

    #[test]
    fn a_trusted_proxy_naming_no_address_is_refused_not_read_as_itself() {
        let proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let behind_one = Gatekeeper::new(AddressLimits::default(), Proxies::behind(1));
        for bad in [
            "not an address",
            "203.0.113.7:5555",
            "[2001:db8::1]",
            "[2001:db8::1]:443",
            "198.51.100.1, ",
            "198.51.100.1,,",
        ] {
            assert_eq!(
                behind_one.client_ip(proxy, &forwarded(bad)),
                Err(BadForwarding),
                "{bad:?}"
            );
        }
        assert_eq!(
            behind_one.client_ip(proxy, &forwarded("junk, 2001:db8::1")),
            Ok(ip("2001:db8::1")),
            "what the client wrote further left does not matter"
        );
    }

    #[test]
    fn ipv6_connections_count_per_64_but_reports_and_bans_per_48() {
        let gate = gate(AddressLimits::default());
        let [a, b, c] = ["2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:2:2::1"].map(ip);
        assert_ne!(gate.key_of(a), gate.key_of(b), "two households");
        assert_eq!(
            gate.network_of(a),
            gate.network_of(b),
            "one customer's block"
        );
        assert_ne!(gate.network_of(a), gate.network_of(c));
        assert_ne!(
            gate.key_of(a),
            gate.network_of(a),
            "a /64 key is not a /48 key"
        );
        let v4 = ip("203.0.113.9");
        assert_eq!(gate.key_of(v4), gate.network_of(v4));
        let wider = Gatekeeper::new(
            AddressLimits {
                ipv6_network_bits: 32,
                ..AddressLimits::default()
            },
            Proxies::none(),
        );
        assert_eq!(wider.network_of(a), wider.network_of(c));
    }

    #[test]
    fn bans_start_short_and_grow_for_repeat_offences_up_to_a_cap() {
        let limits = AddressLimits::default();
        let hour = Duration::from_secs(3600);
        assert_eq!(limits.ban_for(0), hour);
        assert_eq!(limits.ban_for(1), 4 * hour);
        assert_eq!(limits.ban_for(2), 16 * hour);
        assert_eq!(limits.ban_for(3), 64 * hour);
        assert_eq!(limits.ban_for(4), limits.max_ban);
        assert_eq!(limits.ban_for(u32::MAX), limits.max_ban);
    }

    #[test]
    fn a_report_counts_after_ten_seconds_of_chat_or_once_the_stranger_sent_something() {
        let limits = AddressLimits::default();
        assert!(!limits.report_counts(Duration::from_secs(2), false));
        assert!(limits.report_counts(Duration::from_secs(2), true));
        assert!(limits.report_counts(Duration::from_secs(10), false));
        let strict = AddressLimits {
            report_counts_if_sent: false,
            ..limits
        };
        assert!(!strict.report_counts(Duration::from_secs(2), true));
    }

    #[tokio::test(start_paused = true)]
    async fn one_networks_reports_count_ten_a_day_and_uncounted_ones_ban_nobody() {
        let gate = gate(AddressLimits {
            reports_to_ban: 1,
            ..AddressLimits::default()
        });
        let reporter = gate.network_of(ip("203.0.113.1"));
        let quiet = gate.network_of(ip("198.51.100.1"));
        assert_eq!(
            gate.report(reporter, quiet, false, Instant::now()),
            Reported::NotCounted
        );
        assert!(
            gate.admit(gate.client_at(ip("198.51.100.1")), Instant::now())
                .is_ok()
        );
        for n in 0..10 {
            let victim = gate.network_of(ip(&format!("198.51.100.{}", 10 + n)));
            assert!(matches!(
                gate.report(reporter, victim, true, Instant::now()),
                Reported::Banned(_)
            ));
        }
        let eleventh = gate.network_of(ip("198.51.100.99"));
        assert_eq!(
            gate.report(reporter, eleventh, true, Instant::now()),
            Reported::NotCounted
        );
        tokio::time::advance(Duration::from_secs(DAY_S)).await;
        assert!(matches!(
            gate.report(reporter, eleventh, true, Instant::now()),
            Reported::Banned(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_network_banned_again_is_banned_for_longer() {
        let limits = AddressLimits {
            reports_to_ban: 1,
            ..AddressLimits::default()
        };
        let gate = gate(limits.clone());
        let troll = gate.network_of(ip("198.51.100.66"));
        let [a, b] = ["203.0.113.1", "203.0.113.2"].map(|x| gate.network_of(ip(x)));
        assert_eq!(
            gate.report(a, troll, true, Instant::now()),
            Reported::Banned(limits.ban_for(0))
        );
        tokio::time::advance(limits.ban_for(0)).await;
        assert_eq!(
            gate.report(b, troll, true, Instant::now()),
            Reported::Banned(limits.ban_for(1))
        );
        tokio::time::advance(limits.offence_memory).await;
        gate.sweep(Instant::now());
        assert_eq!(gate.remembered_besides(), (0, 0, 0));
        assert_eq!(
            gate.report(a, troll, true, Instant::now()),
            Reported::Banned(limits.ban_for(0)),
            "old offences are forgotten"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_network_that_trips_a_limit_is_suspect_for_a_while() {
        let gate = gate(AddressLimits {
            new_per_minute: 1,
            ..AddressLimits::default()
        });
        let home = gate.client_at(ip("203.0.113.9"));
        assert!(!gate.admit(home, Instant::now()).unwrap().suspect());
        assert_eq!(
            gate.admit(home, Instant::now()).unwrap_err(),
            Refusal::TooFast
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(gate.admit(home, Instant::now()).unwrap().suspect());
        tokio::time::advance(SUSPICION).await;
        assert!(!gate.admit(home, Instant::now()).unwrap().suspect());
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_holds_a_limited_number_of_connections() {
        let limits = AddressLimits {
            max_connections: 2,
            ..AddressLimits::default()
        };
        let gate = gate(limits);
        let home = gate.client_at(ip("203.0.113.9"));
        let first = gate.admit(home, Instant::now()).unwrap();
        let _second = gate.admit(home, Instant::now()).unwrap();
        assert_eq!(
            gate.admit(home, Instant::now()).unwrap_err(),
            Refusal::TooMany
        );
        let elsewhere = gate.client_at(ip("203.0.113.10"));
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
        let home = gate.client_at(ip("203.0.113.9"));
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
        let troll = gate.network_of(ip("198.51.100.66"));
        let [a, b, c] =
            ["203.0.113.1", "203.0.113.2", "203.0.113.3"].map(|x| gate.network_of(ip(x)));
        assert_eq!(gate.report(a, troll, true, Instant::now()), Reported::Noted);
        assert_eq!(
            gate.report(a, troll, true, Instant::now()),
            Reported::Noted,
            "one reporter counts once, however often"
        );
        assert_eq!(gate.report(b, troll, true, Instant::now()), Reported::Noted);
        assert!(
            gate.admit(gate.client_at(ip("198.51.100.66")), Instant::now())
                .is_ok()
        );
        assert_eq!(
            gate.report(c, troll, true, Instant::now()),
            Reported::Banned(limits.ban_duration)
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(
            gate.admit(gate.client_at(ip("198.51.100.66")), Instant::now())
                .unwrap_err(),
            Refusal::Banned(limits.ban_duration - Duration::from_secs(60))
        );
        tokio::time::advance(limits.ban_duration).await;
        assert!(
            gate.admit(gate.client_at(ip("198.51.100.66")), Instant::now())
                .is_ok(),
            "bans end"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_ban_decided_elsewhere_turns_the_network_away_until_it_ends() {
        let gate = gate(AddressLimits::default());
        let troll = gate.network_of(ip("198.51.100.66"));
        let reporter = gate.network_of(ip("203.0.113.1"));
        gate.report(reporter, troll, true, Instant::now());
        gate.ban(troll, Duration::from_secs(90), Instant::now());
        assert_eq!(gate.remembered(), (0, 0, 1), "its reports are done with");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            gate.admit(gate.client_at(ip("198.51.100.66")), Instant::now())
                .unwrap_err(),
            Refusal::Banned(Duration::from_secs(60))
        );
        assert!(
            gate.admit(gate.client_at(ip("203.0.113.1")), Instant::now())
                .is_ok()
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(
            gate.admit(gate.client_at(ip("198.51.100.66")), Instant::now())
                .is_ok()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn old_reports_expire_and_the_tables_forget_idle_addresses() {
        let limits = AddressLimits::default();
        let gate = gate(limits.clone());
        let troll = gate.network_of(ip("198.51.100.66"));
        let [a, b, c] =
            ["203.0.113.1", "203.0.113.2", "203.0.113.3"].map(|x| gate.network_of(ip(x)));
        gate.report(a, troll, true, Instant::now());
        gate.report(b, troll, true, Instant::now());
        tokio::time::advance(limits.report_window).await;
        assert_eq!(
            gate.report(c, troll, true, Instant::now()),
            Reported::Noted,
            "the first two expired"
        );

        drop(
            gate.admit(gate.client_at(ip("203.0.113.1")), Instant::now())
                .unwrap(),
        );
        tokio::time::advance(limits.report_window).await;
        gate.sweep(Instant::now());
        assert_eq!(gate.remembered(), (0, 0, 0));
    }
}
