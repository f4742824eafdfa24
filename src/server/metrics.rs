//! What an operator can watch: `/metrics` in the Prometheus (OpenMetrics) text
//! format, written by the `prometheus-client` crate.
//!
//! Counters and histograms are updated where things happen (atomics, no lock of
//! ours); the gauges (online, waiting, rooms, memory, CPU) are read when scraped.
//! Nothing here names a stranger, an address or a message.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::protocol::{ErrorCode, Mode};

/// Why a connection ended: the connection's read loop ends with one of these,
/// and it is both counted here and turned into the close code and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The browser closed it, or the network dropped it.
    ClientGone,
    /// The browser stopped reading.
    TooSlow,
    /// Kept flooding after warnings.
    Flooding,
    /// No answer to pings.
    Unresponsive,
    /// Its network was banned.
    Banned,
    /// The server shut down.
    Shutdown,
}

/// Why something a client sent or asked for was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionReason {
    /// Over a per-connection rate limit.
    RateLimit,
    /// `/ws` opened by a page of another site.
    Origin,
    /// A message over the size limits.
    Size,
    /// Malformed: not JSON, unknown type or field, too deep, binary.
    Malformed,
    /// Something only possible in a chat (or a video chat), asked outside one.
    NotInChat,
    /// A banned network tried to connect.
    Ban,
    /// A network over its share of connections or new connections a minute.
    AddressLimit,
    /// A join while the queue shared with other instances was unreachable.
    Unavailable,
    /// A join without the confirmation of age and of the rules.
    Rules,
    /// A join before the bot check was solved, or a wrong answer to it.
    Challenge,
    /// A request for another host than `--public-origin`'s (DNS rebinding).
    Host,
    /// A trusted proxy's `X-Forwarded-For` named no usable address.
    Forwarding,
    /// A call setup step that would reveal the address of a stranger hiding it (dropped).
    Address,
}

/// One label, as Prometheus likes them: `reason="too_slow"`.
type Label = [(&'static str, &'static str); 1];

fn mode_label(mode: Mode) -> Label {
    [("mode", mode.as_str())]
}

impl DisconnectReason {
    fn label(self) -> Label {
        let value = match self {
            DisconnectReason::ClientGone => "client_gone",
            DisconnectReason::TooSlow => "too_slow",
            DisconnectReason::Flooding => "flooding",
            DisconnectReason::Unresponsive => "unresponsive",
            DisconnectReason::Banned => "banned",
            DisconnectReason::Shutdown => "shutdown",
        };
        [("reason", value)]
    }
}

impl RejectionReason {
    /// The reason for refusing a frame with `code`.
    pub fn for_error(code: ErrorCode) -> Self {
        match code {
            ErrorCode::SlowDown | ErrorCode::TooManyOffers => RejectionReason::RateLimit,
            ErrorCode::MessageTooLong => RejectionReason::Size,
            ErrorCode::NotInChat
            | ErrorCode::NotInCall
            | ErrorCode::ReadOnly
            | ErrorCode::NotSealable => RejectionReason::NotInChat,
            ErrorCode::BadMessage
            | ErrorCode::EmptyMessage
            | ErrorCode::BadJoin
            | ErrorCode::BadSignal
            | ErrorCode::BadReport
            | ErrorCode::BadQuestion
            | ErrorCode::BadSealed => RejectionReason::Malformed,
            ErrorCode::MatchingPaused => RejectionReason::Unavailable,
            ErrorCode::RulesNotAccepted => RejectionReason::Rules,
            ErrorCode::ChallengeRequired | ErrorCode::ChallengeFailed => RejectionReason::Challenge,
        }
    }

    fn label(self) -> Label {
        let value = match self {
            RejectionReason::RateLimit => "rate_limit",
            RejectionReason::Origin => "origin",
            RejectionReason::Size => "size",
            RejectionReason::Malformed => "malformed",
            RejectionReason::NotInChat => "not_in_chat",
            RejectionReason::Ban => "ban",
            RejectionReason::AddressLimit => "address_limit",
            RejectionReason::Unavailable => "unavailable",
            RejectionReason::Rules => "rules",
            RejectionReason::Challenge => "challenge",
            RejectionReason::Host => "host",
            RejectionReason::Forwarding => "forwarding",
            RejectionReason::Address => "address",
        };
        [("reason", value)]
    }
}

/// The numbers Strangers keeps about itself.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    online: Gauge,
    waiting: Family<Label, Gauge>,
    rooms: Gauge,
    matches: Family<Label, Counter>,
    /// Pairings in each of the last 60 seconds, for the operator's console.
    recent_matches: std::sync::Mutex<LastMinute>,
    messages_relayed: Counter,
    bytes_relayed: Counter,
    disconnects: Family<Label, Counter>,
    rejections: Family<Label, Counter>,
    time_to_match: Histogram,
    relay_time: Histogram,
    resident_memory: Gauge,
    cpu_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics, registered under the `strangers_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("strangers");
        let metrics = Metrics {
            online: Gauge::default(),
            waiting: Family::default(),
            rooms: Gauge::default(),
            matches: Family::default(),
            recent_matches: std::sync::Mutex::default(),
            messages_relayed: Counter::default(),
            bytes_relayed: Counter::default(),
            disconnects: Family::default(),
            rejections: Family::default(),
            // 1 ms to about 65 s: an instant match to a long wait for a shared interest.
            time_to_match: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            // 10 µs to about 0.3 s through the server.
            relay_time: Histogram::new(exponential_buckets(0.000_01, 2.0, 16)),
            resident_memory: Gauge::default(),
            cpu_seconds: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("online", "Strangers connected", metrics.online.clone());
        registry.register(
            "waiting",
            "Strangers waiting for a partner",
            metrics.waiting.clone(),
        );
        registry.register("rooms", "Chats in progress", metrics.rooms.clone());
        registry.register("matches", "Pairings made", metrics.matches.clone());
        registry.register(
            "messages_relayed",
            "Chat messages relayed to a partner",
            metrics.messages_relayed.clone(),
        );
        registry.register_with_unit(
            "relayed",
            "Chat message text relayed to a partner",
            Unit::Bytes,
            metrics.bytes_relayed.clone(),
        );
        registry.register(
            "disconnects",
            "Connections ended, by reason",
            metrics.disconnects.clone(),
        );
        registry.register(
            "rejections",
            "Refused requests, by reason",
            metrics.rejections.clone(),
        );
        registry.register_with_unit(
            "time_to_match",
            "From asking for a stranger to being paired",
            Unit::Seconds,
            metrics.time_to_match.clone(),
        );
        registry.register_with_unit(
            "relay_time",
            "From a chat message arriving to its being written to the partner's socket",
            Unit::Seconds,
            metrics.relay_time.clone(),
        );
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory of the server process",
            Unit::Bytes,
            metrics.resident_memory.clone(),
        );
        registry.register_with_unit(
            "process_cpu",
            "CPU time used by the server process",
            Unit::Seconds,
            metrics.cpu_seconds.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Two strangers in `mode` were paired.
    pub fn paired(&self, mode: Mode) {
        self.matches.get_or_create(&mode_label(mode)).inc();
        self.recent_matches().add(this_second());
    }

    /// How many pairings were made in the last minute.
    pub fn matches_last_minute(&self) -> u64 {
        self.recent_matches().total(this_second())
    }

    fn recent_matches(&self) -> std::sync::MutexGuard<'_, LastMinute> {
        self.recent_matches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A stranger was paired `waited` after asking for one.
    pub fn waited(&self, waited: Duration) {
        self.time_to_match.observe(waited.as_secs_f64());
    }

    /// A chat message of `bytes` was handed to a partner.
    pub fn relayed(&self, bytes: usize) {
        self.messages_relayed.inc();
        self.bytes_relayed.inc_by(bytes as u64);
    }

    /// A relayed chat message reached the partner's socket `took` after it arrived.
    pub fn relay_took(&self, took: Duration) {
        self.relay_time.observe(took.as_secs_f64());
    }

    /// A connection ended for `reason`.
    pub fn disconnected(&self, reason: DisconnectReason) {
        self.disconnects.get_or_create(&reason.label()).inc();
    }

    /// Something was refused for `reason`.
    pub fn rejected(&self, reason: RejectionReason) {
        self.rejections.get_or_create(&reason.label()).inc();
    }

    /// The scrape: sets the gauges to `now` and writes everything out.
    pub fn render(&self, now: Snapshot) -> String {
        self.online.set(now.online as i64);
        for (mode, count) in now.waiting {
            self.waiting
                .get_or_create(&mode_label(mode))
                .set(count as i64);
        }
        self.rooms.set(now.rooms as i64);
        if let Some(process) = read_process() {
            self.resident_memory.set(process.resident_bytes as i64);
            self.cpu_seconds.set(process.cpu_seconds);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// When the process started: the origin of [`LastMinute`]'s seconds.
static PROCESS_START: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

/// Seconds since the process started, for [`LastMinute`].
fn this_second() -> u64 {
    std::time::Instant::now()
        .duration_since(*PROCESS_START)
        .as_secs()
}

/// Counts of something in each of the last 60 seconds: cheap to add to at any
/// rate, and the memory never grows.
#[derive(Debug)]
struct LastMinute {
    /// `counts[s % 60]` counts second `s`, if `seconds[s % 60] == s`.
    counts: [u64; 60],
    seconds: [u64; 60],
}

impl Default for LastMinute {
    fn default() -> Self {
        LastMinute {
            counts: [0; 60],
            seconds: [0; 60],
        }
    }
}

impl LastMinute {
    fn add(&mut self, second: u64) {
        let slot = (second % 60) as usize;
        if self.seconds[slot] != second {
            self.seconds[slot] = second;
            self.counts[slot] = 0;
        }
        self.counts[slot] += 1;
    }

    fn total(&self, now: u64) -> u64 {
        (0..60)
            .filter(|&slot| now.saturating_sub(self.seconds[slot]) < 60 && self.counts[slot] > 0)
            .map(|slot| self.counts[slot])
            .sum()
    }
}

/// The lobby's numbers at the moment of a scrape.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Strangers connected.
    pub online: usize,
    /// Strangers waiting, per mode.
    pub waiting: Vec<(Mode, usize)>,
    /// Chats in progress.
    pub rooms: usize,
}

/// Memory and CPU of this process, from Linux's `/proc`.
struct Process {
    resident_bytes: u64,
    cpu_seconds: f64,
}

/// Linux only; elsewhere the two gauges stay at 0.
fn read_process() -> Option<Process> {
    // statm: sizes in pages; the second field is resident.
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // stat: utime and stime are fields 14 and 15, in clock ticks, counted after
    // the command name (which may hold spaces, hence the split at its ')').
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports 4 KiB pages and 100 ticks a second on every platform we run on.
    Some(Process {
        resident_bytes: resident_pages * 4096,
        cpu_seconds: ticks as f64 / 100.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_holds_the_counts_in_the_text_format() {
        let metrics = Metrics::new();
        metrics.paired(Mode::Video);
        metrics.waited(Duration::from_millis(30));
        metrics.waited(Duration::ZERO);
        metrics.relayed(5);
        metrics.relayed(7);
        metrics.disconnected(DisconnectReason::Flooding);
        metrics.rejected(RejectionReason::RateLimit);
        let text = metrics.render(Snapshot {
            online: 3,
            waiting: vec![(Mode::Text, 1), (Mode::Video, 0)],
            rooms: 1,
        });
        for line in [
            "strangers_online 3",
            "strangers_waiting{mode=\"text\"} 1",
            "strangers_rooms 1",
            "strangers_matches_total{mode=\"video\"} 1",
            "strangers_messages_relayed_total 2",
            "strangers_relayed_bytes_total 12",
            "strangers_disconnects_total{reason=\"flooding\"} 1",
            "strangers_rejections_total{reason=\"rate_limit\"} 1",
            "strangers_time_to_match_seconds_count 2",
            "# EOF",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
        #[cfg(target_os = "linux")]
        assert!(!text.contains("strangers_process_resident_memory_bytes 0\n"));
    }

    #[test]
    fn matches_are_counted_over_the_last_minute_only() {
        let mut minute = LastMinute::default();
        for second in [100, 100, 130, 159] {
            minute.add(second);
        }
        assert_eq!(minute.total(159), 4);
        assert_eq!(minute.total(160), 2, "second 100 is over a minute ago");
        minute.add(160);
        assert_eq!(minute.total(160), 3, "its slot is reused");
        assert_eq!(minute.total(1000), 0);
        let metrics = Metrics::new();
        metrics.paired(Mode::Text);
        metrics.paired(Mode::Video);
        assert_eq!(metrics.matches_last_minute(), 2);
    }
}
