//! The server's twin of the browser's side: the same names, doing nothing.
//! The server only renders pages, and the chat controller's work starts in
//! effects and events, which never run there; these exist so that code
//! compiles once for both builds. Nothing here can be constructed.

use std::convert::Infallible;
use std::time::Duration;

use leptos::html::Video;
use leptos::prelude::NodeRef;

use super::{CallEvents, NotifyPermission, SealEvents};
use crate::protocol::{CallSetup, CallSignal, Challenge, ServerMessage};
use crate::session::{Device, VideoProblem};

/// The chat's socket: never open on the server.
pub struct Link(Infallible);

impl Link {
    /// Fails: there is no socket to open.
    pub fn open(
        _on_message: impl Fn(ServerMessage) + 'static,
        _on_close: impl FnOnce(Option<String>) + 'static,
    ) -> Result<Self, String> {
        Err("no socket on the server".into())
    }

    /// Never reached.
    pub fn send(&self, _frame: String) {
        match self.0 {}
    }
}

/// The online count's feed: none on the server.
pub struct OnlineFeed(Infallible);

impl OnlineFeed {
    /// There is none.
    pub fn open(_on_count: impl Fn(u64) + 'static) -> Option<OnlineFeed> {
        None
    }
}

/// A timer: none on the server.
pub struct Timer(Infallible);

impl Timer {
    /// There is none.
    pub fn after(_delay: Duration, _then: impl FnOnce() + 'static) -> Option<Timer> {
        None
    }

    /// Never reached.
    pub fn cancel(self) {
        match self.0 {}
    }
}

/// Drops `task`: nothing runs in the background of a page being rendered.
pub fn spawn(task: impl Future<Output = ()> + 'static) {
    drop(task);
}

/// The camera: never on the server.
pub struct Camera(Infallible);

impl Camera {
    /// Fails: the server has no camera.
    pub async fn start() -> Result<Camera, VideoProblem> {
        Err(VideoProblem::Failed)
    }

    /// Never reached.
    pub fn set_on(&self, _device: Device, _on: bool) {
        match self.0 {}
    }

    /// Never reached.
    pub async fn show_in(&self, _video: NodeRef<Video>) {
        match self.0 {}
    }
}

/// A call: never on the server.
pub struct Call(Infallible);

impl Call {
    /// There is none.
    pub fn start(
        _setup: &CallSetup,
        _hide_ip: bool,
        _camera: &Camera,
        _remote: NodeRef<Video>,
        _events: CallEvents,
    ) -> Option<Call> {
        None
    }

    /// Never reached.
    pub fn receive(&self, _signal: CallSignal) {
        match self.0 {}
    }
}

/// Nothing to install on the server.
pub fn install_app() {}

/// No encryption on the server.
pub fn seal_begin(_events: SealEvents) {}

/// Nothing to meet.
pub fn seal_meet(_key: String) {}

/// Nothing to seal.
pub fn seal_say(_text: String) {}

/// Nothing to open.
pub fn seal_open(_data: String, _commitment: String, _stamp: String) {}

/// Nothing to end.
pub fn seal_end() {}

/// The nudity check: never on the server.
pub struct NudityCheck(Infallible);

impl NudityCheck {
    /// There is none.
    pub fn start(_video: NodeRef<Video>, _verdict: impl FnMut(bool) + 'static) -> Option<Self> {
        None
    }
}

/// Nothing to clear.
pub fn clear(_video: NodeRef<Video>) {}

/// Nothing to unmute.
pub fn unmute(_video: NodeRef<Video>) {}

/// No answer: the bot check is solved only in a browser.
pub async fn solve(_challenge: &Challenge) -> Option<u64> {
    None
}

/// No browser, no id.
pub fn browser_id() -> Option<String> {
    None
}

/// Nothing remembered on the server.
pub fn agreed() -> bool {
    false
}

/// Nothing to remember on the server.
pub fn remember_agreed(_agreed: bool) {}

/// Nothing to download on the server.
pub fn download_text(_file_name: &str, _text: &str) {}

/// A page being rendered is not in any tab.
pub fn tab_hidden() -> bool {
    false
}

/// The server renders the title in the page itself.
pub fn set_title(_title: &str) {}

/// The server reads addresses with its router.
pub fn address_values(_field: &str) -> Vec<String> {
    Vec::new()
}

/// The server knows its facts first-hand.
pub fn page_data(_name: &str) -> Option<String> {
    None
}

/// The server shows no notifications.
pub fn notify_permission() -> NotifyPermission {
    NotifyPermission::Unavailable
}

/// Nobody to ask on the server.
pub async fn ask_to_notify() -> NotifyPermission {
    NotifyPermission::Unavailable
}

/// Nobody to tell on the server.
pub fn notify_stranger_found() {}
