//! The Strangers server binary: read the configuration, bind, serve.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    use clap::Parser;
    use leptos::prelude::get_configuration;
    use strangers::server;

    // Flags (and their environment twins) first: `--help` and bad values end here.
    let config = server::config::Config::parse();
    let rust_log = std::env::var("RUST_LOG").ok();
    tracing_subscriber::fmt()
        .with_env_filter(server::config::log_filter(rust_log.as_deref()))
        .init();

    let mut options = get_configuration(None)
        .map_err(std::io::Error::other)?
        .leptos_options;
    options.site_addr = config.listen;
    // A release build names the site's files by their content (so browsers may
    // keep them for good) and leaves the names in a hash file beside the
    // binary: wherever that file is, the pages link to those names, however
    // the binary was started.
    if server::built::hash_file(&options).is_some_and(|file| file.exists()) {
        options.hash_files = true;
    }
    let settings = config.settings().map_err(std::io::Error::other)?;
    let addr = options.site_addr;
    let listener = server::bind(addr)?;
    tracing::info!("Strangers is listening on http://{addr}");
    let state = server::AppState::start(options, settings)
        .await
        .map_err(|error| std::io::Error::other(format!("cannot reach Redis: {error}")))?;
    server::serve(listener, state, shutdown_signal()).await
}

/// Completes on Ctrl-C or SIGTERM.
#[cfg(feature = "ssr")]
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build starts from `strangers::hydrate` in lib.rs instead.
}
