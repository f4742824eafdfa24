//! Video chats, the page's side: the camera, the call and the nudity check are
//! carried out by `public/video/call.js`, a JavaScript module the page adds
//! the first time someone chooses Video, so a text chat never downloads it.
//! Here are the handles the chat controller holds; each undoes its work when
//! dropped (the camera light goes off, the call hangs up, the check stops).
//!
//! What the call's setup steps are, and what the check's scores mean, stay in
//! Rust ([`CallSignal`], [`Scores`]); the module only moves media.

use js_sys::{Promise, Reflect};

use super::modules;
use leptos::html::Video;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlVideoElement;

use super::socket::Parsed;
use crate::browser::CallEvents;
use crate::protocol::{CallRole, CallSetup, CallSignal};
use crate::session::{Device, VideoProblem};
use crate::video_guard::Scores;

/// Where the video module is served from.
const MODULE: &str = "/video/call.js";
/// What it sets when it has run.
const GLOBAL: &str = "strangersVideo";

#[wasm_bindgen]
extern "C" {
    /// What `call.js` exports, as `globalThis.strangersVideo`.
    type VideoModule;
    #[wasm_bindgen(method, js_name = startCamera)]
    fn start_camera(this: &VideoModule) -> Promise;
    #[wasm_bindgen(method, js_name = startCall)]
    fn start_call(
        this: &VideoModule,
        setup: &JsValue,
        camera: &CameraHandle,
        remote: &HtmlVideoElement,
        send: &Closure<dyn FnMut(JsValue)>,
        on_sound: &Closure<dyn FnMut(bool)>,
        on_failed: &Closure<dyn FnMut()>,
    ) -> CallHandle;
    #[wasm_bindgen(method, js_name = startNudityCheck)]
    fn start_nudity_check(
        this: &VideoModule,
        video: &HtmlVideoElement,
        judge: &Closure<dyn FnMut(JsValue) -> bool>,
    ) -> CheckHandle;
    #[wasm_bindgen(method, js_name = clear)]
    fn clear_video(this: &VideoModule, video: &HtmlVideoElement);
    #[wasm_bindgen(method, js_name = unmute)]
    fn unmute_video(this: &VideoModule, video: &HtmlVideoElement);

    /// `call.js`'s Camera.
    type CameraHandle;
    #[wasm_bindgen(method, js_name = setOn)]
    fn set_on(this: &CameraHandle, kind: &str, on: bool);
    #[wasm_bindgen(method, js_name = showIn)]
    fn show_in(this: &CameraHandle, video: &HtmlVideoElement) -> Promise;
    #[wasm_bindgen(method)]
    fn stop(this: &CameraHandle);

    /// `call.js`'s Call.
    type CallHandle;
    #[wasm_bindgen(method)]
    fn receive(this: &CallHandle, signal: &JsValue);
    #[wasm_bindgen(method)]
    fn close(this: &CallHandle);

    /// `call.js`'s NudityCheck.
    type CheckHandle;
    #[wasm_bindgen(method, js_name = stop)]
    fn stop_check(this: &CheckHandle);
}

/// The video module, once loaded.
fn loaded() -> Option<VideoModule> {
    modules::loaded(GLOBAL).map(JsCast::unchecked_into)
}

/// Loads the video module (once per page) and hands it over.
async fn module() -> Option<VideoModule> {
    modules::load(MODULE, GLOBAL)
        .await
        .map(JsCast::unchecked_into)
}

/// The person's camera and microphone, on while this value lives.
pub struct Camera {
    handle: CameraHandle,
}

impl Camera {
    /// Asks the browser for the camera and microphone (the browser may ask the
    /// person first). The error says why there is no video, in the person's terms.
    pub async fn start() -> Result<Camera, VideoProblem> {
        let module = module().await.ok_or(VideoProblem::Failed)?;
        match JsFuture::from(module.start_camera()).await {
            Ok(handle) => Ok(Camera {
                handle: handle.unchecked_into(),
            }),
            Err(error) => Err(problem(&error)),
        }
    }

    /// Sends `device`'s sound or picture (`true`), or silence or black frames.
    pub fn set_on(&self, device: Device, on: bool) {
        let kind = match device {
            Device::Microphone => "audio",
            Device::Camera => "video",
        };
        self.handle.set_on(kind, on);
    }

    /// Shows the camera in `video` (the person's own picture).
    pub async fn show_in(&self, video: NodeRef<Video>) {
        if let Some(video) = video.get_untracked() {
            let _ = JsFuture::from(self.handle.show_in(&video)).await;
        }
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.handle.stop();
    }
}

/// What a refused camera means for the person.
fn problem(error: &JsValue) -> VideoProblem {
    let name = Reflect::get(error, &"name".into())
        .ok()
        .and_then(|name| name.as_string());
    match name.as_deref() {
        Some("Insecure") => VideoProblem::Insecure,
        Some("NotAllowedError" | "SecurityError") => VideoProblem::Denied,
        Some("NotFoundError" | "OverconstrainedError") => VideoProblem::NoDevice,
        _ => VideoProblem::Failed,
    }
}

/// How `call.js` is to set up a call.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CallDescription<'a> {
    /// The STUN and TURN servers, in the shape of WebRTC's `RTCIceServer`.
    ice_servers: &'a [crate::protocol::IceServer],
    /// Whether this side makes the offer.
    offer: bool,
    /// Whether to use relayed routes only.
    hide_ip: bool,
}

/// `value` as a JavaScript object (through JSON, the one writer the page has).
fn as_object(value: &impl serde::Serialize) -> Option<JsValue> {
    js_sys::JSON::parse(&serde_json::to_string(value).ok()?).ok()
}

/// A peer connection to the stranger, open while this value lives.
pub struct Call {
    handle: CallHandle,
    /// The callbacks the call holds; kept alive with it.
    _callbacks: CallCallbacks,
}

/// What `call.js` calls back: a setup step to send, the sound's state, failure.
type CallCallbacks = (
    Closure<dyn FnMut(JsValue)>,
    Closure<dyn FnMut(bool)>,
    Closure<dyn FnMut()>,
);

impl Call {
    /// Sets up the call the server described, sending the camera's tracks and
    /// showing the stranger in `remote`. With `hide_ip`, only relayed routes
    /// are used, so the stranger's browser never learns this person's address.
    pub fn start(
        setup: &CallSetup,
        hide_ip: bool,
        camera: &Camera,
        remote: NodeRef<Video>,
        events: CallEvents,
    ) -> Option<Call> {
        let module = loaded()?;
        let remote = remote.get_untracked()?;
        let description = as_object(&CallDescription {
            ice_servers: &setup.ice_servers,
            offer: setup.role == CallRole::Offer,
            hide_ip,
        })?;
        let CallEvents {
            mut send,
            sound,
            failed,
        } = events;
        let send = Closure::<dyn FnMut(JsValue)>::new(move |signal: JsValue| {
            if let Some(signal) = CallSignal::from_fields(&Parsed(signal)) {
                send(signal);
            }
        });
        let sound = Closure::new(sound);
        let failed = Closure::new(failed);
        let handle = module.start_call(
            &description,
            &camera.handle,
            &remote,
            &send,
            &sound,
            &failed,
        );
        Some(Call {
            handle,
            _callbacks: (send, sound, failed),
        })
    }

    /// Applies a setup step from the stranger.
    pub fn receive(&self, signal: CallSignal) {
        if let Some(signal) = as_object(&signal) {
            self.handle.receive(&signal);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.handle.close();
    }
}

/// The on-device nudity check on the stranger's video, running while this
/// value lives. No frame, score or verdict leaves the browser.
pub struct NudityCheck {
    handle: CheckHandle,
    _judge: Closure<dyn FnMut(JsValue) -> bool>,
}

impl NudityCheck {
    /// Starts checking `video` (the stranger's); `verdict` hears whether each
    /// checked frame may show nudity, by the thresholds in [`Scores`].
    pub fn start(video: NodeRef<Video>, mut verdict: impl FnMut(bool) + 'static) -> Option<Self> {
        let module = loaded()?;
        let video = video.get_untracked()?;
        let judge = Closure::<dyn FnMut(JsValue) -> bool>::new(move |scores: JsValue| {
            let score = |name: &str| {
                Reflect::get(&scores, &name.into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0) as f32
            };
            let sexual = Scores {
                drawing: score("drawing"),
                hentai: score("hentai"),
                neutral: score("neutral"),
                porn: score("porn"),
                sexy: score("sexy"),
            }
            .is_sexual();
            verdict(sexual);
            sexual
        });
        let handle = module.start_nudity_check(&video, &judge);
        Some(NudityCheck {
            handle,
            _judge: judge,
        })
    }
}

impl Drop for NudityCheck {
    fn drop(&mut self) {
        self.handle.stop_check();
    }
}

/// Stops showing anything in `video`.
pub fn clear(video: NodeRef<Video>) {
    if let (Some(module), Some(video)) = (loaded(), video.get_untracked()) {
        module.clear_video(&video);
    }
}

/// Lets the person hear `video` after the browser blocked its sound.
pub fn unmute(video: NodeRef<Video>) {
    if let (Some(module), Some(video)) = (loaded(), video.get_untracked()) {
        module.unmute_video(&video);
    }
}
