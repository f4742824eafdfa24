//! The pages an operator publishes: the rules (`/rules`), what is kept about
//! people (`/privacy`) and how to reach the operator (`/contact`).
//!
//! Each has a default an operator can keep; `--rules-file` and `--privacy-file`
//! replace them with the operator's own Markdown (`.md`) or HTML (`.html`)
//! file, read once at startup. They are plain server-rendered documents: no
//! script runs on them, so they load at once and an operator's HTML cannot run
//! code in visitors' browsers (their Content-Security-Policy allows none).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::server::built::BuiltFiles;

use super::AppState;

/// The default rules, in Markdown.
const DEFAULT_RULES: &str = include_str!("documents/rules.md");
/// The default privacy page, in Markdown, with `{retention}`, `{offences}` and `{storage}`
/// filled in from the server's configuration.
const DEFAULT_PRIVACY: &str = include_str!("documents/privacy.md");

/// How a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CommonMark, turned into HTML.
    Markdown,
    /// HTML, used as it is (inside the page's `<article>`).
    Html,
}

/// An operator's document, as read at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    text: Arc<str>,
    format: Format,
}

impl Document {
    /// `text` written in `format`.
    pub fn new(text: &str, format: Format) -> Self {
        Document {
            text: text.into(),
            format,
        }
    }

    /// Reads the file at `path` for `--flag`: Markdown if it ends in `.md` or
    /// `.markdown`, HTML if in `.html` or `.htm`. Anything else, or a file that
    /// cannot be read, is an error naming the flag.
    pub fn load(flag: &str, path: &Path) -> Result<Self, String> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let format = match extension.as_deref() {
            Some("md" | "markdown") => Format::Markdown,
            Some("html" | "htm") => Format::Html,
            _ => {
                return Err(format!(
                    "--{flag}: {} must end in .md (Markdown) or .html (HTML)",
                    path.display()
                ));
            }
        };
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("--{flag}: cannot read {}: {error}", path.display()))?;
        Ok(Document::new(&text, format))
    }

    /// The document as HTML.
    pub fn to_html(&self) -> String {
        match self.format {
            Format::Html => self.text.to_string(),
            Format::Markdown => {
                // CommonMark with GitHub's tables, strikethrough and task lists;
                // quotes and dashes are left as the operator typed them.
                use pulldown_cmark::Options;
                let options = Options::ENABLE_TABLES
                    | Options::ENABLE_STRIKETHROUGH
                    | Options::ENABLE_TASKLISTS
                    | Options::ENABLE_FOOTNOTES;
                let parser = pulldown_cmark::Parser::new_ext(&self.text, options);
                let mut html = String::new();
                pulldown_cmark::html::push_html(&mut html, parser);
                html
            }
        }
    }
}

/// How visitors reach the operator (`--contact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// An e-mail address.
    Email(String),
    /// A web page (http or https).
    Web(String),
}

impl Contact {
    /// An e-mail address (`abuse@example.org`, or `mailto:...`) or an `https://`
    /// or `http://` address; anything else is an error naming the flag.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let address = text.strip_prefix("mailto:").unwrap_or(text);
        let plausible_email = address.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace)
        });
        if text.starts_with("https://") || text.starts_with("http://") {
            if text.contains(char::is_whitespace) {
                return Err("--contact: a web address cannot contain spaces".into());
            }
            Ok(Contact::Web(text.to_owned()))
        } else if plausible_email && !address.contains(':') {
            Ok(Contact::Email(address.to_owned()))
        } else {
            Err(format!(
                "--contact: {text:?} is neither an e-mail address nor an http(s) address"
            ))
        }
    }

    /// Where the contact link points.
    pub fn href(&self) -> String {
        match self {
            Contact::Email(address) => format!("mailto:{address}"),
            Contact::Web(url) => url.clone(),
        }
    }

    /// The contact as shown.
    pub fn text(&self) -> &str {
        match self {
            Contact::Email(address) | Contact::Web(address) => address,
        }
    }
}

/// What the operator publishes; `None`: the default.
#[derive(Debug, Clone, Default)]
pub struct SitePages {
    /// `--rules-file`.
    pub rules: Option<Document>,
    /// `--privacy-file`.
    pub privacy: Option<Document>,
    /// `--contact`.
    pub contact: Option<Contact>,
}

/// "1 day", "30 days": `span` in whole days, rounded up.
fn days(span: Duration) -> String {
    match span.as_secs().div_ceil(86_400) {
        1 => "1 day".to_owned(),
        days => format!("{days} days"),
    }
}

/// The default privacy page for a server that keeps reports for `retention`,
/// remembers past bans for `offence_memory`, and runs alone (`shared`: false)
/// or with other instances through Redis.
pub fn default_privacy(retention: Duration, offence_memory: Duration, shared: bool) -> Document {
    let storage = if shared {
        "## Where it is kept\n\nThis service runs on several servers that share a Redis database. \
         The hashed network keys of limits and bans, reports, bans and the operators' audit log are \
         kept there so that every server agrees; nothing else about you is."
    } else {
        "## Where it is kept\n\nEverything above is kept only in this server's memory. A restart of \
         the server forgets it all: limits, bans and reports alike."
    };
    let text = DEFAULT_PRIVACY
        .replace("{retention}", &days(retention))
        .replace("{offences}", &days(offence_memory))
        .replace("{storage}", storage);
    Document::new(&text, Format::Markdown)
}

/// `/rules`, `/privacy` and `/contact`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rules", get(rules))
        .route("/privacy", get(privacy))
        .route("/contact", get(contact))
}

async fn rules(State(state): State<AppState>) -> Response {
    let pages = &state.settings.pages;
    let rules = pages
        .rules
        .clone()
        .unwrap_or_else(|| Document::new(DEFAULT_RULES, Format::Markdown));
    page("Rules", &format!("<article>{}</article>", rules.to_html()))
}

async fn privacy(State(state): State<AppState>) -> Response {
    let settings = &state.settings;
    let privacy = settings.pages.privacy.clone().unwrap_or_else(|| {
        default_privacy(
            settings.report_retention,
            settings.limits.offence_memory,
            settings.redis_url.is_some(),
        )
    });
    page(
        "Privacy",
        &format!("<article>{}</article>", privacy.to_html()),
    )
}

async fn contact(State(state): State<AppState>) -> Response {
    let body = match &state.settings.pages.contact {
        Some(contact) => format!(
            "<article><h1>Contact</h1><p>To reach the people who run this server (about abuse, a ban, \
             or anything else): <a href=\"{}\">{}</a>.</p><p>To report a stranger during a chat, \
             press <strong>Report</strong>: it ends the chat and sends the report to them \
             directly.</p></article>",
            escape(&contact.href()),
            escape(contact.text())
        ),
        None => "<article><h1>Contact</h1><p>The operator of this server has not published a \
                 contact address.</p><p>To report a stranger during a chat, press \
                 <strong>Report</strong>: it ends the chat and sends the report to the operator.</p>\
                 </article>"
            .to_owned(),
    };
    page("Contact", &body)
}

/// A plain page of this site around `body`: the stylesheet, the brand, the
/// footer. No scripts: its Content-Security-Policy allows none.
pub fn page(title: &str, body: &str) -> Response {
    let stylesheet = BuiltFiles::current().map_or("/pkg/strangers.css", |built| &built.stylesheet);
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{title} - Strangers</title>\
         <link rel=\"stylesheet\" href=\"{stylesheet}\"></head>\
         <body><header class=\"document-header\"><a class=\"brand\" href=\"/\">Strangers</a></header>\
         <main class=\"document\">{body}</main>{FOOTER}</body></html>",
        title = escape(title),
        stylesheet = escape(stylesheet),
    );
    let mut response = (StatusCode::OK, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    response
}

/// The footer of the server-rendered pages; the app's pages have the same one
/// ([`crate::components::SiteFooter`]).
const FOOTER: &str = "<footer class=\"site-footer\"><nav aria-label=\"About Strangers\">\
    <a href=\"/rules\">Rules</a><a href=\"/privacy\">Privacy</a><a href=\"/contact\">Contact</a>\
    </nav></footer>";

/// `text` safe to put in HTML text or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html_and_html_is_kept() {
        let markdown = Document::new("# Rules\n\n1. **Be kind**", Format::Markdown);
        let html = markdown.to_html();
        assert!(html.contains("<h1>Rules</h1>"), "{html}");
        assert!(html.contains("<strong>Be kind</strong>"), "{html}");
        let quoted = Document::new("the server's memory", Format::Markdown).to_html();
        assert!(quoted.contains("server's"), "quotes as typed: {quoted}");
        let own = Document::new("<h1>Our rules</h1>", Format::Html);
        assert_eq!(own.to_html(), "<h1>Our rules</h1>");
    }

    #[test]
    fn operator_files_are_read_by_their_extension_and_anything_else_names_the_flag() {
        let dir = std::env::temp_dir().join(format!("strangers-docs-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let md = dir.join("rules.md");
        std::fs::write(&md, "*mine*").unwrap();
        let loaded = Document::load("rules-file", &md).unwrap();
        assert!(loaded.to_html().contains("<em>mine</em>"));
        let html = dir.join("privacy.HTML");
        std::fs::write(&html, "<p>ours</p>").unwrap();
        assert_eq!(
            Document::load("privacy-file", &html).unwrap().to_html(),
            "<p>ours</p>"
        );
        let txt = dir.join("rules.txt");
        std::fs::write(&txt, "plain").unwrap();
        let error = Document::load("rules-file", &txt).unwrap_err();
        assert!(error.starts_with("--rules-file:"), "{error}");
        let missing = Document::load("privacy-file", &dir.join("gone.md")).unwrap_err();
        assert!(
            missing.starts_with("--privacy-file: cannot read"),
            "{missing}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_contact_is_an_email_address_or_a_web_address() {
        assert_eq!(
            Contact::parse("abuse@example.org").unwrap().href(),
            "mailto:abuse@example.org"
        );
        assert_eq!(
            Contact::parse("mailto:abuse@example.org").unwrap(),
            Contact::Email("abuse@example.org".into())
        );
        assert_eq!(
            Contact::parse("https://example.org/contact")
                .unwrap()
                .href(),
            "https://example.org/contact"
        );
        for bad in [
            "",
            "nobody",
            "javascript:alert(1)",
            "a@b",
            "ftp://x.org",
            "https://a b",
        ] {
            assert!(Contact::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_privacy_page_says_how_long_reports_are_kept_and_where() {
        let month = Duration::from_secs(30 * 86_400);
        let alone = default_privacy(month, Duration::from_secs(7 * 86_400), false).to_html();
        assert!(alone.contains("30 days"), "{alone}");
        assert!(
            alone.contains("remembered for <strong>7 days</strong>"),
            "{alone}"
        );
        assert!(alone.contains("only in this server"), "{alone}");
        let shared = default_privacy(Duration::from_secs(86_400), month, true).to_html();
        assert!(shared.contains("1 day"));
        assert!(shared.contains("Redis"));
        assert!(!shared.contains('{'), "every placeholder filled");
    }

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
