//! "Stranger found" notifications, for a person who looks at another tab while
//! they wait.

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Notification, NotificationPermission};

use crate::browser::NotifyPermission;
use crate::i18n::Word;

/// Whether `object` has the property `name`: the page's way of asking what this
/// browser offers before calling it (a missing API would throw).
fn offers(object: &JsValue, name: &str) -> bool {
    js_sys::Reflect::has(object, &JsValue::from_str(name)).unwrap_or(false)
}

/// What this browser lets the page do.
pub fn notify_permission() -> NotifyPermission {
    let Some(window) = web_sys::window() else {
        return NotifyPermission::Unavailable;
    };
    if !offers(&window, "Notification") {
        return NotifyPermission::Unavailable;
    }
    match Notification::permission() {
        NotificationPermission::Granted => NotifyPermission::Granted,
        NotificationPermission::Denied => NotifyPermission::Refused,
        _ => NotifyPermission::Ask,
    }
}

/// Installs the app's service worker (`/sw.js`), if the browser has them.
/// Once the first stranger is found, or when the person asks to be told of one
/// (phones notify only through a worker): what it offers (a faster return, the
/// start page offline, notifications) matters from then on, and a first visit
/// does not wait for it. Asking again, as every chat does, fetches nothing.
pub fn install_app() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    if offers(&navigator, "serviceWorker") {
        let registered = navigator.service_worker().register("/sw.js");
        // A refusal (a private window, a blocked worker, a certificate the
        // browser does not trust) leaves the page as it is: awaited, not left
        // to be reported as an unhandled error.
        super::spawn(async move {
            let _ = JsFuture::from(registered).await;
        });
    }
}

/// Asks the person (the browser shows its own question), then says what they chose.
pub async fn ask_to_notify() -> NotifyPermission {
    install_app();
    if notify_permission() == NotifyPermission::Ask
        && let Ok(question) = Notification::request_permission()
    {
        let _ = JsFuture::from(question).await;
    }
    notify_permission()
}

/// Shows "Stranger found". Through the service worker where there is one, as
/// phones only show notifications from there (it also brings this tab back
/// when the notification is clicked); else from the page.
pub fn notify_stranger_found() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let navigator = window.navigator();
    let worker = offers(&navigator, "serviceWorker")
        .then(|| navigator.service_worker().controller())
        .flatten();
    match worker {
        Some(worker) => {
            let message = format!(
                "stranger-found\n{}\n{}",
                Word::StrangerFound.say(),
                Word::SayHi.say()
            );
            let _ = worker.post_message(&JsValue::from_str(&message));
        }
        None => {
            let _ = Notification::new(Word::StrangerFound.say());
        }
    }
}
