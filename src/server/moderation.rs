//! What the operator acts on: reports with the evidence their reporters chose
//! to send, the bans in force with where each came from, and the audit log of
//! what operators did.
//!
//! Only reports keep anything about a person past their connection, and only
//! what the reporter sent plus two hashed network keys; reports are deleted
//! after the retention time or by the operator, and never written to a log.
//! Alone, an instance keeps all of this in memory ([`Moderation::local`]);
//! with Redis, every instance reads and writes the same records
//! ([`Moderation::shared`]), so a report made on one shows in the console of
//! any other.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::cluster::SharedQueue;
use super::network::AddressKey;
use crate::protocol::{Author, EvidenceLine, Mode, ReportReason};

/// How many operator actions the audit log keeps (the oldest go first).
pub const AUDIT_ENTRIES: usize = 1000;

/// How long a ban "for good" lasts: long enough never to end, short enough
/// for every clock and sorted-set score that holds it (2^53 - 1 ms since 1970).
pub const FOREVER_MS: u64 = (1 << 53) - 1;

/// Milliseconds since 1970: when reports were made and bans end, as the
/// operator's console shows them, alike on every instance.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// One report, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiledReport {
    /// Whether it counts toward a ban (see `AddressLimits::report_counts`, and
    /// the reporter's daily allowance). First, so the shared queue's script can
    /// mark it uncounted without parsing the rest.
    #[serde(default = "counted_by_default")]
    pub counted: bool,
    /// A random id, for the console's links.
    pub id: String,
    /// When it was made (ms since 1970).
    pub at_ms: u64,
    /// What the reporter said is wrong.
    pub reason: ReportReason,
    /// The chat lines the reporter chose to send (maybe none).
    pub evidence: Vec<ReportedLine>,
    /// Text or video chat.
    pub mode: Mode,
    /// The reporter's network, hashed.
    pub reporter: AddressKey,
    /// The reported stranger's network, hashed.
    pub reported: AddressKey,
}

impl FiledReport {
    /// A report made now.
    pub fn new(
        reason: ReportReason,
        evidence: Vec<ReportedLine>,
        mode: Mode,
        reporter: AddressKey,
        reported: AddressKey,
    ) -> Self {
        FiledReport {
            counted: true,
            id: uuid::Uuid::new_v4().simple().to_string(),
            at_ms: now_ms(),
            reason,
            evidence,
            mode,
            reporter,
            reported,
        }
    }
}

impl FiledReport {
    /// The same report, counting toward a ban or not.
    pub fn counting(self, counted: bool) -> Self {
        FiledReport { counted, ..self }
    }
}

fn counted_by_default() -> bool {
    true
}

/// One line of a report's evidence, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedLine {
    /// Who wrote it, as the reporter saw the chat.
    pub from: Author,
    /// What they wrote.
    pub text: String,
    /// Whether the server confirmed the reported stranger sent exactly this in
    /// that chat (an end-to-end encrypted line with a franking proof that held;
    /// see `server::franking`). Other lines are as the reporter's browser showed them.
    #[serde(default)]
    pub verified: bool,
}

impl ReportedLine {
    /// The report's lines: `evidence` as sent, with what the server could confirm.
    pub fn from_evidence(evidence: Vec<EvidenceLine>, verified: &[bool]) -> Vec<ReportedLine> {
        evidence
            .into_iter()
            .enumerate()
            .map(|(n, line)| ReportedLine {
                from: line.from,
                text: line.text,
                verified: verified.get(n).copied().unwrap_or(false),
            })
            .collect()
    }
}

/// Who decided a ban.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BanOrigin {
    /// Reports from enough different networks.
    Reports,
    /// An operator, in the console.
    Operator,
}

impl BanOrigin {
    /// The origin's name where it is stored: `reports` or `operator`.
    pub fn as_str(self) -> &'static str {
        match self {
            BanOrigin::Reports => "reports",
            BanOrigin::Operator => "operator",
        }
    }

    /// Reads [`BanOrigin::as_str`]'s form back.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reports" => Some(BanOrigin::Reports),
            "operator" => Some(BanOrigin::Operator),
            _ => None,
        }
    }
}

/// A ban in force, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRecord {
    /// The banned network, hashed.
    pub address: AddressKey,
    /// When it began (ms since 1970).
    pub since_ms: u64,
    /// When it ends (ms since 1970); [`FOREVER_MS`] for a ban for good.
    pub until_ms: u64,
    /// Who decided it.
    pub origin: BanOrigin,
}

impl BanRecord {
    /// Whether this ban never ends.
    pub fn is_forever(&self) -> bool {
        self.until_ms >= FOREVER_MS
    }
}

/// One thing an operator did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When (ms since 1970).
    pub at_ms: u64,
    /// What, in a sentence ("Banned network 0123... for 24 h").
    pub action: String,
}

/// The operator's records, in memory or shared through Redis. Cheap to clone.
#[derive(Clone)]
pub struct Moderation {
    /// How long reports are kept.
    retention: Duration,
    store: Store,
}

#[derive(Clone)]
enum Store {
    Local(Arc<Mutex<Local>>),
    /// Shared, not copied: every connection holds a `Moderation` (through its
    /// sanctions), and a copy of the queue is a copy of its Lua scripts' text,
    /// about 84 KiB per connection (`.ci/bench-cluster capacity`, issue 18).
    Shared(Arc<SharedQueue>),
}

/// The records of an instance that works alone.
#[derive(Debug, Default)]
struct Local {
    /// Oldest first.
    reports: Vec<FiledReport>,
    bans: HashMap<AddressKey, BanRecord>,
    /// Newest last.
    audit: VecDeque<AuditEntry>,
}

/// The operator's records could not be read or written (Redis is unreachable).
#[derive(Debug, thiserror::Error)]
#[error("the shared records are unreachable: {0}")]
pub struct Unreachable(#[from] redis::RedisError);

impl Moderation {
    /// Records kept in this process's memory, reports for `retention`.
    pub fn local(retention: Duration) -> Self {
        Moderation {
            retention,
            store: Store::Local(Arc::default()),
        }
    }

    /// Records every instance sharing `queue`'s Redis reads and writes.
    pub fn shared(retention: Duration, queue: SharedQueue) -> Self {
        Moderation {
            retention,
            store: Store::Shared(Arc::new(queue)),
        }
    }

    /// Whether the records are shared through Redis.
    pub fn is_shared(&self) -> bool {
        matches!(self.store, Store::Shared(_))
    }

    /// The shared queue, when the records are in Redis.
    pub fn queue(&self) -> Option<&SharedQueue> {
        match &self.store {
            Store::Shared(queue) => Some(queue),
            Store::Local(_) => None,
        }
    }

    /// How long reports are kept.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The records in memory, when this instance keeps its own.
    fn memory(&self) -> Option<MutexGuard<'_, Local>> {
        match &self.store {
            Store::Local(local) => Some(lock(local)),
            Store::Shared(_) => None,
        }
    }

    /// Files `report` here. (With Redis, reports are filed by the script that
    /// counts them: see [`SharedQueue::report`].)
    pub fn file_here(&self, report: FiledReport) {
        if let Some(mut local) = self.memory() {
            local.reports.push(report);
        }
    }

    /// Notes a ban decided here (with Redis, the scripts note theirs).
    pub fn note_ban_here(&self, ban: BanRecord) {
        if let Some(mut local) = self.memory() {
            local.bans.insert(ban.address, ban);
        }
    }

    /// The reports kept, newest first.
    pub async fn reports(&self) -> Result<Vec<FiledReport>, Unreachable> {
        self.reports_at(now_ms()).await
    }

    /// [`reports`](Self::reports) as of `now` (ms since 1970).
    pub async fn reports_at(&self, now: u64) -> Result<Vec<FiledReport>, Unreachable> {
        let oldest = now.saturating_sub(self.retention.as_millis() as u64);
        match &self.store {
            Store::Local(local) => {
                let mut local = lock(local);
                local.reports.retain(|report| report.at_ms > oldest);
                Ok(local.reports.iter().rev().cloned().collect())
            }
            Store::Shared(queue) => Ok(queue.reports(oldest).await?),
        }
    }

    /// One report, if still kept.
    pub async fn report(&self, id: &str) -> Result<Option<FiledReport>, Unreachable> {
        let oldest = now_ms().saturating_sub(self.retention.as_millis() as u64);
        match &self.store {
            Store::Local(local) => Ok(lock(local)
                .reports
                .iter()
                .find(|report| report.id == id && report.at_ms > oldest)
                .cloned()),
            Store::Shared(queue) => Ok(queue.stored_report(id).await?),
        }
    }

    /// Deletes a report (dismissed, or dealt with); whether it was there.
    pub async fn delete_report(&self, id: &str) -> Result<bool, Unreachable> {
        match &self.store {
            Store::Local(local) => {
                let mut local = lock(local);
                let before = local.reports.len();
                local.reports.retain(|report| report.id != id);
                Ok(local.reports.len() < before)
            }
            Store::Shared(queue) => Ok(queue.delete_report(id).await?),
        }
    }

    /// The bans in force, the latest first.
    pub async fn bans(&self) -> Result<Vec<BanRecord>, Unreachable> {
        let now = now_ms();
        let mut bans = match &self.store {
            Store::Local(local) => {
                let mut local = lock(local);
                local.bans.retain(|_, ban| ban.until_ms > now);
                local.bans.values().cloned().collect()
            }
            Store::Shared(queue) => queue.ban_records().await?,
        };
        bans.sort_by_key(|ban| std::cmp::Reverse(ban.since_ms));
        Ok(bans)
    }

    /// Forgets the record of a lifted ban here (with Redis, the script does).
    pub fn forget_ban_here(&self, address: AddressKey) {
        if let Some(mut local) = self.memory() {
            local.bans.remove(&address);
        }
    }

    /// Adds `action` to the audit log.
    pub async fn audit(&self, action: String) -> Result<(), Unreachable> {
        let entry = AuditEntry {
            at_ms: now_ms(),
            action,
        };
        match &self.store {
            Store::Local(local) => {
                let mut local = lock(local);
                if local.audit.len() == AUDIT_ENTRIES {
                    local.audit.pop_front();
                }
                local.audit.push_back(entry);
                Ok(())
            }
            Store::Shared(queue) => Ok(queue.audit(&entry).await?),
        }
    }

    /// The audit log, newest first.
    pub async fn audit_log(&self) -> Result<Vec<AuditEntry>, Unreachable> {
        match &self.store {
            Store::Local(local) => {
                let local = lock(local);
                Ok(local.audit.iter().rev().cloned().collect())
            }
            Store::Shared(queue) => Ok(queue.audit_log().await?),
        }
    }

    /// Drops reports past their retention and ended bans (memory only: Redis
    /// expires its own).
    pub fn sweep(&self) {
        let now = now_ms();
        let oldest = now.saturating_sub(self.retention.as_millis() as u64);
        if let Some(mut local) = self.memory() {
            local.reports.retain(|report| report.at_ms > oldest);
            local.bans.retain(|_, ban| ban.until_ms > now);
        }
    }
}

/// The records of a lone instance; a panic elsewhere while they were held
/// leaves them whole (every change is one step), so the lock is taken anyway.
fn lock(local: &Mutex<Local>) -> MutexGuard<'_, Local> {
    local.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How many of `reports` are against each network.
pub fn reports_per_network(reports: &[FiledReport]) -> HashMap<AddressKey, usize> {
    let mut counts = HashMap::new();
    for report in reports {
        *counts.entry(report.reported).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Author;

    fn key(n: u64) -> AddressKey {
        format!("{n:016x}").parse().unwrap()
    }

    fn report_at(at_ms: u64, reported: u64) -> FiledReport {
        FiledReport {
            at_ms,
            ..FiledReport::new(
                ReportReason::Harassment,
                vec![ReportedLine {
                    from: Author::Stranger,
                    text: "you are an idiot".into(),
                    verified: false,
                }],
                Mode::Text,
                key(1),
                key(reported),
            )
        }
    }

    #[test]
    fn a_report_is_written_counted_first_for_the_shared_queues_script() {
        let report = FiledReport::new(
            ReportReason::Spam,
            Vec::new(),
            Mode::Text,
            "00000000000000aa".parse().unwrap(),
            "00000000000000bb".parse().unwrap(),
        );
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.starts_with(r#"{"counted":true,"#), "{json}");
        let uncounted = json.replacen(r#"{"counted":true"#, r#"{"counted":false"#, 1);
        let read: FiledReport = serde_json::from_str(&uncounted).unwrap();
        assert_eq!(read, report.counting(false));
    }

    #[tokio::test]
    async fn reports_are_listed_newest_first_with_their_evidence_until_deleted() {
        let moderation = Moderation::local(Duration::from_secs(30 * 86_400));
        let now = now_ms();
        let (older, newer) = (report_at(now - 2_000, 7), report_at(now - 1_000, 7));
        moderation.file_here(older.clone());
        moderation.file_here(newer.clone());
        moderation.file_here(report_at(now - 500, 8));
        let listed = moderation.reports().await.unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[1], newer);
        assert_eq!(listed[2], older);
        assert_eq!(listed[2].evidence[0].text, "you are an idiot");
        assert_eq!(reports_per_network(&listed)[&key(7)], 2);

        assert!(moderation.delete_report(&older.id).await.unwrap());
        assert!(!moderation.delete_report(&older.id).await.unwrap());
        assert_eq!(moderation.report(&older.id).await.unwrap(), None);
        assert_eq!(moderation.report(&newer.id).await.unwrap(), Some(newer));
    }

    #[tokio::test]
    async fn reports_are_deleted_after_the_retention_time() {
        let day = 86_400_000;
        let moderation = Moderation::local(Duration::from_millis(30 * day));
        let now = now_ms();
        moderation.file_here(report_at(now - 31 * day, 7));
        moderation.file_here(report_at(now - 29 * day, 8));
        let kept = moderation.reports_at(now).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].reported, key(8));
        let later = moderation.reports_at(now + 2 * day).await.unwrap();
        assert!(later.is_empty(), "the second one's time came too");
    }

    #[tokio::test]
    async fn bans_are_listed_until_they_end_or_are_lifted_and_the_audit_log_keeps_the_latest() {
        let moderation = Moderation::local(Duration::from_secs(60));
        let now = now_ms();
        let ban = |n, until_ms, origin| BanRecord {
            address: key(n),
            since_ms: now - n,
            until_ms,
            origin,
        };
        moderation.note_ban_here(ban(1, now + 60_000, BanOrigin::Reports));
        moderation.note_ban_here(ban(2, FOREVER_MS, BanOrigin::Operator));
        moderation.note_ban_here(ban(3, now - 1, BanOrigin::Reports));
        let bans = moderation.bans().await.unwrap();
        assert_eq!(bans.len(), 2, "an ended ban is not listed");
        assert_eq!(bans[0].address, key(1));
        assert!(bans[1].is_forever());
        moderation.forget_ban_here(key(2));
        assert_eq!(moderation.bans().await.unwrap().len(), 1);

        for n in 0..AUDIT_ENTRIES + 5 {
            moderation.audit(format!("action {n}")).await.unwrap();
        }
        let log = moderation.audit_log().await.unwrap();
        assert_eq!(log.len(), AUDIT_ENTRIES);
        assert_eq!(log[0].action, format!("action {}", AUDIT_ENTRIES + 4));
    }
}
