//! Video calls in the browser (hydrate build only): the camera and microphone,
//! and the WebRTC peer connection to the stranger.
//!
//! Both are plain values whose `Drop` undoes them: dropping the [`Camera`] stops
//! its tracks (the camera light goes off), dropping the [`Call`] closes the peer
//! connection. The chat page keeps each only as long as the session wants it.
//!
//! The server never sees the media. It only carries the [`CallSignal`]s that let the
//! two browsers find each other: the offer, the answer and the ICE candidates.

use std::rc::Rc;

use js_sys::Array;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DomException, HtmlMediaElement, MediaStream, MediaStreamConstraints, MediaStreamTrack,
    RtcConfiguration, RtcIceCandidateInit, RtcIceServer, RtcIceTransportPolicy, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcSdpType, RtcSessionDescription,
    RtcSessionDescriptionInit, RtcTrackEvent,
};

use crate::protocol::{CallRole, CallSetup, CallSignal, IceServer};
use crate::session::{Device, VideoProblem};

/// The person's camera and microphone, on while this value lives.
pub struct Camera {
    stream: MediaStream,
}

impl Camera {
    /// Asks the browser for the camera and microphone (the browser may ask the
    /// person first). The error says why there is no video, in the person's terms.
    pub async fn start() -> Result<Camera, VideoProblem> {
        let navigator = web_sys::window().ok_or(VideoProblem::Failed)?.navigator();
        // Browsers hide `mediaDevices` entirely on pages not served over https
        // (or from localhost).
        let has_devices = js_sys::Reflect::get(&navigator, &JsValue::from_str("mediaDevices"))
            .is_ok_and(|d| !d.is_undefined());
        if !has_devices {
            return Err(VideoProblem::Insecure);
        }
        let devices = navigator
            .media_devices()
            .map_err(|_| VideoProblem::Insecure)?;
        let constraints = MediaStreamConstraints::new();
        constraints.set_video(&JsValue::TRUE);
        constraints.set_audio(&JsValue::TRUE);
        let asked = devices
            .get_user_media_with_constraints(&constraints)
            .map_err(|e| problem(&e))?;
        let stream = JsFuture::from(asked).await.map_err(|e| problem(&e))?;
        Ok(Camera {
            stream: stream.unchecked_into(),
        })
    }

    /// The camera's picture and the microphone's sound.
    pub fn stream(&self) -> &MediaStream {
        &self.stream
    }

    /// Sends `device`'s sound or picture (`true`), or silence or black frames.
    pub fn set_on(&self, device: Device, on: bool) {
        let tracks = match device {
            Device::Microphone => self.stream.get_audio_tracks(),
            Device::Camera => self.stream.get_video_tracks(),
        };
        set_enabled(&tracks, on);
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        for track in tracks(&self.stream.get_tracks()) {
            track.stop();
        }
    }
}

fn tracks(list: &Array) -> impl Iterator<Item = MediaStreamTrack> + '_ {
    list.iter()
        .filter_map(|t| t.dyn_into::<MediaStreamTrack>().ok())
}

fn set_enabled(list: &Array, on: bool) {
    for track in tracks(list) {
        track.set_enabled(on);
    }
}

/// What a failed `getUserMedia` means for the person.
fn problem(error: &JsValue) -> VideoProblem {
    match error
        .dyn_ref::<DomException>()
        .map(DomException::name)
        .as_deref()
    {
        Some("NotAllowedError" | "SecurityError") => VideoProblem::Denied,
        Some("NotFoundError" | "OverconstrainedError") => VideoProblem::NoDevice,
        _ => VideoProblem::Failed,
    }
}

/// Passes a call setup step to the server, for the stranger.
pub type SendSignal = Rc<dyn Fn(CallSignal)>;

/// A peer connection to the stranger, open while this value lives.
pub struct Call {
    peer: RtcPeerConnection,
    send: SendSignal,
    /// The event handlers the peer connection calls; kept alive with it.
    _handlers: Handlers,
}

/// The JavaScript callbacks a call installs.
struct Handlers {
    _candidate: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
    _track: Closure<dyn FnMut(RtcTrackEvent)>,
    _state: Closure<dyn FnMut(JsValue)>,
}

impl Call {
    /// Sets up the call the server described, sending the camera's tracks. With
    /// `hide_ip`, only relayed routes are used, so the stranger's browser never
    /// learns this person's address. `show_remote` gets the stranger's stream once
    /// it arrives; `on_failed` runs if no route between the two could be found.
    pub fn start(
        setup: &CallSetup,
        hide_ip: bool,
        camera: &Camera,
        send: SendSignal,
        show_remote: impl Fn(&MediaStream) + 'static,
        on_failed: impl Fn() + 'static,
    ) -> Result<Call, JsValue> {
        let config = RtcConfiguration::new();
        config.set_ice_servers(&ice_servers(&setup.ice_servers));
        if hide_ip {
            config.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
        }
        let peer = RtcPeerConnection::new_with_configuration(&config)?;

        let send_candidate = send.clone();
        let candidate = Closure::<dyn FnMut(_)>::new(move |event: RtcPeerConnectionIceEvent| {
            // `None` marks the end of gathering; the other side needs no word of it.
            if let Some(c) = event.candidate() {
                send_candidate(CallSignal::Candidate {
                    candidate: c.candidate(),
                    sdp_mid: c.sdp_mid(),
                    sdp_m_line_index: c.sdp_m_line_index(),
                });
            }
        });
        peer.set_onicecandidate(Some(candidate.as_ref().unchecked_ref()));

        let track = Closure::<dyn FnMut(_)>::new(move |event: RtcTrackEvent| {
            if let Ok(stream) = event.streams().get(0).dyn_into::<MediaStream>() {
                show_remote(&stream);
            }
        });
        peer.set_ontrack(Some(track.as_ref().unchecked_ref()));

        let watched = peer.clone();
        let state = Closure::<dyn FnMut(_)>::new(move |_: JsValue| {
            if watched.connection_state() == RtcPeerConnectionState::Failed {
                on_failed();
            }
        });
        peer.set_onconnectionstatechange(Some(state.as_ref().unchecked_ref()));

        for track in tracks(&camera.stream().get_tracks()) {
            peer.add_track_0(&track, camera.stream());
        }

        let call = Call {
            peer,
            send,
            _handlers: Handlers {
                _candidate: candidate,
                _track: track,
                _state: state,
            },
        };
        if setup.role == CallRole::Offer {
            call.describe(RtcSdpType::Offer);
        }
        Ok(call)
    }

    /// Applies a setup step from the stranger.
    ///
    /// Each step is handed to the peer connection at once, in the order it came:
    /// the connection queues its operations itself, so a candidate that arrives
    /// while the offer is still being applied waits its turn.
    pub fn receive(&self, signal: CallSignal) {
        match signal {
            CallSignal::Offer { sdp } => {
                let applied = self.remote_description(RtcSdpType::Offer, &sdp);
                let call = self.handle();
                spawn_local(async move {
                    if settle(applied).await {
                        call.describe_now(RtcSdpType::Answer).await;
                    }
                });
            }
            CallSignal::Answer { sdp } => {
                spawn_local(settle_quietly(
                    self.remote_description(RtcSdpType::Answer, &sdp),
                ));
            }
            CallSignal::Candidate {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            } => {
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                let added = self
                    .peer
                    .add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
                spawn_local(settle_quietly(added));
            }
        }
    }

    fn remote_description(&self, kind: RtcSdpType, sdp: &str) -> js_sys::Promise {
        let description = RtcSessionDescriptionInit::new(kind);
        description.set_sdp(sdp);
        self.peer.set_remote_description(&description)
    }

    /// Creates this side's offer or answer in the background and sends it.
    fn describe(&self, kind: RtcSdpType) {
        let call = self.handle();
        spawn_local(async move { call.describe_now(kind).await });
    }

    /// What the background tasks of a call need: not the handlers, so a task
    /// outliving the call cannot keep it open.
    fn handle(&self) -> CallHandle {
        CallHandle {
            peer: self.peer.clone(),
            send: self.send.clone(),
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.peer.set_onicecandidate(None);
        self.peer.set_ontrack(None);
        self.peer.set_onconnectionstatechange(None);
        self.peer.close();
    }
}

/// A call's peer connection and signal sender, for its background tasks.
struct CallHandle {
    peer: RtcPeerConnection,
    send: SendSignal,
}

impl CallHandle {
    /// Creates, applies and sends this side's offer or answer. A call closed
    /// meanwhile makes the steps fail, and nothing is sent.
    async fn describe_now(&self, kind: RtcSdpType) {
        let created = match kind {
            RtcSdpType::Offer => self.peer.create_offer(),
            _ => self.peer.create_answer(),
        };
        let Ok(description) = JsFuture::from(created).await else {
            return;
        };
        let description: RtcSessionDescription = description.unchecked_into();
        let sdp = description.sdp();
        let local = RtcSessionDescriptionInit::new(kind);
        local.set_sdp(&sdp);
        if !settle(self.peer.set_local_description(&local)).await {
            return;
        }
        (self.send)(match kind {
            RtcSdpType::Offer => CallSignal::Offer { sdp },
            _ => CallSignal::Answer { sdp },
        });
    }
}

/// Waits for `promise`; whether it succeeded.
async fn settle(promise: js_sys::Promise) -> bool {
    JsFuture::from(promise).await.is_ok()
}

/// Waits for `promise`, ignoring a failure: a step that fails because the call
/// ended, or a candidate the browser cannot use, leaves nothing to do.
async fn settle_quietly(promise: js_sys::Promise) {
    let _ = settle(promise).await;
}

/// The configured servers as the `iceServers` list a peer connection takes.
fn ice_servers(servers: &[IceServer]) -> Array {
    servers
        .iter()
        .map(|server| {
            let entry = RtcIceServer::new();
            let urls: Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
            entry.set_urls(&urls);
            if let Some(username) = &server.username {
                entry.set_username(username);
            }
            if let Some(credential) = &server.credential {
                entry.set_credential(credential);
            }
            JsValue::from(entry)
        })
        .collect()
}

/// Shows `stream` in `video`, starting playback. A browser that will not play
/// sound before the person has clicked on the page gets the video muted; the
/// result says whether the sound is on.
pub async fn show(video: &HtmlMediaElement, stream: Option<&MediaStream>) -> bool {
    video.set_src_object(stream);
    if stream.is_none() {
        return true;
    }
    if let Ok(playing) = video.play()
        && settle(playing).await
    {
        return !video.muted();
    }
    video.set_muted(true);
    if let Ok(playing) = video.play() {
        settle_quietly(playing).await;
    }
    false
}
