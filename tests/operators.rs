//! What an operator needs to run Strangers in public, through real sockets:
//! the age and rules confirmation, reports with evidence, and the console at
//! `/admin` (sign-in, forgery protection, bans and lifts that reach connected
//! strangers), alone and across instances sharing Redis.
#![cfg(all(feature = "ssr", unix))]

mod common;

use common::http::{Reply, get, request};
use common::redis::Redis;
use common::{Arrival, Client, TestServer, paired};
use strangers::protocol::{
    Author, ClientMessage, ErrorCode, EvidenceLine, Mode, ReportReason, ServerMessage,
};
use strangers::server::Settings;

const TOKEN: &str = "a-long-operator-token-for-tests";

/// A server with a console, behind one proxy (so each test client can come
/// from a network of its own).
fn with_console() -> Settings {
    Settings {
        admin_token: Some(TOKEN.into()),
        proxies: strangers::server::network::Proxies::behind(1),
        ..common::settings()
    }
}

/// A signed-in operator's browser.
struct Operator {
    addr: std::net::SocketAddr,
    cookie: String,
    form_token: String,
}

impl Operator {
    async fn sign_in(server: &TestServer) -> Operator {
        let reply = sign_in(server, TOKEN, "192.0.2.10").await;
        assert_eq!(reply.status, 303, "{}", reply.body);
        let cookie = reply.header("set-cookie").expect("a session cookie");
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
            assert!(cookie.contains(flag), "{cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let mut operator = Operator {
            addr: server.addr,
            cookie,
            form_token: String::new(),
        };
        let overview = operator.get("/admin").await;
        assert!(overview.body.contains("Open reports"), "{}", overview.body);
        operator.form_token = form_token(&overview.body);
        operator
    }

    async fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, &[("Cookie", &self.cookie)], None).await
    }

    /// Submits a console form from the console's own page.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut fields = fields.to_vec();
        fields.push(("form_token", &self.form_token));
        let headers = [
            ("Cookie", self.cookie.as_str()),
            ("Origin", "http://localhost"),
        ];
        request(self.addr, "POST", path, &headers, Some(&fields)).await
    }
}

async fn sign_in(server: &TestServer, token: &str, from: &str) -> Reply {
    request(
        server.addr,
        "POST",
        "/admin/sign-in",
        &[("X-Forwarded-For", from)],
        Some(&[("token", token)]),
    )
    .await
}

fn form_token(page: &str) -> String {
    let (_, after) = page
        .split_once("name=\"form_token\" value=\"")
        .expect("a form token on the page");
    after.split('"').next().unwrap().to_owned()
}

fn line(from: Author, text: &str) -> EvidenceLine {
    EvidenceLine {
        from,
        text: text.into(),
        franking: None,
    }
}

/// `troll` waits; a reporter from `reporter_address` is paired with them and
/// reports them with `evidence`. Returns the reporter.
async fn report_with(
    server: &TestServer,
    reporter_address: &str,
    troll: &mut Client,
    evidence: Vec<EvidenceLine>,
) -> Client {
    let mut reporter = server.client_from(reporter_address).await;
    troll.send(&ClientMessage::join_anyone()).await;
    troll.expect(ServerMessage::Waiting).await;
    reporter.send(&ClientMessage::join_anyone()).await;
    reporter.expect(paired()).await;
    troll.expect(paired()).await;
    reporter
        .send(&ClientMessage::Report {
            reason: ReportReason::Harassment,
            evidence,
        })
        .await;
    troll.expect(ServerMessage::StrangerLeft).await;
    reporter
}

#[tokio::test]
async fn a_join_without_the_confirmation_is_refused_and_nobody_is_searched_for() {
    let server = TestServer::start().await;
    let mut scripted = server.client().await;
    scripted.send_raw(r#"{"type":"join"}"#).await;
    scripted
        .expect(ServerMessage::error(ErrorCode::RulesNotAccepted))
        .await;
    scripted
        .send_raw(r#"{"type":"join","agreed":false,"mode":"video"}"#)
        .await;
    scripted
        .expect(ServerMessage::error(ErrorCode::RulesNotAccepted))
        .await;
    assert_eq!(server.state.lobby.waiting(), 0);

    let mut adult = server.client().await;
    adult.send(&ClientMessage::join_anyone()).await;
    adult.expect(ServerMessage::Waiting).await;
    scripted.expect_silence().await;
    adult.expect_silence().await;
    assert_eq!(server.state.lobby.waiting(), 1, "only the one who agreed");
}

#[tokio::test]
async fn a_report_keeps_its_reason_and_evidence_for_the_operator_and_nothing_else() {
    let server = TestServer::start_with(with_console()).await;
    let mut troll = server.client_from("198.51.100.66").await;
    let evidence = vec![
        line(Author::Stranger, "<script>alert('hi')</script>"),
        line(Author::You, "stop it"),
    ];
    let mut reporter = report_with(&server, "203.0.113.1", &mut troll, evidence.clone()).await;
    reporter.expect_silence().await;

    let reports = server.state.moderation.reports().await.unwrap();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.reason, ReportReason::Harassment);
    let kept: Vec<_> = report
        .evidence
        .iter()
        .map(|line| (line.from, line.text.as_str(), line.verified))
        .collect();
    assert_eq!(
        kept,
        [
            (Author::Stranger, "<script>alert('hi')</script>", false),
            (Author::You, "stop it", false)
        ],
        "as sent; unsealed lines cannot be verified"
    );
    assert_eq!(report.mode, Mode::Text);
    let troll_key = server.state.gate.key_of("198.51.100.66".parse().unwrap());
    assert_eq!(report.reported, troll_key);

    // Too much evidence is refused, and the chat it was about goes on.
    let mut other = server.client_from("198.51.100.67").await;
    let mut second = server.client_from("203.0.113.2").await;
    other.send(&ClientMessage::join_anyone()).await;
    other.expect(ServerMessage::Waiting).await;
    second.send(&ClientMessage::join_anyone()).await;
    second.expect(paired()).await;
    other.expect(paired()).await;
    let too_many = (0..21)
        .map(|n| line(Author::Stranger, &n.to_string()))
        .collect();
    second
        .send(&ClientMessage::Report {
            reason: ReportReason::Spam,
            evidence: too_many,
        })
        .await;
    second
        .expect(ServerMessage::error(ErrorCode::BadReport))
        .await;
    other.expect_silence().await;
    assert_eq!(server.state.moderation.reports().await.unwrap().len(), 1);

    // The console shows the evidence as text, never as markup.
    let operator = Operator::sign_in(&server).await;
    let page = operator.get("/admin/reports").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Harassment or hate"), "{}", page.body);
    assert!(
        page.body
            .contains("&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;")
    );
    assert!(!page.body.contains("<script>"));
    assert!(page.body.contains(&troll_key.to_string()));
    assert!(page.body.contains("1 report."));
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // The download holds what a referral needs, and no address.
    let download = operator
        .get(&format!("/admin/reports/{}/download", report.id))
        .await;
    assert_eq!(download.status, 200);
    assert!(
        download
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let json: serde_json::Value = serde_json::from_str(&download.body).unwrap();
    assert_eq!(json["reason"], "harassment");
    assert_eq!(json["reported_network_key"], troll_key.to_string());
    assert_eq!(json["evidence"][0]["from"], "reported");
    assert_eq!(json["evidence"][1]["text"], "stop it");
    assert!(!download.body.contains("198.51.100"), "no address anywhere");
    let audit = operator.get("/admin/audit").await;
    assert!(audit.body.contains("Downloaded report"), "{}", audit.body);
}

#[tokio::test]
async fn without_a_token_there_is_no_console() {
    let server = TestServer::start().await;
    assert_eq!(get(server.addr, "/admin").await.status, 404);
    assert_eq!(sign_in(&server, TOKEN, "192.0.2.1").await.status, 404);
    assert_eq!(get(server.addr, "/admin/reports").await.status, 404);
}

#[tokio::test]
async fn the_console_lets_in_the_token_only_and_holds_off_a_network_guessing_it() {
    let server = TestServer::start_with(with_console()).await;
    let page = get(server.addr, "/admin").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Operator token"), "the sign-in form");
    assert!(!page.body.contains("Open reports"));
    // Every console page sends an operator who is not signed in to sign in.
    let reports = get(server.addr, "/admin/reports").await;
    assert_eq!(
        (reports.status, reports.header("location")),
        (303, Some("/admin"))
    );

    for _ in 0..5 {
        let wrong = sign_in(&server, "a-long-operator-token-for-test", "192.0.2.66").await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.header("set-cookie").is_none());
    }
    let held_off = sign_in(&server, TOKEN, "192.0.2.66").await;
    assert_eq!(
        held_off.status, 429,
        "even the right token, from that network, for now"
    );
    assert!(held_off.header("set-cookie").is_none());
    assert!(held_off.header("retry-after").is_some());

    // Another network is not held off, and a forged cookie is no session.
    Operator::sign_in(&server).await;
    let forged = request(
        server.addr,
        "GET",
        "/admin/reports",
        &[("Cookie", "strangers_console=99999999999.abc.def")],
        None,
    )
    .await;
    assert_eq!(forged.status, 303);
}

#[tokio::test]
async fn console_forms_refuse_requests_forged_by_another_site() {
    let server = TestServer::start_with(with_console()).await;
    let mut troll = server.client_from("198.51.100.66").await;
    report_with(&server, "203.0.113.1", &mut troll, Vec::new()).await;
    let id = server.state.moderation.reports().await.unwrap()[0]
        .id
        .clone();
    let operator = Operator::sign_in(&server).await;
    let dismiss = format!("/admin/reports/{id}/dismiss");

    // The operator's cookie, but no form token: what another site's form would send.
    let no_token = request(
        server.addr,
        "POST",
        &dismiss,
        &[("Cookie", &operator.cookie)],
        Some(&[]),
    )
    .await;
    assert_eq!(no_token.status, 403);
    // The right token, from another site's page.
    let fields = [("form_token", operator.form_token.as_str())];
    let elsewhere = request(
        server.addr,
        "POST",
        &dismiss,
        &[
            ("Cookie", &operator.cookie),
            ("Origin", "https://evil.example"),
        ],
        Some(&fields),
    )
    .await;
    assert_eq!(elsewhere.status, 403);
    // An origin the browser hid ("null") cannot be told from another site's.
    let hidden = request(
        server.addr,
        "POST",
        &dismiss,
        &[("Cookie", &operator.cookie), ("Origin", "null")],
        Some(&fields),
    )
    .await;
    assert_eq!(hidden.status, 403);
    // The console's own pages let the browser say where their forms come from.
    let page = operator.get("/admin/reports").await;
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    // No cookie at all.
    let anonymous = request(server.addr, "POST", &dismiss, &[], Some(&fields)).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        server.state.moderation.reports().await.unwrap().len(),
        1,
        "still there"
    );

    let dismissed = operator.post(&dismiss, &[]).await;
    assert_eq!(dismissed.status, 303);
    assert!(server.state.moderation.reports().await.unwrap().is_empty());
    assert_eq!(
        operator.post(&dismiss, &[]).await.status,
        404,
        "already gone"
    );
}

#[tokio::test]
async fn a_ban_from_the_console_reaches_the_connected_stranger_and_a_lift_lets_them_back() {
    let server = TestServer::start_with(with_console()).await;
    let mut troll = server.client_from("198.51.100.66").await;
    let mut troll_tab = server.client_from("198.51.100.66").await;
    report_with(&server, "203.0.113.1", &mut troll, Vec::new()).await;
    let id = server.state.moderation.reports().await.unwrap()[0]
        .id
        .clone();

    // The troll is chatting with someone else when the operator acts.
    let mut partner = server.client_from("203.0.113.2").await;
    troll.send(&ClientMessage::join_anyone()).await;
    troll.expect(ServerMessage::Waiting).await;
    partner.send(&ClientMessage::join_anyone()).await;
    partner.expect(paired()).await;
    troll.expect(paired()).await;

    let operator = Operator::sign_in(&server).await;
    let week = 7 * 86_400;
    let banned = operator
        .post(
            &format!("/admin/reports/{id}/ban"),
            &[("duration", &week.to_string())],
        )
        .await;
    assert_eq!(banned.status, 303, "{}", banned.body);
    for troll in [&mut troll, &mut troll_tab] {
        match troll.recv().await {
            ServerMessage::Banned { seconds } => assert!((week - 5..=week).contains(&seconds)),
            other => panic!("expected the ban notice, got {other:?}"),
        }
        assert_eq!(troll.closed().await.0, 1008);
    }
    partner.expect(ServerMessage::StrangerLeft).await;
    assert!(matches!(
        Client::arrive(server.addr, Some("198.51.100.66")).await,
        Arrival::Refused(_, 1008, _)
    ));
    let bans = operator.get("/admin/bans").await;
    assert!(bans.body.contains("by an operator"), "{}", bans.body);

    let key = server.state.gate.key_of("198.51.100.66".parse().unwrap());
    let lifted = operator.post(&format!("/admin/bans/{key}/lift"), &[]).await;
    assert_eq!(lifted.status, 303);
    server.client_from("198.51.100.66").await;
    assert!(
        operator
            .get("/admin/bans")
            .await
            .body
            .contains("No bans in force")
    );
    let audit = operator.get("/admin/audit").await.body;
    assert!(
        audit.contains(&format!("Banned network {key} for 168 h")),
        "{audit}"
    );
    assert!(
        audit.contains(&format!("Lifted the ban on network {key}")),
        "{audit}"
    );
    let overview = operator.get("/admin").await.body;
    assert!(
        overview.contains("<dt>Active bans</dt><dd>0</dd>"),
        "{overview}"
    );
    assert!(
        overview.contains("<dt>Open reports</dt><dd>1</dd>"),
        "{overview}"
    );
}

#[tokio::test]
async fn with_redis_a_report_on_one_instance_is_acted_on_from_the_console_of_another() {
    let redis = Redis::start();
    redis.wait_until_up().await;
    let instance = || {
        TestServer::start_with(Settings {
            redis_url: Some(redis.url()),
            ..with_console()
        })
    };
    let (one, two) = (instance().await, instance().await);
    let mut troll = one.client_from("198.51.100.66").await;
    let mut reporter = one.client_from("203.0.113.1").await;
    common::pair_up(&mut troll, &mut reporter).await;
    reporter
        .send(&ClientMessage::Report {
            reason: ReportReason::Minor,
            evidence: vec![line(Author::Stranger, "i am 14")],
        })
        .await;
    troll.expect(ServerMessage::StrangerLeft).await;

    let operator = Operator::sign_in(&two).await;
    let mut listed = String::new();
    for _ in 0..100 {
        listed = operator.get("/admin/reports").await.body;
        if listed.contains("i am 14") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(listed.contains("Seems under 18"), "{listed}");
    let id = two.state.moderation.reports().await.unwrap()[0].id.clone();
    let banned = operator
        .post(
            &format!("/admin/reports/{id}/ban"),
            &[("duration", "forever")],
        )
        .await;
    assert_eq!(banned.status, 303);
    match troll.recv().await {
        ServerMessage::Banned { seconds } => assert!(seconds > 100 * 365 * 86_400),
        other => panic!("expected the ban notice on the other instance, got {other:?}"),
    }
    assert!(matches!(
        Client::arrive(two.addr, Some("198.51.100.66")).await,
        Arrival::Refused(_, 1008, _)
    ));

    // Lifted from the first instance's console: let in on both.
    let key = one.state.gate.key_of("198.51.100.66".parse().unwrap());
    let operator_one = Operator::sign_in(&one).await;
    let lifted = operator_one
        .post(&format!("/admin/bans/{key}/lift"), &[])
        .await;
    assert_eq!(lifted.status, 303);
    for server in [&one, &two] {
        let mut let_in = false;
        for _ in 0..100 {
            if let Arrival::Welcomed(_) = Client::arrive(server.addr, Some("198.51.100.66")).await {
                let_in = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(let_in, "the lift reached every instance");
    }
    let audit = operator.get("/admin/audit").await.body;
    assert!(
        audit.contains("Lifted the ban"),
        "one audit log for all: {audit}"
    );
}

/// The response head (status line and headers) for `path` asked with
/// `Accept-Encoding: br, gzip`, as a browser would ask; the body may be binary.
async fn head_when_compression_is_accepted(
    server: &TestServer,
    path: &str,
    cookie: Option<&str>,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    let ask = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: br, gzip\r\n{cookie}Connection: close\r\n\r\n"
    );
    tcp.write_all(ask.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(common::PATIENCE, tcp.read_to_end(&mut bytes))
        .await
        .unwrap()
        .unwrap();
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    String::from_utf8_lossy(&bytes[..end]).to_lowercase()
}

#[tokio::test]
async fn console_pages_are_never_compressed_so_their_secrets_cannot_leak_by_size() {
    let server = TestServer::start_with(with_console()).await;
    // The public pages are compressed for a browser that accepts it...
    let rules = head_when_compression_is_accepted(&server, "/rules", None).await;
    assert!(rules.contains("content-encoding: br"), "{rules}");
    // ...the console's, which carry form tokens beside what an operator typed, never.
    let operator = Operator::sign_in(&server).await;
    for path in ["/admin", "/admin/reports", "/admin/bans"] {
        let head = head_when_compression_is_accepted(&server, path, Some(&operator.cookie)).await;
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(!head.contains("content-encoding"), "{path}: {head}");
    }
}
