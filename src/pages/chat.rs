use leptos::ev;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use leptos::html::Video;

use crate::components::{
    ChatLog, Composer, OnlineCount, ReportButton, ReportDialog, SaveLog, SiteFooter, StatusLine,
    StopButton, TypingIndicator, VideoProblemChoices, VideoStage,
};
use crate::protocol::{
    CallSetup, CallSignal, ClientMessage, Mode, ReportReason, interests_from_input,
};
use crate::session::{Action, ChatSession, Device, Preferences};

/// After this long without a key, the stranger is told we stopped typing.
#[cfg(feature = "hydrate")]
const TYPING_PAUSE: std::time::Duration = std::time::Duration::from_secs(3);

/// The connection the chat page holds: the real socket in the browser; on the
/// server, which only renders the page, there is never one.
#[cfg(feature = "hydrate")]
type Link = crate::socket::ChatConnection;
#[cfg(not(feature = "hydrate"))]
type Link = ();

/// A pending "stopped typing" notice.
#[cfg(feature = "hydrate")]
type TypingTimer = leptos::leptos_dom::helpers::TimeoutHandle;
#[cfg(not(feature = "hydrate"))]
type TypingTimer = ();

/// The camera and the call to the stranger: real in the browser, never on the server.
#[cfg(feature = "hydrate")]
type CameraLink = crate::video::Camera;
#[cfg(not(feature = "hydrate"))]
type CameraLink = ();
#[cfg(feature = "hydrate")]
type CallLink = crate::video::Call;
#[cfg(not(feature = "hydrate"))]
type CallLink = ();
/// The nudity check on the stranger's video: real in the browser, never on the server.
#[cfg(feature = "hydrate")]
type NudityLink = crate::nudity::NudityCheck;
#[cfg(not(feature = "hydrate"))]
type NudityLink = ();

/// The chat page's state and the things a person can do to it. `Copy`, so every
/// component can hold it.
#[derive(Clone, Copy)]
pub struct Chat {
    /// The chat's phase and log; every component renders from it.
    pub session: RwSignal<ChatSession>,
    /// The open connection, if any. Dropping it closes the socket.
    link: StoredValue<Option<Link>, LocalStorage>,
    /// The timer that will say we stopped typing (browser only).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    typing_timer: StoredValue<Option<TypingTimer>, LocalStorage>,
    /// Video mode: the camera and microphone, while the session wants them.
    camera: StoredValue<Option<CameraLink>, LocalStorage>,
    /// Video mode: the call to the stranger, while chatting.
    call: StoredValue<Option<CallLink>, LocalStorage>,
    /// Video mode: the nudity check, from the first camera start until the page closes.
    nudity: StoredValue<Option<NudityLink>, LocalStorage>,
    /// Where the person sees themselves.
    pub local_video: NodeRef<Video>,
    /// Where the person sees the stranger.
    pub remote_video: NodeRef<Video>,
    /// Whether the browser refused to play the stranger's sound until a click.
    pub sound_blocked: RwSignal<bool>,
    /// Whether the report dialog is open.
    pub reporting: RwSignal<bool>,
    /// How many connections this page has opened, so a bot check solved for
    /// an earlier one is not answered on a later one.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    connections: StoredValue<u64>,
}

impl Chat {
    fn new(preferences: Preferences) -> Self {
        Chat {
            session: RwSignal::new(ChatSession::new(preferences)),
            link: StoredValue::new_local(None),
            typing_timer: StoredValue::new_local(None),
            camera: StoredValue::new_local(None),
            call: StoredValue::new_local(None),
            nudity: StoredValue::new_local(None),
            local_video: NodeRef::new(),
            remote_video: NodeRef::new(),
            sound_blocked: RwSignal::new(false),
            reporting: RwSignal::new(false),
            connections: StoredValue::new(0),
        }
    }

    /// Whether this page is a video chat.
    pub fn is_video(self) -> bool {
        self.session.with(|s| s.preferences().mode == Mode::Video)
    }

    /// Opens the connection; the server's welcome starts the search. Browser only.
    fn connect(self) {
        #[cfg(feature = "hydrate")]
        {
            let session = self.session;
            self.connections.update_value(|count| *count += 1);
            let opened = crate::socket::ChatConnection::open(
                || {},
                move |message| {
                    if let Some(action) = session.try_update(|s| s.receive(message)) {
                        self.act(action);
                    }
                },
                move |reason| {
                    session.update(|s| s.disconnected(reason));
                    self.link.try_set_value(None);
                },
            );
            match opened {
                Ok(link) => self.link.set_value(Some(link)),
                Err(_) => session.update(|s| s.disconnected(None)),
            }
        }
    }

    /// Closes the connection, which ends any chat for the stranger too.
    fn disconnect(self) {
        self.link.try_set_value(None);
    }

    /// Sends the message box's text. Returns whether it was sent (so the box clears).
    pub fn send_text(self, draft: &str) -> bool {
        match self.session.try_update(|s| s.send(draft)).flatten() {
            Some(message) => {
                self.transmit(message);
                true
            }
            None => false,
        }
    }

    /// A key went into the message box: says "typing" once per burst, and
    /// "stopped" after a pause.
    pub fn typed(self) {
        if let Some(notice) = self.session.try_update(ChatSession::typed).flatten() {
            self.transmit(notice);
        }
        #[cfg(feature = "hydrate")]
        {
            self.typing_timer.update_value(|timer| {
                if let Some(timer) = timer.take() {
                    timer.clear();
                }
                *timer = set_timeout_with_handle(
                    move || {
                        if let Some(n) = self
                            .session
                            .try_update(ChatSession::typing_paused)
                            .flatten()
                        {
                            self.transmit(n);
                        }
                    },
                    TYPING_PAUSE,
                )
                .ok();
            });
        }
    }

    /// The Stop/New button (or Esc) was pressed.
    pub fn press_stop_or_new(self) {
        self.update(ChatSession::press_stop_or_new);
    }

    /// "Report": opens the report dialog (nothing is sent yet).
    pub fn open_report(self) {
        self.reporting.set(true);
    }

    /// The report dialog closes without reporting.
    pub fn close_report(self) {
        self.reporting.set(false);
    }

    /// "Send report": ends the chat and reports the stranger for `reason`,
    /// with the chat's last lines if `with_evidence`.
    pub fn report(self, reason: ReportReason, with_evidence: bool) {
        self.reporting.set(false);
        self.update(|s| s.report(reason, with_evidence));
    }

    /// "Continue in text" after video could not start.
    pub fn continue_in_text(self) {
        self.update(ChatSession::continue_in_text);
    }

    /// "Video without hiding my IP address", when the server has no relay.
    pub fn stop_hiding_ip(self) {
        self.update(ChatSession::stop_hiding_ip);
    }

    /// Switches the microphone or the camera off, or back on.
    pub fn toggle(self, device: Device) {
        let on = self.session.try_update(|s| s.toggle(device));
        #[cfg(feature = "hydrate")]
        if let Some(on) = on {
            self.with_camera(|camera| camera.set_on(device, on));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = on;
    }

    /// The person clicked to hear the stranger after the browser blocked the sound.
    pub fn unmute_stranger(self) {
        #[cfg(feature = "hydrate")]
        if let Some(video) = self.remote_video.get_untracked() {
            video.set_muted(false);
        }
        self.sound_blocked.set(false);
    }

    /// Changes the session and carries out what it asks for.
    fn update(self, change: impl FnOnce(&mut ChatSession) -> Action) {
        if let Some(action) = self.session.try_update(change) {
            self.act(action);
        }
    }

    /// Carries out what the session decided.
    fn act(self, action: Action) {
        match action {
            Action::Send(message) => self.transmit(message),
            Action::Reconnect => {
                self.disconnect();
                self.connect();
            }
            Action::StartCamera => self.start_camera(),
            Action::StartCall(setup) => self.start_call(&setup),
            Action::Signal(signal) => self.pass_signal(signal),
            Action::Solve(challenge) => self.solve(challenge),
            Action::Nothing => {}
        }
    }

    /// Solves the bot check in the background, answers it, then searches.
    /// Browser only.
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    fn solve(self, challenge: crate::protocol::Challenge) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let connection = self.connections.get_value();
            let found = crate::bot_check::solve(&challenge).await;
            if self.connections.try_get_value() != Some(connection) {
                return; // that connection is gone, and its check with it
            }
            match found {
                Some(number) => {
                    self.transmit(ClientMessage::Solve { number });
                    self.update(ChatSession::checked);
                }
                None => self.session.update(ChatSession::check_failed),
            }
        });
    }

    #[cfg(feature = "hydrate")]
    fn with_camera(self, apply: impl FnOnce(&CameraLink)) {
        self.camera.with_value(|camera| {
            if let Some(camera) = camera {
                apply(camera);
            }
        });
    }

    /// Turns the camera on; once on, the search starts. Browser only.
    fn start_camera(self) {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::video::Camera::start().await {
                Ok(camera) => {
                    let Some(join) = self
                        .session
                        .try_update(ChatSession::camera_started)
                        .flatten()
                    else {
                        return; // stopped meanwhile: dropping the camera turns it off
                    };
                    for device in Device::ALL {
                        camera.set_on(device, self.session.with_untracked(|s| s.is_on(device)));
                    }
                    if let Some(video) = self.local_video.get_untracked() {
                        crate::video::show(&video, Some(camera.stream())).await;
                    }
                    self.camera.try_set_value(Some(camera));
                    self.start_nudity_check();
                    self.transmit(join);
                }
                Err(problem) => self.session.update(|s| s.camera_failed(problem)),
            }
        });
    }

    /// Starts checking the stranger's video for nudity, once per page (the
    /// model then stays loaded from chat to chat). Browser only.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn start_nudity_check(self) {
        #[cfg(feature = "hydrate")]
        {
            if self.nudity.with_value(Option::is_some) {
                return;
            }
            let Some(video) = self.remote_video.get_untracked() else {
                return;
            };
            let session = self.session;
            let verdict = move |sexual| {
                let changes = session
                    .try_with_untracked(|s| s.stranger_video().judged(sexual) != s.stranger_video())
                    .unwrap_or(false);
                if changes {
                    session.update(|s| s.nudity_verdict(sexual));
                }
            };
            let video: web_sys::HtmlVideoElement = video.clone();
            if let Ok(check) = crate::nudity::NudityCheck::start(video, verdict) {
                self.nudity.set_value(Some(check));
            }
        }
    }

    /// "Show anyway" / "Show video" over the blurred stranger.
    pub fn show_stranger_video(self) {
        self.session.update(ChatSession::show_stranger_video);
    }

    /// "Next" over the blurred stranger: ends this chat and looks for another at once.
    pub fn next_stranger(self) {
        self.update(ChatSession::end_chat);
        self.update(ChatSession::press_stop_or_new);
    }

    /// Calls the stranger just paired, with the camera already on. Browser only.
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    fn start_call(self, setup: &CallSetup) {
        #[cfg(feature = "hydrate")]
        {
            let hide_ip = self.session.with_untracked(|s| s.preferences().hide_ip);
            let send: crate::video::SendSignal =
                std::rc::Rc::new(move |signal| self.transmit(ClientMessage::Signal { signal }));
            let show_remote = move |stream: &web_sys::MediaStream| {
                let Some(video) = self.remote_video.get_untracked() else {
                    return;
                };
                let stream = stream.clone();
                leptos::task::spawn_local(async move {
                    let sound = crate::video::show(&video, Some(&stream)).await;
                    self.sound_blocked.try_set(!sound);
                });
            };
            let on_failed = move || self.session.update(ChatSession::call_failed);
            let call = self.camera.with_value(|camera| {
                camera.as_ref().and_then(|camera| {
                    crate::video::Call::start(setup, hide_ip, camera, send, show_remote, on_failed)
                        .ok()
                })
            });
            match call {
                Some(call) => self.call.set_value(Some(call)),
                None => self.session.update(ChatSession::call_failed),
            }
        }
    }

    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    fn pass_signal(self, signal: CallSignal) {
        #[cfg(feature = "hydrate")]
        self.call.with_value(|call| {
            if let Some(call) = call {
                call.receive(signal);
            }
        });
    }

    /// Hangs up and turns the camera off as soon as the session no longer wants
    /// them, whatever ended the chat: Stop, the stranger leaving, a lost server.
    fn release_media_when_done(self) {
        Effect::new(move |_| {
            let (camera, call) = self.session.with(|s| (s.wants_camera(), s.wants_call()));
            if !call {
                self.call.set_value(None);
                self.sound_blocked.set(false);
                #[cfg(feature = "hydrate")]
                if let Some(video) = self.remote_video.get_untracked() {
                    video.set_src_object(None);
                }
            }
            if !camera {
                self.camera.set_value(None);
                #[cfg(feature = "hydrate")]
                if let Some(video) = self.local_video.get_untracked() {
                    video.set_src_object(None);
                }
            }
        });
    }

    /// Downloads the conversation as a text file, made in the browser.
    pub fn save_log(self) {
        #[cfg(feature = "hydrate")]
        crate::browser::download_text(
            "strangers-chat.txt",
            &self.session.with_untracked(ChatSession::transcript),
        );
    }

    fn transmit(self, message: ClientMessage) {
        #[cfg(feature = "hydrate")]
        self.link.with_value(|link| {
            if let Some(link) = link {
                link.send(message);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = message;
    }
}

/// The visitor's choices from the landing page, carried in the address
/// (`/chat?interests=music&interests=chess&only_shared=1`).
fn preferences_from_address() -> Preferences {
    let query = use_query_map();
    query.with_untracked(|q| {
        let raw = q.get_all("interests").unwrap_or_default();
        Preferences {
            interests: interests_from_input(raw.iter().map(String::as_str)),
            only_shared: q.get_str("only_shared") == Some("1"),
            mode: Mode::from_query(q.get_str("mode")),
            hide_ip: q.get_str("hide_ip") == Some("1"),
            blur_video: q.get_str("blur") == Some("1"),
            agreed: agreed_here(q.get_str("agreed") == Some("1")),
            #[cfg(feature = "hydrate")]
            browser: crate::browser::browser_id(),
            #[cfg(not(feature = "hydrate"))]
            browser: None,
        }
    })
}

/// Whether the visitor confirmed their age and the rules: ticked on the page
/// that sent them here (`in_address`, then remembered), or earlier in this browser.
fn agreed_here(in_address: bool) -> bool {
    #[cfg(feature = "hydrate")]
    {
        if in_address {
            crate::browser::remember_agreed(true);
        }
        in_address || crate::browser::agreed()
    }
    #[cfg(not(feature = "hydrate"))]
    in_address
}

/// `/chat`: connects as soon as it is in the browser and looks for a stranger.
#[component]
pub fn ChatPage() -> impl IntoView {
    let chat = Chat::new(preferences_from_address());
    let online = Signal::derive(move || chat.session.with(ChatSession::online));

    // Effects run only in the browser, so the server never opens a socket.
    Effect::new(move |_| chat.connect());
    chat.release_media_when_done();
    // The report dialog belongs to one chat: once it is over, it is closed.
    Effect::new(move |_| {
        if chat
            .session
            .with(|s| s.phase() != crate::session::Phase::Chatting)
        {
            chat.reporting.set(false);
        }
    });
    on_cleanup(move || {
        chat.disconnect();
        chat.call.try_set_value(None);
        chat.camera.try_set_value(None);
        chat.nudity.try_set_value(None);
    });

    // Esc from anywhere on the page, the message box included.
    Effect::new(move |_| {
        let handle = window_event_listener(ev::keydown, move |event| {
            if event.key() == "Escape" && !event.repeat() {
                event.prevent_default();
                if chat.reporting.get_untracked() {
                    chat.close_report();
                } else {
                    chat.press_stop_or_new();
                }
            }
        });
        on_cleanup(move || handle.remove());
    });

    let video = chat.is_video();
    view! {
        <AttentionTitle chat/>
        <main class="chat-page" class:video=video>
            <header class="chat-header">
                <a class="brand" href="/">"Strangers"</a>
                <StatusLine chat/>
                <OnlineCount count=online/>
                <ReportButton chat/>
            </header>
            {video.then(|| view! { <VideoStage chat/> })}
            <div class="conversation">
                <VideoProblemChoices chat/>
                <ChatLog chat/>
                <TypingIndicator chat/>
                <div class="controls">
                    <StopButton chat/>
                    <Composer chat/>
                </div>
                <SaveLog chat/>
                <AgreementNeeded chat/>
            </div>
            <ReportDialog chat/>
        </main>
        <SiteFooter/>
    }
}

/// When the server refused to search because the age and the rules were not
/// confirmed: the way back to the start page, where the box is.
#[component]
fn AgreementNeeded(chat: Chat) -> impl IntoView {
    let needed = move || chat.session.with(ChatSession::needs_agreement);
    view! {
        <Show when=needed>
            <p class="after-chat">
                <a href="/" rel="external">"Go to the start page"</a>
            </p>
        </Show>
    }
}

/// The tab title: "(2) Strangers" when a new stranger or messages arrived while
/// the tab was in the background, until it is seen again.
#[component]
fn AttentionTitle(chat: Chat) -> impl IntoView {
    let seen = RwSignal::new(0u64);
    let attention = move || chat.session.with(ChatSession::attention);
    Effect::new(move |_| {
        let now = attention();
        #[cfg(feature = "hydrate")]
        if !crate::browser::tab_hidden() {
            seen.set(now);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = now;
    });
    Effect::new(move |_| {
        let handle = window_event_listener_untyped("visibilitychange", move |_| {
            #[cfg(feature = "hydrate")]
            if !crate::browser::tab_hidden() {
                seen.set(attention());
            }
        });
        on_cleanup(move || handle.remove());
    });
    let title = move || match attention().saturating_sub(seen.get()) {
        0 => "Strangers".to_string(),
        unseen => format!("({unseen}) Strangers"),
    };
    view! { <Title text=title/> }
}
