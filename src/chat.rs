//! The chat controller: the state the chat page's components share, and what
//! it drives in the browser (the socket, the typing timer, the camera, the
//! call, the nudity check, the tab's title).
//!
//! The rules live in [`ChatSession`] (pure, tested natively); this carries out
//! the [`Action`]s it decides, through [`crate::browser`], which does nothing
//! on the server, so nothing here needs a `cfg`.

use std::time::Duration;

use leptos::html::Video;
use leptos::prelude::*;

use crate::browser::{self, Call, CallEvents, Camera, Link, NudityCheck, SealEvents, Timer};
use crate::protocol::{CallSetup, CallSignal, Challenge, ClientMessage, ReportReason};
use crate::session::{Action, ChatSession, Device, Phase, Preferences};

/// After this long without a key, the stranger is told we stopped typing.
const TYPING_PAUSE: Duration = Duration::from_secs(3);

/// The chat page's state and the things a person can do to it. `Copy`, so every
/// component can hold it.
#[derive(Clone, Copy)]
pub struct Chat {
    /// The chat's phase and log; every component renders from it.
    pub session: RwSignal<ChatSession>,
    /// The open connection, if any. Dropping it closes the socket.
    link: StoredValue<Option<Link>, LocalStorage>,
    /// The timer that will say we stopped typing.
    typing_timer: StoredValue<Option<Timer>, LocalStorage>,
    /// Video mode: the camera and microphone, while the session wants them.
    camera: StoredValue<Option<Camera>, LocalStorage>,
    /// Video mode: the call to the stranger, while chatting.
    call: StoredValue<Option<Call>, LocalStorage>,
    /// Video mode: the nudity check, from the first camera start until the page closes.
    nudity: StoredValue<Option<NudityCheck>, LocalStorage>,
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
    connections: StoredValue<u64>,
}

impl Chat {
    /// A chat that will search with `preferences`, and the effects that keep
    /// the browser in step with it: connecting once in the browser, releasing
    /// the camera and the call when done, closing the report dialog with its
    /// chat, and letting go of everything when the page goes.
    pub fn start(preferences: Preferences) -> Self {
        let chat = Chat {
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
        };
        // Effects run only in the browser, so the server never opens a socket.
        Effect::new(move |_| chat.connect());
        chat.release_when_done();
        // The report dialog belongs to one chat: once it is over, it is closed.
        Effect::new(move |_| {
            if chat.session.with(|s| s.phase() != Phase::Chatting) {
                chat.reporting.set(false);
            }
        });
        on_cleanup(move || {
            chat.disconnect();
            chat.call.try_set_value(None);
            browser::seal_end();
            chat.camera.try_set_value(None);
            chat.nudity.try_set_value(None);
        });
        chat
    }

    /// Whether this page is a video chat.
    pub fn is_video(self) -> bool {
        self.session
            .with(|s| s.preferences().mode == crate::protocol::Mode::Video)
    }

    /// Opens the connection; the server's welcome starts the search.
    fn connect(self) {
        let session = self.session;
        self.connections.update_value(|count| *count += 1);
        let opened = Link::open(
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

    /// Closes the connection, which ends any chat for the stranger too.
    fn disconnect(self) {
        self.link.try_set_value(None);
    }

    /// Sends the message box's text. Returns whether it was sent (so the box clears).
    pub fn send_text(self, draft: &str) -> bool {
        match self.session.try_update(|s| s.send(draft)) {
            Some(Action::Nothing) | None => false,
            Some(action) => {
                self.act(action);
                true
            }
        }
    }

    /// A key went into the message box: says "typing" once per burst, and
    /// "stopped" after a pause.
    pub fn typed(self) {
        if let Some(notice) = self.session.try_update(ChatSession::typed).flatten() {
            self.transmit(notice);
        }
        self.typing_timer.update_value(|timer| {
            if let Some(timer) = timer.take() {
                timer.cancel();
            }
            *timer = Timer::after(TYPING_PAUSE, move || {
                if let Some(notice) = self
                    .session
                    .try_update(ChatSession::typing_paused)
                    .flatten()
                {
                    self.transmit(notice);
                }
            });
        });
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
        if let Some(on) = self.session.try_update(|s| s.toggle(device)) {
            self.camera.with_value(|camera| {
                if let Some(camera) = camera {
                    camera.set_on(device, on);
                }
            });
        }
    }

    /// The person clicked to hear the stranger after the browser blocked the sound.
    pub fn unmute_stranger(self) {
        browser::unmute(self.remote_video);
        self.sound_blocked.set(false);
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

    /// Downloads the conversation as a text file, made in the browser.
    pub fn save_log(self) {
        browser::download_text(
            "strangers-chat.txt",
            &self.session.with_untracked(ChatSession::transcript),
        );
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
            Action::Paired { call, seal } => {
                browser::install_app();
                if seal {
                    self.start_sealing();
                }
                if let Some(setup) = call {
                    self.start_call(&setup);
                }
            }
            Action::Meet(key) => browser::seal_meet(key),
            Action::Seal(text) => browser::seal_say(text),
            Action::Open(data, commitment, stamp) => browser::seal_open(data, commitment, stamp),
            Action::Signal(signal) => self.pass_signal(signal),
            Action::Solve(challenge) => self.solve(challenge),
            Action::Nothing => {}
        }
    }

    /// Solves the bot check in the background, answers it, then searches.
    fn solve(self, challenge: Challenge) {
        browser::spawn(async move {
            let connection = self.connections.get_value();
            let found = browser::solve(&challenge).await;
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

    /// Starts encrypting the chat just paired (loading the encryption's code
    /// the first time). What it reports back belongs to this chat only.
    fn start_sealing(self) {
        let session = self.session;
        let chat = session.with_untracked(ChatSession::strangers_found);
        let current = move || session.try_with_untracked(|s| s.strangers_found()) == Some(chat);
        let events = SealEvents {
            send: Box::new(move |frame| {
                if current() {
                    self.transmit_frame(frame);
                }
            }),
            agreed: Box::new(move |code| {
                if current() {
                    session.update(|s| s.agreed(code));
                }
            }),
            heard: Box::new(move |opened| {
                if current() {
                    session.update(|s| s.heard(opened));
                }
            }),
        };
        // The last chat's encryption stops.
        browser::seal_begin(events);
    }

    /// Turns the camera on (loading the video code the first time); once on,
    /// the search starts.
    fn start_camera(self) {
        browser::spawn(async move {
            match Camera::start().await {
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
                    camera.show_in(self.local_video).await;
                    self.camera.try_set_value(Some(camera));
                    self.start_nudity_check();
                    self.transmit(join);
                }
                Err(problem) => self.session.update(|s| s.camera_failed(problem)),
            }
        });
    }

    /// Starts checking the stranger's video for nudity, once per page (the
    /// model then stays loaded from chat to chat).
    fn start_nudity_check(self) {
        if self.nudity.with_value(Option::is_some) {
            return;
        }
        let session = self.session;
        let verdict = move |sexual| {
            let changes = session
                .try_with_untracked(|s| s.stranger_video().judged(sexual) != s.stranger_video())
                .unwrap_or(false);
            if changes {
                session.update(|s| s.nudity_verdict(sexual));
            }
        };
        if let Some(check) = NudityCheck::start(self.remote_video, verdict) {
            self.nudity.set_value(Some(check));
        }
    }

    /// Calls the stranger just paired, with the camera already on.
    fn start_call(self, setup: &CallSetup) {
        let hide_ip = self.session.with_untracked(|s| s.preferences().hide_ip);
        let events = CallEvents {
            send: Box::new(move |signal| self.transmit(ClientMessage::Signal { signal })),
            sound: Box::new(move |on| {
                self.sound_blocked.try_set(!on);
            }),
            failed: Box::new(move || self.session.update(ChatSession::call_failed)),
        };
        let call = self.camera.with_value(|camera| {
            camera
                .as_ref()
                .and_then(|camera| Call::start(setup, hide_ip, camera, self.remote_video, events))
        });
        match call {
            Some(call) => self.call.set_value(Some(call)),
            None => self.session.update(ChatSession::call_failed),
        }
    }

    fn pass_signal(self, signal: CallSignal) {
        self.call.with_value(|call| {
            if let Some(call) = call {
                call.receive(signal);
            }
        });
    }

    /// Ends the chat's encryption, hangs up and turns the camera off as soon as
    /// the session no longer wants them, whatever ended the chat: Stop, the
    /// stranger leaving, a lost server.
    fn release_when_done(self) {
        Effect::new(move |_| {
            let (camera, call) = self.session.with(|s| (s.wants_camera(), s.wants_call()));
            if self.session.with(|s| s.phase() != Phase::Chatting) {
                // The chat is over (its last messages opened): so is its encryption.
                browser::seal_end();
            }
            if !call {
                self.call.set_value(None);
                self.sound_blocked.set(false);
                browser::clear(self.remote_video);
            }
            if !camera {
                self.camera.set_value(None);
                browser::clear(self.local_video);
            }
        });
    }

    fn transmit(self, message: ClientMessage) {
        self.transmit_frame(message.to_frame());
    }

    /// Sends a frame already written (the encryption writes its own).
    fn transmit_frame(self, frame: String) {
        self.link.with_value(|link| {
            if let Some(link) = link {
                link.send(frame);
            }
        });
    }
}
