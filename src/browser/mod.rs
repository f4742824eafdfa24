//! What only a browser can do, behind one switch: the socket, timers, the
//! camera and the call, the nudity check, the bot check's hashing, storage,
//! downloads, the tab's title and notifications.
//!
//! In the browser build (`hydrate`) this is `live`: the real thing. In the
//! server build, which only renders pages, it is `inert`: the same names,
//! doing nothing, so the chat controller and the components are written once,
//! without a `cfg` of their own.

#[cfg(feature = "hydrate")]
mod live;
#[cfg(feature = "hydrate")]
pub use live::*;

#[cfg(not(feature = "hydrate"))]
mod inert;
#[cfg(not(feature = "hydrate"))]
pub use inert::*;

use crate::protocol::CallSignal;

/// Whether the page may tell the person, with a notification, that a
/// stranger was found while they were in another tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyPermission {
    /// This browser has no notifications (or this is the server).
    Unavailable,
    /// The person has not been asked yet.
    Ask,
    /// The person allowed them.
    Granted,
    /// The person, or their browser, refused them.
    Refused,
}

/// What a chat's end-to-end encryption tells the page, in either build.
pub struct SealEvents {
    /// Send this frame (JSON text) to the server: this browser's key, a sealed
    /// message, or a message as it is when the stranger offered no key.
    pub send: Box<dyn FnMut(String)>,
    /// The keys are agreed, with this safety code; or `None`: the stranger
    /// offered no key in time, so messages go unencrypted.
    pub agreed: Box<dyn FnMut(Option<String>)>,
    /// A sealed message opened: its text and franking proof, or `None` if it
    /// could not be opened or verified.
    pub heard: Box<dyn FnMut(Option<Opened>)>,
}

/// A sealed message opened: its text, and its franking proof.
pub type Opened = (String, String);

/// What a video call tells the page, in either build.
pub struct CallEvents {
    /// Pass a setup step to the server, for the stranger.
    pub send: Box<dyn FnMut(CallSignal)>,
    /// Whether the stranger's sound plays (a browser may block it until a click).
    pub sound: Box<dyn FnMut(bool)>,
    /// No route between the two browsers could be found.
    pub failed: Box<dyn FnMut()>,
}
