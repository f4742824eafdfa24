//! The real thing, in the browser.

mod bot_check;
mod modules;
mod notify;
mod page;
mod seal;
mod socket;
mod video;

use std::time::Duration;

use leptos::leptos_dom::helpers::{TimeoutHandle, set_timeout_with_handle};

pub use bot_check::solve;
pub use notify::{ask_to_notify, install_app, notify_permission, notify_stranger_found};
pub use page::{
    address_values, agreed, browser_id, download_text, page_data, remember_agreed, set_title,
    tab_hidden,
};
pub use seal::{seal_begin, seal_end, seal_meet, seal_open, seal_say};
pub use socket::{Link, OnlineFeed};
pub use video::{Call, Camera, NudityCheck, clear, unmute};

/// Runs `task` in the background on this page.
pub fn spawn(task: impl Future<Output = ()> + 'static) {
    leptos::task::spawn_local(task);
}

/// Something to do later, unless cancelled first.
pub struct Timer(TimeoutHandle);

impl Timer {
    /// Runs `then` after `delay`.
    pub fn after(delay: Duration, then: impl FnOnce() + 'static) -> Option<Timer> {
        set_timeout_with_handle(then, delay).ok().map(Timer)
    }

    /// It will not run.
    pub fn cancel(self) {
        self.0.clear();
    }
}
