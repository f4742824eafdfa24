//! Strangers: anonymous one-to-one chat with a random stranger.
//!
//! One crate, built twice: for the server (`ssr`, axum) and for the browser
//! (`hydrate`, WebAssembly). The map:
//!
//! - [`protocol`]: the messages that cross the WebSocket, shared by both sides.
//! - [`video_guard`]: whether the stranger's video is shown or blurred (nudity check verdicts, the viewer's choices).
//! - [`session`]: a visitor's chat as the browser sees it (phase and log), pure and tested natively.
//! - [`app`]: the HTML shell and the router.
//! - [`pages`]: the landing page and the chat page.
//! - [`components`]: the chat page's parts: status line, log, message box, Stop/New button.
//! - `socket` (browser only): the WebSocket to the server.
//! - `nudity` (browser only): samples the stranger's video into the nudity check's worker.
//! - `video` (browser only): the camera and microphone, and the WebRTC call to the stranger.
//! - `bot_check` (browser only): solves the server's bot check with WebCrypto.
//! - `browser` (browser only): the per-browser id, file downloads, tab visibility.
//! - `server` (server only): `/ws`, the lobby, matchmaker, rooms and connections.

// Leptos views are deeply nested types; the landing page form outgrows the default.
#![recursion_limit = "256"]

pub mod app;
pub mod components;
pub mod pages;
pub mod protocol;
pub mod session;
pub mod video_guard;

#[cfg(feature = "hydrate")]
pub mod bot_check;
#[cfg(feature = "hydrate")]
pub mod browser;
#[cfg(feature = "hydrate")]
pub mod nudity;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "hydrate")]
pub mod socket;
#[cfg(feature = "hydrate")]
pub mod video;

/// The browser's entry point: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
