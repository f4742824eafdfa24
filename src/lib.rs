//! Strangers: anonymous one-to-one chat with a random stranger.
//!
//! One crate, built twice: for the server (`ssr`, axum) and for the browser
//! (`hydrate`, WebAssembly). The map:
//!
//! - [`protocol`]: the messages that cross the WebSocket, shared by both sides.
//! - [`video_guard`]: whether the stranger's video is shown or blurred (nudity check verdicts, the viewer's choices).
//! - [`i18n`]: the pages' languages: what each sentence is in each, and which one a visitor gets.
//! - [`session`]: a visitor's chat as the browser sees it (phase and log), pure and tested natively.
//! - [`chat`]: the chat controller: the session's state the components share, and what it drives.
//! - [`browser`]: what only a browser can do (socket, timers, camera and call, storage), real in
//!   the browser build and doing nothing in the server's, behind one switch.
//! - [`app`]: the HTML shell and the router (server side: the browser hydrates islands only).
//! - [`pages`]: the landing page and the chat page, and their islands.
//! - [`components`]: the pages' parts: status line, log, message box, Stop/New button.
//! - `public/video/call.js`: the camera, the WebRTC call and the nudity check's sampler, in
//!   JavaScript fetched only by video chats.
//! - `server` (server only): `/ws`, the lobby, matchmaker, rooms and connections.

// Leptos views are deeply nested types; the landing page form outgrows the default.
#![recursion_limit = "256"]

pub mod app;
pub mod browser;
pub mod chat;
pub mod components;
pub mod i18n;
pub mod pages;
pub mod protocol;
pub mod session;
pub mod video_guard;

#[cfg(feature = "ssr")]
pub mod server;

/// The browser's entry point: the page is the server's HTML, and only its
/// islands (the chat, the start form, the online count) come to life.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
