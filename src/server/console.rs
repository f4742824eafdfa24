//! The operator's console at `/admin`: reports with their evidence, bans, and
//! the audit log, behind a token (`--admin-token`). Without a token there is
//! no console at all: `/admin` is 404.
//!
//! Plain server-rendered pages with forms: no script, usable with a keyboard
//! alone. Signing in sets a session cookie (HttpOnly, SameSite=Strict, Secure
//! over https) that is a signature with the token, not a server-side session,
//! so it works on every instance that has the same token. Every form that
//! changes something carries a token derived from the session (and its Origin
//! must be the site's own): a page of another site cannot make an operator's
//! browser ban or lift anything.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::time::Instant;

use super::AppState;
use super::documents::{escape, page};
use super::flood::{Rate, TokenBucket};
use super::moderation::{BanOrigin, FiledReport, Unreachable, now_ms};
use super::network::{AddressKey, ClientAddress};

/// The session cookie's name.
const COOKIE: &str = "strangers_console";

/// How long a sign-in lasts.
const SESSION: Duration = Duration::from_secs(12 * 60 * 60);

/// Wrong tokens one network may try in a burst, and how fast it gets tries
/// back: five, then one a minute.
const SIGN_IN_TRIES: Rate = Rate {
    per_second: 1.0 / 60.0,
    burst: 5.0,
};

/// The ban lengths the console offers, in seconds (`None`: for good).
const BAN_CHOICES: [(&str, Option<u64>); 5] = [
    ("1 hour", Some(3_600)),
    ("24 hours", Some(86_400)),
    ("7 days", Some(7 * 86_400)),
    ("30 days", Some(30 * 86_400)),
    ("for good", None),
];

type HmacSha256 = Hmac<Sha256>;

/// The console's secret and its sign-in limits. Cheap to clone.
#[derive(Clone)]
pub struct Console {
    token: Arc<str>,
    /// Wrong tokens per network.
    failures: Arc<Mutex<HashMap<AddressKey, TokenBucket>>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Console(..)")
    }
}

impl Console {
    /// A console that lets in whoever knows `token`.
    pub fn new(token: &str) -> Self {
        Console {
            token: token.into(),
            failures: Arc::default(),
        }
    }

    fn mac(&self, message: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.token.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(message.as_bytes());
        mac
    }

    /// Whether `tried` is the token, in time that does not depend on where
    /// they differ (both are hashed, then compared in constant time).
    fn is_token(&self, tried: &str) -> bool {
        let digest = |text: &str| {
            let mut mac = HmacSha256::new_from_slice(b"strangers console sign-in")
                .expect("HMAC takes keys of any length");
            mac.update(text.as_bytes());
            mac.finalize()
        };
        digest(tried) == digest(&self.token)
    }

    /// A new session cookie's value, good until `expires` (s since 1970).
    fn session_for(&self, expires: u64) -> String {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let signed = format!("{expires}.{nonce}");
        let mac = hex(&self
            .mac(&format!("session:{signed}"))
            .finalize()
            .into_bytes());
        format!("{signed}.{mac}")
    }

    /// The session in `headers`' cookie, if it is signed with the token and
    /// still good.
    fn session(&self, headers: &HeaderMap) -> Option<String> {
        let value = cookie(headers, COOKIE)?;
        let (signed, mac) = value.rsplit_once('.')?;
        let (expires, _nonce) = signed.split_once('.')?;
        let expires: u64 = expires.parse().ok()?;
        if expires * 1000 <= now_ms() {
            return None;
        }
        self.mac(&format!("session:{signed}"))
            .verify_slice(&crate::protocol::from_hex(mac)?)
            .ok()?;
        Some(value.to_owned())
    }

    /// The forgery-protection token of `session`'s forms.
    fn form_token(&self, session: &str) -> String {
        hex(&self.mac(&format!("form:{session}")).finalize().into_bytes())
    }

    /// Whether `tried` is `session`'s form token (compared in constant time).
    fn is_form_token(&self, session: &str, tried: &str) -> bool {
        crate::protocol::from_hex(tried).is_some_and(|tried| {
            self.mac(&format!("form:{session}"))
                .verify_slice(&tried)
                .is_ok()
        })
    }

    /// Whether `network` may try a token now.
    fn may_try(&self, network: AddressKey, now: Instant) -> bool {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures
            .get(&network)
            .is_none_or(|bucket| bucket.has_token(now))
    }

    /// `network` tried a wrong token.
    fn failed(&self, network: AddressKey, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.retain(|_, bucket| !bucket.is_full(now));
        failures
            .entry(network)
            .or_insert_with(|| TokenBucket::new(SIGN_IN_TRIES, now))
            .take(now);
    }
}

/// The console's routes, under `/admin`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/sign-in", post(sign_in))
        .route("/admin/sign-out", post(sign_out))
        .route("/admin/reports", get(reports))
        .route("/admin/reports/{id}/download", get(download))
        .route("/admin/reports/{id}/ban", post(ban_reported))
        .route("/admin/reports/{id}/dismiss", post(dismiss))
        .route("/admin/bans", get(bans))
        .route("/admin/bans/{address}/lift", post(lift))
        .route("/admin/audit", get(audit))
}

/// A signed-in operator's request: the session and its form token.
struct Operator {
    form_token: String,
}

/// Why a console request was not carried out.
enum Refused {
    /// No console is configured.
    NoConsole,
    /// Not signed in: to the sign-in page.
    SignIn,
    /// A state-changing request without the session's form token, or from
    /// another site's page.
    Forged,
    /// No such report or ban.
    Gone,
    /// The shared records are unreachable (Redis).
    Unreachable,
}

impl From<Unreachable> for Refused {
    fn from(error: Unreachable) -> Self {
        tracing::warn!(%error, "the console could not reach the shared records");
        Refused::Unreachable
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Refused::NoConsole => return StatusCode::NOT_FOUND.into_response(),
            Refused::SignIn => return Redirect::to("/admin").into_response(),
            Refused::Forged => (
                StatusCode::FORBIDDEN,
                "This request did not come from the console's own page, so nothing was changed.",
            ),
            Refused::Gone => (
                StatusCode::NOT_FOUND,
                "That report or ban is no longer there.",
            ),
            Refused::Unreachable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The shared records (Redis) cannot be reached right now. Try again in a moment.",
            ),
        };
        console_page(
            status,
            "Console",
            None,
            &format!(
                "<h1>Console</h1><p role=\"alert\">{text}</p><p><a href=\"/admin\">Back to the console</a></p>"
            ),
        )
    }
}

fn console_of(state: &AppState) -> Result<&Console, Refused> {
    state.console.as_ref().ok_or(Refused::NoConsole)
}

/// The signed-in operator behind a page request.
fn operator(state: &AppState, headers: &HeaderMap) -> Result<Operator, Refused> {
    let console = console_of(state)?;
    let session = console.session(headers).ok_or(Refused::SignIn)?;
    Ok(Operator {
        form_token: console.form_token(&session),
    })
}

/// The signed-in operator behind a state-changing request, checked against
/// forgery: the form's token, and the page's origin when the browser says it.
fn acting_operator(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Operator, Refused> {
    let console = console_of(state)?;
    let session = console.session(headers).ok_or(Refused::SignIn)?;
    let tried = form.get("form_token").map(String::as_str).unwrap_or("");
    if !console.is_form_token(&session, tried) || !same_site(state, headers) {
        return Err(Refused::Forged);
    }
    Ok(Operator {
        form_token: console.form_token(&session),
    })
}

/// Whether the request's `Origin`, if it has one, is this site's.
fn same_site(state: &AppState, headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match text(header::ORIGIN) {
        None => true,
        Some(origin) => state
            .settings
            .origins
            .permits(Some(origin), text(header::HOST)),
    }
}

/// `/admin`: the overview, or the sign-in form.
async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Refused> {
    let operator = match operator(&state, &headers) {
        Ok(operator) => operator,
        Err(Refused::SignIn) => return Ok(sign_in_page(StatusCode::OK, None)),
        Err(refused) => return Err(refused),
    };
    let lobby = state.lobby.snapshot();
    let waiting: usize = lobby.waiting.iter().map(|(_, count)| count).sum();
    let reports = state.moderation.reports().await?.len();
    let bans = state.moderation.bans().await?.len();
    let here = if state.moderation.is_shared() {
        " (this instance)"
    } else {
        ""
    };
    let figures = [
        ("Online", state.lobby.online_everywhere().to_string()),
        (&*format!("Waiting{here}"), waiting.to_string()),
        (&*format!("Chats{here}"), lobby.rooms.to_string()),
        (
            &*format!("Matches in the last minute{here}"),
            state.metrics.matches_last_minute().to_string(),
        ),
        ("Open reports", reports.to_string()),
        ("Active bans", bans.to_string()),
    ]
    .iter()
    .map(|(name, value)| format!("<div><dt>{}</dt><dd>{value}</dd></div>", escape(name)))
    .collect::<String>();
    Ok(console_page(
        StatusCode::OK,
        "Overview",
        Some(&operator),
        &format!("<h1>Overview</h1><dl class=\"figures\">{figures}</dl>"),
    ))
}

fn sign_in_page(status: StatusCode, problem: Option<&str>) -> Response {
    let problem = problem
        .map(|p| format!("<p class=\"problem\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    console_page(
        status,
        "Sign in",
        None,
        &format!(
            "<h1>Operator console</h1>{problem}\
             <form class=\"sign-in\" method=\"post\" action=\"/admin/sign-in\">\
             <label for=\"token\">Operator token</label>\
             <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\" class=\"primary\">Sign in</button></form>"
        ),
    )
}

/// `POST /admin/sign-in`: the right token sets the session cookie; a wrong one
/// is 401, and a network that keeps trying is held off (429).
async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(client): Extension<ClientAddress>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let console = console_of(&state)?;
    if !same_site(&state, &headers) {
        return Err(Refused::Forged);
    }
    let network = client.network;
    let now = Instant::now();
    if !console.may_try(network, now) {
        let mut response = sign_in_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many wrong tokens from your network. Wait a few minutes and try again."),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return Ok(response);
    }
    let tried = form.get("token").map(String::as_str).unwrap_or("");
    if !console.is_token(tried) {
        console.failed(network, now);
        return Ok(sign_in_page(
            StatusCode::UNAUTHORIZED,
            Some("That is not the operator token."),
        ));
    }
    let expires = now_ms() / 1000 + SESSION.as_secs();
    let session = console.session_for(expires);
    state.moderation.audit("Signed in".into()).await?;
    let secure = if is_https(&state, peer, &headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={session}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION.as_secs()
    );
    let mut response = Redirect::to("/admin").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Whether the browser reached the site over https: as the trusted proxy in
/// front says (`X-Forwarded-Proto`); the server itself speaks plain HTTP.
fn is_https(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> bool {
    state.settings.proxies.trusts(peer.ip())
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// `POST /admin/sign-out`.
async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    acting_operator(&state, &headers, &form)?;
    state.moderation.audit("Signed out".into()).await?;
    let mut response = Redirect::to("/admin").into_response();
    let gone = format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&gone) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `/admin/reports`: newest first, each with its evidence and actions.
async fn reports(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Refused> {
    let operator = operator(&state, &headers)?;
    let reports = state.moderation.reports().await?;
    let per_network = super::moderation::reports_per_network(&reports);
    let days = state.moderation.retention().as_secs().div_ceil(86_400);
    let mut body = format!(
        "<h1>Reports</h1><p>Newest first. Reports are deleted after {days} days. The evidence is \
         what the reporter's browser showed and chose to send. Lines marked <i>verified</i> were \
         sent end-to-end encrypted by the reported stranger in that chat, exactly so: the server \
         checked their franking proof. Other lines it cannot confirm.</p>"
    );
    if reports.is_empty() {
        body.push_str("<p>No reports.</p>");
    }
    for report in &reports {
        body.push_str(&report_card(
            report,
            per_network[&report.reported],
            &operator,
        ));
    }
    Ok(console_page(
        StatusCode::OK,
        "Reports",
        Some(&operator),
        &body,
    ))
}

fn report_card(report: &FiledReport, against_network: usize, operator: &Operator) -> String {
    let id = escape(&report.id);
    let evidence = if report.evidence.is_empty() {
        "<p>No messages were included.</p>".to_owned()
    } else {
        let lines: String = report
            .evidence
            .iter()
            .map(|line| {
                let who = match line.from {
                    crate::protocol::Author::You => "Reporter",
                    crate::protocol::Author::Stranger => "Reported stranger",
                };
                let verified = if line.verified {
                    " <span class=\"verified\">(verified)</span>"
                } else {
                    ""
                };
                format!("<li><b>{who}:</b> {}{verified}</li>", escape(&line.text))
            })
            .collect();
        format!("<ol class=\"evidence\">{lines}</ol>")
    };
    let choices: String = BAN_CHOICES
        .iter()
        .map(|(label, seconds)| {
            let value = seconds.map_or("forever".to_owned(), |s| s.to_string());
            let selected = if *seconds == Some(86_400) {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{value}\"{selected}>{label}</option>")
        })
        .collect();
    let times = if against_network == 1 {
        "1 report".to_owned()
    } else {
        format!("{against_network} reports")
    };
    format!(
        "<section class=\"report\" aria-labelledby=\"report-{id}\">\
         <h2 id=\"report-{id}\">{reason}</h2>\
         <p>{when}, {mode} chat. Network <code>{network}</code>: {times}.</p>{evidence}\
         <div class=\"actions\">\
         <form method=\"post\" action=\"/admin/reports/{id}/ban\">{hidden}\
         <label>Ban this network for <select name=\"duration\">{choices}</select></label>\
         <button type=\"submit\" class=\"primary\">Ban network</button></form>\
         <form method=\"post\" action=\"/admin/reports/{id}/dismiss\">{hidden}\
         <button type=\"submit\">Dismiss</button></form>\
         <a href=\"/admin/reports/{id}/download\" download>Download</a></div></section>",
        reason = escape(report.reason.label()),
        when = time_text(report.at_ms),
        mode = report.mode.as_str(),
        network = report.reported,
        hidden = hidden_token(operator),
    )
}

fn hidden_token(operator: &Operator) -> String {
    format!(
        "<input type=\"hidden\" name=\"form_token\" value=\"{}\">",
        escape(&operator.form_token)
    )
}

/// `/admin/reports/{id}/download`: the report as JSON, for a referral to the
/// authorities: reason, evidence, times, the network key (the address was
/// never kept).
async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Refused> {
    operator(&state, &headers)?;
    let report = state.moderation.report(&id).await?.ok_or(Refused::Gone)?;
    state
        .moderation
        .audit(format!("Downloaded report {}", report.id))
        .await?;
    let document = serde_json::json!({
        "service": "Strangers",
        "report_id": report.id,
        "reported_at": rfc3339(report.at_ms),
        "downloaded_at": rfc3339(now_ms()),
        "reason": report.reason.as_str(),
        "reason_label": report.reason.label(),
        "chat_mode": report.mode.as_str(),
        "evidence": report.evidence.iter().map(|line| serde_json::json!({
            "from": match line.from {
                crate::protocol::Author::You => "reporter",
                crate::protocol::Author::Stranger => "reported",
            },
            "text": line.text,
            "verified": line.verified,
        })).collect::<Vec<_>>(),
        "evidence_note": "The chat lines the reporter's browser showed and the reporter chose to send. \
                          The server does not keep chat messages. A line marked verified was sent \
                          end-to-end encrypted by the reported stranger in that chat, exactly so: \
                          the server checked its message franking proof when the report was made. \
                          Other lines it cannot confirm.",
        "reported_network_key": report.reported.to_string(),
        "reporter_network_key": report.reporter.to_string(),
        "network_key_note": "A keyed hash (HMAC-SHA1) of the network address (IPv6: its /64). \
                             The address itself was never stored.",
    });
    let body = serde_json::to_string_pretty(&document).unwrap_or_default();
    let disposition = format!(
        "attachment; filename=\"strangers-report-{}.json\"",
        report.id
    );
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `POST /admin/reports/{id}/ban`: bans the reported network for the chosen time.
async fn ban_reported(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    acting_operator(&state, &headers, &form)?;
    let report = state.moderation.report(&id).await?.ok_or(Refused::Gone)?;
    let duration = match form.get("duration").map(String::as_str) {
        Some("forever") => None,
        Some(seconds) => match seconds.parse::<u64>() {
            Ok(seconds) if seconds > 0 => Some(Duration::from_secs(seconds)),
            _ => return Err(Refused::Forged),
        },
        None => return Err(Refused::Forged),
    };
    state.sanctions().ban(report.reported, duration).await?;
    let length = duration.map_or("for good".to_owned(), |d| {
        format!("for {}", crate::session::describe_wait(d.as_secs()))
    });
    state
        .moderation
        .audit(format!(
            "Banned network {} {length} (report {})",
            report.reported, report.id
        ))
        .await?;
    Ok(Redirect::to("/admin/bans").into_response())
}

/// `POST /admin/reports/{id}/dismiss`: deletes the report.
async fn dismiss(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    acting_operator(&state, &headers, &form)?;
    if !state.moderation.delete_report(&id).await? {
        return Err(Refused::Gone);
    }
    state
        .moderation
        .audit(format!("Dismissed report {id}"))
        .await?;
    Ok(Redirect::to("/admin/reports").into_response())
}

/// `/admin/bans`: each ban with its end and origin.
async fn bans(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Refused> {
    let operator = operator(&state, &headers)?;
    let bans = state.moderation.bans().await?;
    let mut body = String::from("<h1>Bans</h1>");
    if bans.is_empty() {
        body.push_str("<p>No bans in force.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th scope=\"col\">Network</th><th scope=\"col\">Since</th>\
             <th scope=\"col\">Ends</th><th scope=\"col\">Origin</th><th scope=\"col\">Action</th>\
             </tr></thead><tbody>",
        );
        for ban in &bans {
            let ends = if ban.is_forever() {
                "never".to_owned()
            } else {
                time_text(ban.until_ms)
            };
            let origin = match ban.origin {
                BanOrigin::Reports => "automatic, after reports",
                BanOrigin::Operator => "by an operator",
            };
            body.push_str(&format!(
                "<tr><td><code>{address}</code></td><td>{since}</td><td>{ends}</td><td>{origin}</td>\
                 <td><form method=\"post\" action=\"/admin/bans/{address}/lift\">{hidden}\
                 <button type=\"submit\" aria-label=\"Lift ban on network {address}\">Lift ban</button>\
                 </form></td></tr>",
                address = ban.address,
                since = time_text(ban.since_ms),
                hidden = hidden_token(&operator),
            ));
        }
        body.push_str("</tbody></table>");
    }
    Ok(console_page(StatusCode::OK, "Bans", Some(&operator), &body))
}

/// `POST /admin/bans/{address}/lift`.
async fn lift(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(address): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    acting_operator(&state, &headers, &form)?;
    let address: AddressKey = address.parse().map_err(|_| Refused::Gone)?;
    state.sanctions().lift(address).await?;
    state
        .moderation
        .audit(format!("Lifted the ban on network {address}"))
        .await?;
    Ok(Redirect::to("/admin/bans").into_response())
}

/// `/admin/audit`: what operators did, newest first.
async fn audit(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Refused> {
    let operator = operator(&state, &headers)?;
    let entries = state.moderation.audit_log().await?;
    let mut body = String::from("<h1>Audit log</h1>");
    if entries.is_empty() {
        body.push_str("<p>Nothing yet.</p>");
    } else {
        body.push_str("<ol class=\"audit\">");
        for entry in &entries {
            body.push_str(&format!(
                "<li><time>{}</time> {}</li>",
                time_text(entry.at_ms),
                escape(&entry.action)
            ));
        }
        body.push_str("</ol>");
    }
    Ok(console_page(
        StatusCode::OK,
        "Audit log",
        Some(&operator),
        &body,
    ))
}

/// A console page: the navigation (when signed in) above `body`; never cached.
fn console_page(
    status: StatusCode,
    title: &str,
    operator: Option<&Operator>,
    body: &str,
) -> Response {
    let nav = operator.map_or(String::new(), |operator| {
        format!(
            "<nav class=\"console-nav\" aria-label=\"Console\"><a href=\"/admin\">Overview</a>\
             <a href=\"/admin/reports\">Reports</a><a href=\"/admin/bans\">Bans</a>\
             <a href=\"/admin/audit\">Audit log</a>\
             <form method=\"post\" action=\"/admin/sign-out\">{}<button type=\"submit\">Sign out</button></form></nav>",
            hidden_token(operator)
        )
    });
    let mut response = page(
        &format!("{title} - Console"),
        &format!("<div class=\"console\">{nav}{body}</div>"),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The site sends no referrer anywhere else; here its own forms need one:
    // under `no-referrer` a browser sends `Origin: null` with them, and the
    // forgery check could not tell the console's page from another site's.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The value of cookie `name` in `headers`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `2026-12-01 10:23 UTC`.
fn time_text(ms: u64) -> String {
    let (date, hour, minute, _) = civil(ms);
    format!("{date} {hour:02}:{minute:02} UTC")
}

/// `2026-12-01T10:23:05Z`.
fn rfc3339(ms: u64) -> String {
    let (date, hour, minute, second) = civil(ms);
    format!("{date}T{hour:02}:{minute:02}:{second:02}Z")
}

/// The UTC date (`2026-12-01`), hour, minute and second of `ms` since 1970
/// (the days-to-civil algorithm of Howard Hinnant's date library).
fn civil(ms: u64) -> (String, u64, u64, u64) {
    let seconds = ms / 1000;
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_signed_with_the_token_and_expire() {
        let console = Console::new("the operator token");
        let mut headers = HeaderMap::new();
        let good = console.session_for(now_ms() / 1000 + 60);
        headers.insert(
            header::COOKIE,
            format!("a=b; {COOKIE}={good}").parse().unwrap(),
        );
        assert_eq!(console.session(&headers), Some(good.clone()));

        let other = Console::new("another token");
        assert_eq!(other.session(&headers), None, "another token's console");
        let expired = console.session_for(now_ms() / 1000 - 1);
        headers.insert(
            header::COOKIE,
            format!("{COOKIE}={expired}").parse().unwrap(),
        );
        assert_eq!(console.session(&headers), None);
        let tampered = good.replacen(|c: char| c.is_ascii_digit(), "9", 1);
        headers.insert(
            header::COOKIE,
            format!("{COOKIE}={tampered}").parse().unwrap(),
        );
        assert_eq!(console.session(&headers), None);

        let form = console.form_token(&good);
        assert!(console.is_form_token(&good, &form));
        assert!(!console.is_form_token(&good, ""));
        assert!(!console.is_form_token(&expired, &form));
        assert!(console.is_token("the operator token"));
        assert!(!console.is_token("the operator toke"));
    }

    #[tokio::test(start_paused = true)]
    async fn wrong_tokens_from_one_network_are_held_off() {
        let console = Console::new("t");
        let network: AddressKey = "00000000000000aa".parse().unwrap();
        let elsewhere: AddressKey = "00000000000000bb".parse().unwrap();
        for _ in 0..5 {
            assert!(console.may_try(network, Instant::now()));
            console.failed(network, Instant::now());
        }
        assert!(!console.may_try(network, Instant::now()));
        assert!(console.may_try(elsewhere, Instant::now()));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(
            console.may_try(network, Instant::now()),
            "one try back a minute"
        );
    }

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(time_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(rfc3339(1_764_584_585_000), "2025-12-01T10:23:05Z");
        assert_eq!(time_text(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
