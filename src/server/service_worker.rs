//! `/sw.js`: the service worker that makes the site an installable app.
//!
//! It is written here rather than kept in `public/` because it must name the
//! release's files: a release build names them by their content, and a worker
//! whose text changes is what tells browsers a new release is out (they
//! install it and drop the old release's cache). What it does is in
//! `service_worker.js`, beside this file.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::built::BuiltFiles;
use super::front_door::cache_policy;

/// The worker's code, with placeholders for what [`script`] fills in.
const TEMPLATE: &str = include_str!("service_worker.js");

/// The site's other files a worker keeps: those every page loads. (Not the
/// manifest and its icons: an installed app has its own copies, and fetching
/// them again would add 17 KB to a first visit.)
const APP_FILES: [&str; 1] = ["/favicon.svg"];

/// The worker for the site built as `built`. In a release build its files are
/// named by their content, so the worker may answer with them without asking
/// the server, and the release is named by the WebAssembly's name; a
/// development build's files change under the same names, so the worker asks
/// the server first and keeps them only for when it cannot be reached.
pub fn script(built: &BuiltFiles) -> String {
    let immutable = cache_policy(&built.wasm).is_some_and(|policy| policy.contains("immutable"));
    let release = if immutable {
        built.wasm.rsplit('/').next().unwrap_or("dev")
    } else {
        "dev"
    };
    let files: Vec<&str> = [
        built.script.as_str(),
        built.wasm.as_str(),
        built.stylesheet.as_str(),
    ]
    .into_iter()
    .chain(APP_FILES)
    .collect();
    without_comments(TEMPLATE)
        .replace("__RELEASE__", &json_string(release))
        .replace(
            "__FILES__",
            &format!(
                "[{}]",
                files
                    .iter()
                    .map(|f| json_string(f))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .replace("__IMMUTABLE__", if immutable { "true" } else { "false" })
}

/// The worker's code without its comments and blank lines, which are for
/// the people reading `service_worker.js`, not for the browsers that fetch it
/// on every first visit. Its comments are all on lines of their own.
fn without_comments(code: &str) -> String {
    code.lines()
        .filter(|line| {
            let line = line.trim_start();
            !(line.is_empty()
                || line.starts_with("//")
                || line.starts_with("/*")
                || line.starts_with('*'))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// `text` as a JavaScript string literal.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Answers `GET /sw.js`. Browsers check for a new worker at every visit (at
/// least once a day); `no-cache` makes each check a cheap revalidation.
pub async fn serve(State(state): State<AppState>) -> Response {
    // Made once: the files it names do not change while the server runs.
    static WORKER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let worker = WORKER.get_or_init(|| script(BuiltFiles::of(&state.leptos_options)));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        worker.as_str(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::LeptosOptions;

    fn built(hashes: Option<&str>) -> BuiltFiles {
        BuiltFiles::named(
            &LeptosOptions::builder().output_name("strangers").build(),
            hashes,
        )
    }

    #[test]
    fn a_release_worker_names_its_release_and_keeps_its_files_for_good() {
        let release = built(Some(
            "js: AAAAAAAAAAAAAAAAAAAAAA\nwasm: BBBBBBBBBBBBBBBBBBBBBB\ncss: CCCCCCCCCCCCCCCCCCCCCC\n",
        ));
        let worker = script(&release);
        assert!(worker.contains(r#"const RELEASE = "strangers.BBBBBBBBBBBBBBBBBBBBBB.wasm";"#));
        assert!(worker.contains(r#""/pkg/strangers.AAAAAAAAAAAAAAAAAAAAAA.js""#));
        assert!(worker.contains(r#""/pkg/strangers.CCCCCCCCCCCCCCCCCCCCCC.css""#));
        assert!(worker.contains(r#""/favicon.svg""#));
        assert!(worker.contains("const IMMUTABLE = true;"));
        assert!(!worker.contains("__"), "a placeholder was left: {worker}");
        assert!(
            !worker.contains("//") && !worker.contains("/**"),
            "comments are not sent"
        );
        assert_eq!(
            worker.matches("addEventListener").count(),
            TEMPLATE.matches("self.addEventListener").count(),
            "every handler is kept"
        );
    }

    #[test]
    fn a_development_worker_asks_the_server_first() {
        let worker = script(&built(None));
        assert!(worker.contains(r#"const RELEASE = "dev";"#));
        assert!(worker.contains("const IMMUTABLE = false;"));
        assert!(worker.contains(r#""/pkg/strangers.js""#));
    }

    #[test]
    fn the_worker_never_lists_the_chat_or_the_console() {
        let worker = script(&built(None));
        let files = worker
            .lines()
            .find(|line| line.starts_with("const FILES"))
            .unwrap();
        for private in ["/ws", "/online", "/admin", "/metrics"] {
            assert!(!files.contains(&format!("\"{private}")), "{files}");
        }
    }
}
