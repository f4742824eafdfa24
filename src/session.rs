//! One visitor's chat as the browser sees it: the phase it is in and the log.
//!
//! Pure state with no I/O, so the rules (what a button does in each phase, which
//! server messages count when) are tested natively. The chat page holds it in a
//! signal; the socket feeds it server messages and sends what it returns.

use crate::i18n::{self, Language, Word};
use crate::protocol::{
    Author, CallSetup, CallSignal, Challenge, ClientMessage, ErrorCode, EvidenceLine, Mode,
    ReportReason, ServerMessage, check_message_text, evidence_from,
};
use crate::video_guard::StrangerVideo;

/// Where the visitor's chat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Opening the connection to the server.
    #[default]
    Connecting,
    /// Solving the server's bot check before searching.
    Checking,
    /// Video only: asking for the camera and microphone before searching.
    StartingCamera,
    /// Video only: a video chat cannot start, for this reason; text is offered.
    NoVideo(VideoProblem),
    /// Waiting to be paired.
    Searching,
    /// Paired: messages go to the stranger.
    Chatting,
    /// The chat ended (either side); "New" starts another.
    Ended,
    /// The connection to the server is gone; "New" reconnects.
    Offline,
}

/// Why a video chat cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoProblem {
    /// The person, or the browser's settings, refused the camera or microphone.
    Denied,
    /// There is no camera or no microphone.
    NoDevice,
    /// The camera or microphone is busy in another program, or failed to start.
    Failed,
    /// Browsers only allow cameras on secure (https) pages.
    Insecure,
    /// Hiding the address needs a relay (TURN) server, and this service has none.
    NoRelay,
}

impl VideoProblem {
    /// The sentence shown to the person.
    pub fn describe(self) -> &'static str {
        match self {
            VideoProblem::Denied => Word::CameraDenied.say(),
            VideoProblem::NoDevice => Word::NoCamera.say(),
            VideoProblem::Failed => Word::CameraFailed.say(),
            VideoProblem::Insecure => Word::Insecure.say(),
            VideoProblem::NoRelay => Word::NoRelay.say(),
        }
    }
}

/// Who a log line is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The visitor.
    You,
    /// The stranger.
    Stranger,
    /// Question mode, as the asker reads it: discusser 1 or 2.
    Discusser(u8),
    /// A notice about the chat itself ("Stranger has disconnected.").
    Notice,
    /// Something went wrong (a refused message).
    Error,
}

/// One line of the chat log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Stable within a page's life, so the rendered list can be keyed by it.
    pub id: u64,
    /// Who said it.
    pub speaker: Speaker,
    /// What was said, shown as plain text.
    pub text: String,
    /// For a line the stranger sent end-to-end encrypted, the proof that they
    /// did (see [`EvidenceLine::franking`]), sent with a report of it.
    pub franking: Option<String>,
}

/// Whether the chat's messages are end-to-end encrypted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Encryption {
    /// Not offered: no chat yet, or question mode (the asker reads along).
    #[default]
    Off,
    /// The two browsers are exchanging keys; messages wait for them.
    Agreeing,
    /// Sealed: the server relays only ciphertext. The safety code is the same
    /// on both screens when nobody is in the middle.
    Sealed(String),
    /// The stranger's app offered no key: messages go unencrypted.
    Refused,
}

/// What the page must do after the session changed: the session decides, the
/// page (which owns the socket, the camera and the call) carries it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this to the server.
    Send(ClientMessage),
    /// Open a new connection to the server (it joins once welcomed).
    Reconnect,
    /// Turn on the camera and microphone, then report with
    /// [`ChatSession::camera_started`] or [`ChatSession::camera_failed`].
    StartCamera,
    /// A stranger was just paired: set up the video call, if there is one,
    /// and start agreeing an encryption key with them if `seal`; report with
    /// [`ChatSession::agreed`].
    Paired {
        /// The video call's setup.
        call: Option<CallSetup>,
        /// Whether to encrypt this chat end to end.
        seal: bool,
    },
    /// Hand the stranger's public key to the encryption.
    Meet(String),
    /// Seal this message and send it (or send it as it is, if the stranger
    /// turns out to offer no key).
    Seal(String),
    /// Open a sealed message from the stranger, then report with
    /// [`ChatSession::heard`]: its data, commitment and the server's stamp.
    Open(String, String, String),
    /// Hand a call setup step from the stranger to the call.
    Signal(CallSignal),
    /// Solve the bot check, send the answer, then report with
    /// [`ChatSession::checked`] or [`ChatSession::check_failed`].
    Solve(Challenge),
    /// Nothing to do.
    Nothing,
}

/// What the visitor asked for on the landing page; every search uses it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    /// Normalized interests (see [`crate::protocol::interests_from_input`]).
    pub interests: Vec<String>,
    /// Wait for a shared interest rather than fall back to anyone.
    pub only_shared: bool,
    /// This browser's random id, so its tabs are never paired together.
    pub browser: Option<String>,
    /// Text, or video with text beside it.
    pub mode: Mode,
    /// Video only: connect the call through a relay, so the stranger never
    /// learns this person's IP address.
    pub hide_ip: bool,
    /// The person confirmed they are 18 or older and agree to the rules.
    pub agreed: bool,
    /// Video only: blur the stranger's video until the person chooses to see it.
    pub blur_video: bool,
    /// Question mode: the question to ask (two strangers discuss it, this
    /// person reads along).
    pub question: Option<String>,
    /// Question mode: discuss other people's questions.
    pub discuss: bool,
    /// The language to chat in, preferred in a stranger like an interest.
    pub language: Option<String>,
}

/// A visitor's chat session.
#[derive(Debug, Clone, Default)]
pub struct ChatSession {
    /// What every search asks for.
    preferences: Preferences,
    /// Where the chat stands.
    phase: Phase,
    /// The conversation and notices, oldest first.
    log: Vec<LogLine>,
    /// The id of the next log line.
    next_line: u64,
    /// Whether Stop was pressed once and waits for a second press ("Really?").
    confirming: bool,
    /// Whether the stranger is typing right now.
    stranger_typing: bool,
    /// Whether we told the stranger we are typing (and have not sent or stopped since).
    typing_sent: bool,
    /// How many strangers are online, once the server has said.
    online: Option<u64>,
    /// Counts events worth the visitor's attention (a new stranger, a new message),
    /// so the page can flag those that happen while the tab is in the background.
    attention: u64,
    /// How many strangers this page has been paired with, so the page can
    /// tell a person whose tab is in the background that one was found.
    strangers_found: u64,
    /// Whether the server has a relay (TURN) server, as its welcome said.
    relay: bool,
    /// Whether the microphone is sending (the person can mute it).
    microphone_on: bool,
    /// Whether the camera is sending (the person can turn it off).
    camera_on: bool,
    /// The id of the first log line of the current (or last) chat.
    chat_began: u64,
    /// The server refused to search because the rules were not agreed to.
    needs_agreement: bool,
    /// Whether the stranger's video is shown or blurred, and why.
    stranger_video: StrangerVideo,
    /// Question mode: the question this chat discusses.
    question: Option<String>,
    /// Question mode: this person asked it and reads along (cannot write).
    reading: bool,
    /// Question mode, for a discusser: the asker still reads along.
    asker_reading: bool,
    /// Whether this chat is end-to-end encrypted.
    encryption: Encryption,
    /// Unencrypted messages the stranger sent while keys were being agreed:
    /// shown if the stranger offers no key, dropped if the chat is sealed
    /// (then they cannot be from the stranger's browser).
    held: Vec<String>,
    /// Sealed messages handed to the encryption and not yet heard back.
    opening: u32,
    /// The stranger left while messages they sent before were still being
    /// opened: the chat ends once those are shown, after them.
    left_while_opening: bool,
}

/// One of the two things a video caller sends, each switchable during a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// Sound.
    Microphone,
    /// Picture.
    Camera,
}

impl Device {
    /// Both devices.
    pub const ALL: [Device; 2] = [Device::Microphone, Device::Camera];

    /// The label of the button that switches this device off.
    pub fn off_label(self) -> &'static str {
        match self {
            Device::Microphone => Word::Mute.say(),
            Device::Camera => Word::CameraOff.say(),
        }
    }
}

impl ChatSession {
    /// A session that is connecting to the server and will search with `preferences`.
    pub fn new(preferences: Preferences) -> Self {
        ChatSession {
            preferences,
            microphone_on: true,
            camera_on: true,
            ..Self::default()
        }
    }

    /// Whether the camera and microphone should be on now: in video mode, from
    /// asking for them until the chat ends. Ending a chat releases them.
    pub fn wants_camera(&self) -> bool {
        self.preferences.mode == Mode::Video
            && matches!(
                self.phase,
                Phase::StartingCamera | Phase::Searching | Phase::Chatting
            )
    }

    /// Whether a video call should be up now: only while chatting.
    pub fn wants_call(&self) -> bool {
        self.preferences.mode == Mode::Video && self.phase == Phase::Chatting
    }

    /// Whether `device` is sending.
    pub fn is_on(&self, device: Device) -> bool {
        match device {
            Device::Microphone => self.microphone_on,
            Device::Camera => self.camera_on,
        }
    }

    /// Switches `device` off or back on; returns whether it is now on. The choice
    /// holds for later chats too.
    pub fn toggle(&mut self, device: Device) -> bool {
        let on = match device {
            Device::Microphone => &mut self.microphone_on,
            Device::Camera => &mut self.camera_on,
        };
        *on = !*on;
        *on
    }

    /// What every search asks for.
    pub fn preferences(&self) -> &Preferences {
        &self.preferences
    }

    /// Whether the stranger is typing right now.
    pub fn stranger_typing(&self) -> bool {
        self.stranger_typing
    }

    /// How many strangers are online, once known.
    pub fn online(&self) -> Option<u64> {
        self.online
    }

    /// A counter that grows with every new stranger and every message from one.
    pub fn attention(&self) -> u64 {
        self.attention
    }

    /// How many strangers this page has been paired with.
    pub fn strangers_found(&self) -> u64 {
        self.strangers_found
    }

    /// The chat as plain text, for "Save log": made here, stored nowhere.
    pub fn transcript(&self) -> String {
        let mut text = format!("{}\n\n", Word::LogTitle.say());
        for line in &self.log {
            match line.speaker {
                Speaker::You => text.push_str("You: "),
                Speaker::Stranger => text.push_str("Stranger: "),
                Speaker::Discusser(1) => text.push_str("Stranger 1: "),
                Speaker::Discusser(_) => text.push_str("Stranger 2: "),
                Speaker::Notice => {}
                Speaker::Error => continue,
            }
            text.push_str(&line.text);
            text.push('\n');
        }
        text
    }

    fn join(&self) -> ClientMessage {
        ClientMessage::Join {
            interests: self.preferences.interests.clone(),
            only_shared: self.preferences.only_shared,
            browser: self.preferences.browser.clone(),
            mode: self.preferences.mode,
            agreed: self.preferences.agreed,
            hide_ip: self.preferences.mode == Mode::Video && self.preferences.hide_ip,
            question: self.preferences.question.clone(),
            discuss: self.preferences.discuss,
            language: self.preferences.language.clone(),
        }
    }

    /// Starts looking for a stranger: at once in text mode; in video mode after
    /// the camera is on, and only if the person's privacy choice can be honoured.
    fn search(&mut self) -> Action {
        if self.preferences.mode == Mode::Text {
            self.enter(Phase::Searching);
            Action::Send(self.join())
        } else if self.preferences.hide_ip && !self.relay {
            self.enter(Phase::NoVideo(VideoProblem::NoRelay));
            Action::Nothing
        } else {
            self.enter(Phase::StartingCamera);
            Action::StartCamera
        }
    }

    /// The camera and microphone are on: now look for a stranger. `None` if the
    /// person stopped meanwhile (the page then turns the camera off again).
    pub fn camera_started(&mut self) -> Option<ClientMessage> {
        (self.phase == Phase::StartingCamera).then(|| {
            self.enter(Phase::Searching);
            self.join()
        })
    }

    /// Whether the stranger's video is shown or blurred, and why (only a
    /// chat has a stranger's video to hide).
    pub fn stranger_video(&self) -> StrangerVideo {
        if self.phase == Phase::Chatting {
            self.stranger_video
        } else {
            StrangerVideo::Shown
        }
    }

    /// The nudity check judged a frame of the stranger's video.
    pub fn nudity_verdict(&mut self, sexual: bool) {
        if self.phase == Phase::Chatting {
            self.stranger_video = self.stranger_video.judged(sexual);
        }
    }

    /// The person chose to see the stranger's video ("Show anyway", "Show video").
    pub fn show_stranger_video(&mut self) {
        self.stranger_video = self.stranger_video.shown_by_choice();
    }

    /// Ends the chat at once, without the "Really?" step (the blurred video's
    /// "Next"); pressing New afterwards finds the next stranger.
    pub fn end_chat(&mut self) -> Action {
        if self.phase != Phase::Chatting {
            return Action::Nothing;
        }
        self.enter(Phase::Ended);
        self.note(Speaker::Notice, Word::YouLeft.say());
        Action::Send(ClientMessage::Leave {})
    }

    /// The bot check is solved and its answer sent: now search.
    pub fn checked(&mut self) -> Action {
        if self.phase == Phase::Checking {
            self.search()
        } else {
            Action::Nothing
        }
    }

    /// The bot check could not be solved here: say so; "New" reconnects for
    /// another.
    pub fn check_failed(&mut self) {
        if self.phase == Phase::Checking {
            self.enter(Phase::Offline);
            self.note(Speaker::Error, Word::BotCheckFailed.say());
        }
    }

    /// The camera or microphone could not be had: say why and offer text.
    pub fn camera_failed(&mut self, problem: VideoProblem) {
        if self.phase == Phase::StartingCamera {
            self.enter(Phase::NoVideo(problem));
        }
    }

    /// The video connection to the stranger could not be made; the text chat goes on.
    pub fn call_failed(&mut self) {
        if self.phase == Phase::Chatting {
            self.note(Speaker::Error, Word::CallFailed.say());
        }
    }

    /// "Continue in text": drop video (and its privacy option) for this page
    /// and look for a text stranger.
    pub fn continue_in_text(&mut self) -> Action {
        self.preferences.mode = Mode::Text;
        self.preferences.hide_ip = false;
        self.search()
    }

    /// "Video without hiding my address", when no relay exists.
    pub fn stop_hiding_ip(&mut self) -> Action {
        self.preferences.hide_ip = false;
        self.search()
    }

    /// Moves to `phase`, dropping what belonged to the previous one.
    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.confirming = false;
        self.stranger_typing = false;
        self.typing_sent = false;
    }

    /// Where the chat stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The log, oldest first.
    pub fn log(&self) -> &[LogLine] {
        &self.log
    }

    /// The status line for the current phase.
    pub fn status(&self) -> &'static str {
        match self.phase {
            Phase::Connecting => Word::Connecting.say(),
            Phase::Checking => Word::Checking.say(),
            Phase::StartingCamera => Word::StartingCamera.say(),
            Phase::NoVideo(problem) => problem.describe(),
            Phase::Searching if self.preferences.question.is_some() => {
                Word::SearchingForQuestion.say()
            }
            Phase::Searching if self.preferences.discuss => Word::SearchingToDiscuss.say(),
            Phase::Searching => Word::Searching.say(),
            Phase::Chatting if self.reading => Word::ReadingAlong.say(),
            Phase::Chatting if self.question.is_some() => Word::Discussing.say(),
            Phase::Chatting => Word::Chatting.say(),
            Phase::Ended => Word::Ended.say(),
            Phase::Offline => Word::Offline.say(),
        }
    }

    /// Whether Stop was pressed once during a chat and waits for a second press.
    pub fn confirming_stop(&self) -> bool {
        self.phase == Phase::Chatting && self.confirming
    }

    /// The Stop/New button's label.
    pub fn button_label(&self) -> &'static str {
        match self.phase {
            Phase::Chatting if self.confirming => Word::Really.say(),
            Phase::Connecting
            | Phase::Checking
            | Phase::StartingCamera
            | Phase::Searching
            | Phase::Chatting => Word::Stop.say(),
            Phase::NoVideo(_) => Word::TryAgain.say(),
            Phase::Ended | Phase::Offline => Word::New.say(),
        }
    }

    /// Whether the message box can send now (not while reading along).
    pub fn can_send(&self) -> bool {
        self.phase == Phase::Chatting && !self.reading
    }

    /// Question mode: the question this chat discusses, if it is a discussion.
    pub fn question(&self) -> Option<&str> {
        self.question.as_deref()
    }

    /// Question mode: whether this person asked the question and reads along.
    pub fn reading(&self) -> bool {
        self.reading
    }

    /// Question mode, for a discusser: whether the asker still reads along.
    pub fn asker_reading(&self) -> bool {
        self.asker_reading
    }

    /// Whether this chat's messages are end-to-end encrypted.
    pub fn encryption(&self) -> &Encryption {
        &self.encryption
    }

    /// The encryption's outcome: the safety code of a sealed chat, or `None`
    /// when the stranger offered no key in time (messages then go unencrypted).
    pub fn agreed(&mut self, code: Option<String>) {
        if self.phase != Phase::Chatting || self.encryption != Encryption::Agreeing {
            return;
        }
        let held = std::mem::take(&mut self.held);
        match code {
            Some(code) => {
                self.encryption = Encryption::Sealed(code);
                if !held.is_empty() {
                    self.note(Speaker::Error, UNSEALED_DROPPED);
                }
            }
            None => {
                // The page says so beside the log (see `SealNotice`).
                self.encryption = Encryption::Refused;
                for text in held {
                    self.hear(text, None);
                }
            }
        }
    }

    /// A sealed message from the stranger, opened: its text and franking
    /// proof, or `None` if it could not be opened or its commitment did not
    /// match (then it is not shown: it cannot have come from the stranger).
    pub fn heard(&mut self, opened: Option<(String, String)>) {
        self.opening = self.opening.saturating_sub(1);
        if self.phase == Phase::Chatting && matches!(self.encryption, Encryption::Sealed(_)) {
            match opened {
                Some((text, franking)) => self.hear(text, Some(franking)),
                None => self.note(Speaker::Error, UNOPENED_DROPPED),
            }
        }
        if self.opening == 0 && std::mem::take(&mut self.left_while_opening) {
            self.stranger_left();
        }
    }

    fn stranger_left(&mut self) {
        if self.phase == Phase::Chatting {
            self.enter(Phase::Ended);
            self.note(Speaker::Notice, Word::StrangerLeft.say());
        }
    }

    fn hear(&mut self, text: String, franking: Option<String>) {
        self.stranger_typing = false;
        self.attention += 1;
        self.note(Speaker::Stranger, text);
        if let Some(line) = self.log.last_mut() {
            line.franking = franking;
        }
    }

    /// The connection closed or failed; `reason` is the server's, if it gave one
    /// (such as "The server is restarting, please reconnect").
    pub fn disconnected(&mut self, reason: Option<String>) {
        if self.phase == Phase::Offline {
            return; // already explained (a ban notice comes before its close)
        }
        if self.phase == Phase::Chatting {
            self.note(Speaker::Notice, Word::YouLeft.say());
        }
        if let Some(reason) = reason {
            self.note(Speaker::Notice, reason);
        }
        self.enter(Phase::Offline);
    }

    /// Applies a message from the server; returns what the page must do.
    ///
    /// Messages are only taken in the phase they belong to: after pressing Stop
    /// or New, what the old stranger had already sent is ignored rather than
    /// shown in the wrong chat, since the server's replies come in order.
    pub fn receive(&mut self, message: ServerMessage) -> Action {
        match (self.phase, message) {
            (Phase::Connecting, ServerMessage::Welcome { relay, challenge }) => {
                self.relay = relay;
                return match challenge {
                    Some(challenge) => {
                        self.enter(Phase::Checking);
                        Action::Solve(challenge)
                    }
                    None => self.search(),
                };
            }
            (_, ServerMessage::Online { count }) => self.online = Some(count),
            (
                Phase::Searching,
                ServerMessage::Paired {
                    common_interests,
                    call,
                    common_language,
                },
            ) => {
                self.enter(Phase::Chatting);
                self.chat_began = self.next_line;
                self.stranger_video = StrangerVideo::at_start(self.preferences.blur_video);
                self.attention += 1;
                self.strangers_found += 1;
                self.question = None;
                self.reading = false;
                self.asker_reading = false;
                self.held.clear();
                self.opening = 0;
                self.left_while_opening = false;
                // A discussion is read by its asker: not sealed.
                let seal = self.preferences.question.is_none() && !self.preferences.discuss;
                self.encryption = if seal {
                    Encryption::Agreeing
                } else {
                    Encryption::Off
                };
                if let Some(code) = common_language {
                    let notice = match Language::name_of(&code) {
                        Some(name) => Word::BothSpeak.with(name),
                        None => Word::SameLanguage.say().to_owned(),
                    };
                    self.note(Speaker::Notice, notice);
                }
                if let Some(list) = i18n::list(&common_interests) {
                    self.note(Speaker::Notice, Word::BothLike.with(&list));
                }
                return Action::Paired { call, seal };
            }
            (Phase::Chatting, ServerMessage::Signal { signal })
                if self.preferences.mode == Mode::Video =>
            {
                return Action::Signal(signal);
            }
            (Phase::Chatting, ServerMessage::Message { text }) => match self.encryption {
                Encryption::Off | Encryption::Refused => self.hear(text, None),
                Encryption::Agreeing => self.held.push(text),
                // Not from the stranger's browser, which seals: someone in the middle.
                Encryption::Sealed(_) => self.note(Speaker::Error, UNSEALED_DROPPED),
            },
            (Phase::Chatting, ServerMessage::Key { key })
                if self.encryption == Encryption::Agreeing =>
            {
                return Action::Meet(key);
            }
            (
                Phase::Chatting,
                ServerMessage::Sealed {
                    data,
                    commitment,
                    stamp,
                },
            ) if matches!(
                self.encryption,
                Encryption::Agreeing | Encryption::Sealed(_)
            ) =>
            {
                self.opening += 1;
                return Action::Open(data, commitment, stamp);
            }
            (Phase::Chatting, ServerMessage::Typing { typing }) => self.stranger_typing = typing,
            (Phase::Chatting, ServerMessage::Question { text, reading }) => {
                self.question = Some(text);
                self.reading = reading;
                self.asker_reading = !reading;
            }
            (Phase::Chatting, ServerMessage::Discussed { discusser, text }) if self.reading => {
                self.stranger_typing = false;
                self.attention += 1;
                self.note(Speaker::Discusser(discusser), text);
            }
            (Phase::Chatting, ServerMessage::DiscusserTyping { typing, .. }) if self.reading => {
                self.stranger_typing = typing;
            }
            (Phase::Chatting, ServerMessage::DiscusserLeft { discusser }) if self.reading => {
                self.enter(Phase::Ended);
                let notice = match discusser {
                    1 => Word::Discusser1Left.say(),
                    _ => Word::Discusser2Left.say(),
                };
                self.note(Speaker::Notice, notice);
            }
            (Phase::Chatting, ServerMessage::AskerLeft) if !self.reading => {
                self.asker_reading = false;
                self.note(Speaker::Notice, Word::AskerStopped.say());
            }
            // What they said before leaving is shown before they leave.
            (Phase::Chatting, ServerMessage::StrangerLeft) if self.opening > 0 => {
                self.left_while_opening = true;
            }
            (Phase::Chatting, ServerMessage::StrangerLeft) => self.stranger_left(),
            (_, ServerMessage::Banned { seconds }) => {
                self.enter(Phase::Offline);
                let notice = if seconds >= BAN_FOR_GOOD_S {
                    Word::BannedForGood.say().to_owned()
                } else {
                    Word::BannedFor.with(describe_wait(seconds))
                };
                self.note(Speaker::Error, notice);
            }
            (
                Phase::Searching,
                ServerMessage::Error {
                    code: ErrorCode::RulesNotAccepted,
                    message,
                },
            ) => {
                self.enter(Phase::Ended);
                self.needs_agreement = true;
                self.note(Speaker::Error, message);
            }
            // The check was not passed: a new connection brings a new one.
            (
                Phase::Searching,
                ServerMessage::Error {
                    code: ErrorCode::ChallengeRequired | ErrorCode::ChallengeFailed,
                    message,
                },
            ) => {
                self.enter(Phase::Offline);
                self.note(Speaker::Error, message);
            }
            // The search stopped on the server's side: "New" asks again.
            (
                Phase::Searching,
                ServerMessage::Error {
                    code: ErrorCode::MatchingPaused,
                    message,
                },
            ) => {
                self.enter(Phase::Ended);
                self.note(Speaker::Error, message);
            }
            (_, ServerMessage::Error { message, .. }) => self.note(Speaker::Error, message),
            _ => {}
        }
        Action::Nothing
    }

    /// The visitor sends `draft`. Returns the message for the server if it may be
    /// sent; a message the server would refuse for its length is refused here,
    /// with the same reason in the log; a blank one is simply not sent.
    ///
    /// In a chat being encrypted, the message is to be sealed first.
    pub fn send(&mut self, draft: &str) -> Action {
        if !self.can_send() {
            return Action::Nothing;
        }
        match check_message_text(draft) {
            Ok(()) => {
                // The message itself tells the stranger we stopped typing.
                self.typing_sent = false;
                self.note(Speaker::You, draft);
                match self.encryption {
                    Encryption::Agreeing | Encryption::Sealed(_) => Action::Seal(draft.to_owned()),
                    Encryption::Off | Encryption::Refused => Action::Send(ClientMessage::Message {
                        text: draft.to_owned(),
                    }),
                }
            }
            Err(ErrorCode::EmptyMessage) => Action::Nothing,
            // The only other refusal. Named, so the bundle carries one sentence, not every code's.
            Err(_) => {
                self.note(Speaker::Error, ErrorCode::MessageTooLong.describe());
                Action::Nothing
            }
        }
    }

    /// The visitor typed in the message box. Returns a typing notice for the
    /// stranger at the start of a burst; nothing for the keys after it.
    pub fn typed(&mut self) -> Option<ClientMessage> {
        if self.can_send() && !self.typing_sent {
            self.typing_sent = true;
            Some(ClientMessage::Typing { typing: true })
        } else {
            None
        }
    }

    /// The visitor stopped typing for a while: tells the stranger, if we had said
    /// we were typing.
    pub fn typing_paused(&mut self) -> Option<ClientMessage> {
        if self.can_send() && self.typing_sent {
            self.typing_sent = false;
            Some(ClientMessage::Typing { typing: false })
        } else {
            None
        }
    }

    /// The lines a report would carry: the last messages of the current chat,
    /// as this browser showed them, within the protocol's limits.
    pub fn evidence(&self) -> Vec<EvidenceLine> {
        let said = self
            .log
            .iter()
            .filter(|line| line.id >= self.chat_began)
            .filter_map(|line| match line.speaker {
                Speaker::You => Some((Author::You, line.text.as_str(), None)),
                Speaker::Stranger => Some((
                    Author::Stranger,
                    line.text.as_str(),
                    line.franking.as_deref(),
                )),
                // The asker reads along and does not report.
                Speaker::Discusser(_) | Speaker::Notice | Speaker::Error => None,
            });
        evidence_from(said)
    }

    /// Whether the server refused to search because the person has not
    /// confirmed their age and the rules (so the page can send them back).
    pub fn needs_agreement(&self) -> bool {
        self.needs_agreement
    }

    /// The visitor reports the stranger for `reason`, with the chat's last
    /// lines if `with_evidence`: the chat ends at once, and the report goes to
    /// the operator and counts against the stranger's network.
    pub fn report(&mut self, reason: ReportReason, with_evidence: bool) -> Action {
        if self.phase != Phase::Chatting {
            return Action::Nothing;
        }
        let evidence = if with_evidence {
            self.evidence()
        } else {
            Vec::new()
        };
        self.enter(Phase::Ended);
        self.note(Speaker::Notice, Word::ReportSent.say());
        Action::Send(ClientMessage::Report { reason, evidence })
    }

    /// The visitor presses the Stop/New button (or Esc). In a chat, the first
    /// press asks "Really?" and the second ends it, so a stray key does not.
    pub fn press_stop_or_new(&mut self) -> Action {
        match self.phase {
            // The server has not been asked for anything yet.
            Phase::Connecting | Phase::Checking => Action::Nothing,
            Phase::Chatting if !self.confirming => {
                self.confirming = true;
                Action::Nothing
            }
            Phase::StartingCamera => {
                // Nothing was asked of the server yet.
                self.enter(Phase::Ended);
                Action::Nothing
            }
            Phase::Searching | Phase::Chatting => {
                self.enter(Phase::Ended);
                self.note(Speaker::Notice, Word::YouLeft.say());
                Action::Send(ClientMessage::Leave {})
            }
            Phase::Ended | Phase::NoVideo(_) => {
                self.log.clear();
                self.search()
            }
            Phase::Offline => {
                self.log.clear();
                self.enter(Phase::Connecting);
                Action::Reconnect
            }
        }
    }

    fn note(&mut self, speaker: Speaker, text: impl Into<String>) {
        self.log.push(LogLine {
            id: self.next_line,
            speaker,
            text: text.into(),
            franking: None,
        });
        self.next_line += 1;
    }
}

/// Said when an unencrypted message arrives in a sealed chat: the stranger's
/// browser seals everything, so it came from someone else.
const UNSEALED_DROPPED: &str = "A message that was not end-to-end encrypted was dropped: it did not come from the stranger's browser.";

/// Said when a sealed message cannot be opened or does not match its commitment.
const UNOPENED_DROPPED: &str = "A message that could not be decrypted or verified was dropped.";

/// A ban this long (ten years or more) is a ban for good, and said so.
const BAN_FOR_GOOD_S: u64 = 10 * 365 * 24 * 60 * 60;

/// "23 h 59 min", "12 min", "less than a minute": how long a wait of
/// `seconds` is, rounded up to the minute.
pub fn describe_wait(seconds: u64) -> String {
    let minutes = seconds.div_ceil(60);
    match (minutes / 60, minutes % 60) {
        (0, 0) => Word::UnderAMinute.say().to_owned(),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CallRole, MAX_MESSAGE_CHARS};

    const PAIRED: ServerMessage = ServerMessage::Paired {
        common_interests: Vec::new(),
        call: None,
        common_language: None,
    };

    const WELCOME: ServerMessage = ServerMessage::Welcome {
        relay: false,
        challenge: None,
    };

    /// A session of someone who ticked "I am 18 or older and agree to the rules".
    fn agreed() -> ChatSession {
        ChatSession::new(Preferences {
            agreed: true,
            ..Preferences::default()
        })
    }

    fn chatting() -> ChatSession {
        let mut session = agreed();
        assert_eq!(session.phase(), Phase::Connecting);
        assert_eq!(
            session.receive(WELCOME),
            Action::Send(ClientMessage::join_anyone()),
            "a text chat searches as soon as the server says hello"
        );
        session.receive(ServerMessage::Waiting);
        assert_eq!(session.status(), "Looking for someone you can chat with...");
        assert_eq!(
            session.receive(PAIRED),
            Action::Paired {
                call: None,
                seal: true
            }
        );
        // A stranger whose app offers no key, as a script's: unencrypted (the
        // sealed chats are tested below).
        session.agreed(None);
        session
    }

    /// Presses Stop twice: "Really?", then the chat ends.
    fn stop(session: &mut ChatSession) -> Action {
        assert_eq!(session.press_stop_or_new(), Action::Nothing);
        assert_eq!(session.button_label(), "Really?");
        session.press_stop_or_new()
    }

    fn lines(session: &ChatSession) -> Vec<(Speaker, &str)> {
        session
            .log()
            .iter()
            .map(|l| (l.speaker, l.text.as_str()))
            .collect()
    }

    #[test]
    fn a_bot_check_in_the_welcome_is_solved_before_searching() {
        let mut session = ChatSession::new(Preferences {
            agreed: true,
            ..Preferences::default()
        });
        let challenge = Challenge {
            salt: "5a17".into(),
            hash: "0".repeat(64),
            max: 1000,
        };
        assert_eq!(
            session.receive(ServerMessage::Welcome {
                relay: false,
                challenge: Some(challenge.clone()),
            }),
            Action::Solve(challenge)
        );
        assert_eq!(session.status(), "Checking that you are not a bot...");
        assert_eq!(
            session.press_stop_or_new(),
            Action::Nothing,
            "nothing to stop yet"
        );
        assert!(matches!(
            session.checked(),
            Action::Send(ClientMessage::Join { agreed: true, .. })
        ));
        assert_eq!(session.phase(), Phase::Searching);
        assert_eq!(session.checked(), Action::Nothing, "only once");

        session.receive(ServerMessage::error(ErrorCode::ChallengeFailed));
        assert_eq!(session.phase(), Phase::Offline);
        assert_eq!(session.press_stop_or_new(), Action::Reconnect);
    }

    #[test]
    fn a_bot_check_the_browser_cannot_solve_is_explained() {
        let mut session = ChatSession::new(Preferences::default());
        session.receive(ServerMessage::Welcome {
            relay: false,
            challenge: Some(Challenge {
                salt: String::new(),
                hash: String::new(),
                max: 1,
            }),
        });
        session.check_failed();
        assert_eq!(session.phase(), Phase::Offline);
        assert!(
            lines(&session)
                .iter()
                .any(|(speaker, text)| *speaker == Speaker::Error && text.contains("not a bot"))
        );
    }

    #[test]
    fn a_conversation_is_logged_in_order() {
        let mut session = chatting();
        assert_eq!(
            session.status(),
            "You're now chatting with a random stranger. Say hi!"
        );
        assert_eq!(
            session.send("hi"),
            Action::Send(ClientMessage::Message { text: "hi".into() })
        );
        session.receive(ServerMessage::Message {
            text: "<b>hello</b>".into(),
        });
        assert_eq!(
            lines(&session),
            [(Speaker::You, "hi"), (Speaker::Stranger, "<b>hello</b>")]
        );
    }

    #[test]
    fn blank_messages_are_not_sent_and_long_ones_are_refused_with_a_reason() {
        let mut session = chatting();
        assert_eq!(session.send("   \n "), Action::Nothing);
        assert!(session.log().is_empty());
        assert_eq!(
            session.send(&"x".repeat(MAX_MESSAGE_CHARS + 1)),
            Action::Nothing
        );
        assert_eq!(
            lines(&session),
            [(Speaker::Error, ErrorCode::MessageTooLong.describe())]
        );
    }

    #[test]
    fn stop_then_new_starts_a_fresh_search() {
        let mut session = chatting();
        assert_eq!(session.button_label(), "Stop");
        assert_eq!(stop(&mut session), Action::Send(ClientMessage::Leave {}));
        assert_eq!(
            lines(&session),
            [(Speaker::Notice, "You have disconnected.")]
        );
        assert_eq!(session.button_label(), "New");
        assert!(!session.can_send());

        // A message the old stranger sent before the server saw our Leave.
        session.receive(ServerMessage::Message {
            text: "late".into(),
        });
        assert_eq!(
            session.log().len(),
            1,
            "late messages from the old chat are dropped"
        );

        assert_eq!(
            session.press_stop_or_new(),
            Action::Send(ClientMessage::join_anyone())
        );
        assert!(
            session.log().is_empty(),
            "a new chat starts with an empty log"
        );
        assert_eq!(session.phase(), Phase::Searching);
    }

    #[test]
    fn the_stranger_leaving_ends_the_chat() {
        let mut session = chatting();
        session.receive(ServerMessage::StrangerLeft);
        assert_eq!(session.phase(), Phase::Ended);
        assert_eq!(
            lines(&session),
            [(Speaker::Notice, "Stranger has disconnected.")]
        );
        assert_eq!(session.send("anyone?"), Action::Nothing);
    }

    #[test]
    fn a_pairing_that_arrives_after_stop_is_ignored() {
        let mut session = agreed();
        session.receive(WELCOME);
        session.press_stop_or_new();
        session.receive(PAIRED);
        assert_eq!(session.phase(), Phase::Ended);
    }

    #[test]
    fn losing_the_server_offers_to_reconnect() {
        let mut session = chatting();
        session.disconnected(Some("The server is restarting, please reconnect".into()));
        assert_eq!(
            lines(&session),
            [
                (Speaker::Notice, "You have disconnected."),
                (
                    Speaker::Notice,
                    "The server is restarting, please reconnect"
                )
            ]
        );
        assert_eq!(session.phase(), Phase::Offline);
        assert_eq!(session.button_label(), "New");
        assert_eq!(session.press_stop_or_new(), Action::Reconnect);
        assert_eq!(session.phase(), Phase::Connecting);
    }

    #[test]
    fn a_search_the_server_cannot_run_ends_and_new_asks_again() {
        let mut session = agreed();
        session.receive(WELCOME);
        session.receive(ServerMessage::Waiting);
        session.receive(ServerMessage::error(ErrorCode::MatchingPaused));
        assert_eq!(session.phase(), Phase::Ended);
        assert_eq!(
            lines(&session),
            [(Speaker::Error, ErrorCode::MatchingPaused.describe())]
        );
        assert_eq!(session.button_label(), "New");
        assert_eq!(
            session.press_stop_or_new(),
            Action::Send(ClientMessage::join_anyone())
        );
        assert_eq!(session.phase(), Phase::Searching);
    }

    #[test]
    fn server_refusals_are_shown() {
        let mut session = chatting();
        session.receive(ServerMessage::error(ErrorCode::NotInChat));
        assert_eq!(
            lines(&session),
            [(Speaker::Error, ErrorCode::NotInChat.describe())]
        );
    }

    #[test]
    fn stop_asks_really_and_anything_else_happening_cancels_the_question() {
        let mut session = chatting();
        session.press_stop_or_new();
        assert_eq!(session.button_label(), "Really?");
        session.receive(ServerMessage::StrangerLeft);
        assert_eq!(session.button_label(), "New", "the stranger left first");
        assert_eq!(
            session.press_stop_or_new(),
            Action::Send(ClientMessage::join_anyone())
        );
    }

    #[test]
    fn searching_stops_at_the_first_press() {
        let mut session = agreed();
        session.receive(WELCOME);
        assert_eq!(
            session.press_stop_or_new(),
            Action::Send(ClientMessage::Leave {})
        );
        assert_eq!(session.button_label(), "New");
    }

    #[test]
    fn every_search_carries_the_same_interests() {
        let preferences = Preferences {
            interests: vec!["music".into(), "chess".into()],
            only_shared: true,
            browser: Some("tab-family".into()),
            agreed: true,
            ..Preferences::default()
        };
        let expected = ClientMessage::Join {
            interests: preferences.interests.clone(),
            only_shared: true,
            browser: Some("tab-family".into()),
            mode: Mode::Text,
            agreed: true,
            hide_ip: false,
            question: None,
            discuss: false,
            language: None,
        };
        let mut session = ChatSession::new(preferences);
        assert_eq!(session.receive(WELCOME), Action::Send(expected.clone()));
        session.receive(PAIRED);
        stop(&mut session);
        assert_eq!(session.press_stop_or_new(), Action::Send(expected));
    }

    #[test]
    fn shared_interests_are_announced() {
        for (common, line) in [
            (vec!["go"], "You both like go."),
            (vec!["go", "chess"], "You both like go and chess."),
            (
                vec!["go", "chess", "jazz"],
                "You both like go, chess and jazz.",
            ),
        ] {
            let mut session = agreed();
            session.receive(WELCOME);
            session.receive(ServerMessage::Paired {
                common_interests: common.iter().map(|c| c.to_string()).collect(),
                call: None,
                common_language: None,
            });
            assert_eq!(lines(&session), [(Speaker::Notice, line)]);
        }
    }

    #[test]
    fn typing_costs_two_messages_per_burst() {
        let mut session = chatting();
        assert_eq!(
            session.typed(),
            Some(ClientMessage::Typing { typing: true })
        );
        assert_eq!(session.typed(), None);
        assert_eq!(session.typed(), None);
        assert_eq!(
            session.typing_paused(),
            Some(ClientMessage::Typing { typing: false })
        );
        assert_eq!(session.typing_paused(), None);
        // Sending ends a burst without a separate notice.
        session.typed();
        session.send("hi");
        assert_eq!(session.typing_paused(), None);
        assert_eq!(
            session.typed(),
            Some(ClientMessage::Typing { typing: true })
        );
    }

    #[test]
    fn the_stranger_typing_shows_until_they_send_or_stop() {
        let mut session = chatting();
        session.receive(ServerMessage::Typing { typing: true });
        assert!(session.stranger_typing());
        session.receive(ServerMessage::Message { text: "hey".into() });
        assert!(!session.stranger_typing());
        session.receive(ServerMessage::Typing { typing: true });
        session.receive(ServerMessage::Typing { typing: false });
        assert!(!session.stranger_typing());
    }

    #[test]
    fn the_transcript_holds_the_conversation_and_notices() {
        let mut session = chatting();
        session.send("hi");
        session.receive(ServerMessage::Message {
            text: "hello".into(),
        });
        session.send(&"x".repeat(MAX_MESSAGE_CHARS + 1));
        session.receive(ServerMessage::StrangerLeft);
        assert_eq!(
            session.transcript(),
            "Strangers chat log\n\nYou: hi\nStranger: hello\nStranger has disconnected.\n"
        );
    }

    #[test]
    fn attention_counts_new_strangers_and_their_messages() {
        let mut session = chatting();
        assert_eq!(session.attention(), 1);
        session.receive(ServerMessage::Message { text: "a".into() });
        session.send("b");
        assert_eq!(session.attention(), 2);
        session.receive(ServerMessage::Online { count: 7 });
        assert_eq!(session.online(), Some(7));
        assert_eq!(session.attention(), 2);
    }

    /// A question mode session, paired and told the question.
    fn in_question_mode(question: Option<&str>, discuss: bool) -> ChatSession {
        let mut session = ChatSession::new(Preferences {
            agreed: true,
            question: question.map(str::to_owned),
            discuss,
            ..Preferences::default()
        });
        let Action::Send(join) = session.receive(WELCOME) else {
            panic!("a session joins once welcomed");
        };
        let expected = match question {
            Some(question) => ClientMessage::ask(question),
            None => ClientMessage::discuss_questions(),
        };
        assert_eq!(join, expected);
        session.receive(ServerMessage::Waiting);
        session.receive(PAIRED);
        session.receive(ServerMessage::Question {
            text: "Tea or coffee?".into(),
            reading: question.is_some(),
        });
        session
    }

    #[test]
    fn the_asker_reads_both_discussers_by_number_and_cannot_write() {
        let mut session = ChatSession::new(Preferences {
            agreed: true,
            question: Some("Tea or coffee?".into()),
            ..Preferences::default()
        });
        session.receive(WELCOME);
        session.receive(ServerMessage::Waiting);
        assert_eq!(
            session.status(),
            "Looking for two strangers to discuss your question..."
        );
        let mut session = in_question_mode(Some("Tea or coffee?"), false);
        assert_eq!(session.question(), Some("Tea or coffee?"));
        assert!(session.reading());
        assert!(!session.can_send(), "the asker only reads");
        assert_eq!(session.send("me!"), Action::Nothing);
        assert_eq!(session.typed(), None);
        session.receive(ServerMessage::Discussed {
            discusser: 2,
            text: "coffee".into(),
        });
        let last = session.log().last().unwrap();
        assert_eq!(
            (last.speaker, last.text.as_str()),
            (Speaker::Discusser(2), "coffee")
        );
        assert!(session.evidence().is_empty(), "nothing of theirs to report");
        session.receive(ServerMessage::DiscusserLeft { discusser: 1 });
        assert_eq!(session.phase(), Phase::Ended);
        assert_eq!(
            session.log().last().unwrap().text,
            "Stranger 1 left. The discussion is over."
        );
        assert!(session.transcript().contains("Stranger 2: coffee\n"));
    }

    #[test]
    fn a_discusser_sees_the_question_writes_and_hears_when_the_asker_stops_reading() {
        let mut session = in_question_mode(None, true);
        assert_eq!(
            session.status(),
            "You're discussing a question with a stranger. Say hi!"
        );
        assert!(session.can_send());
        assert!(session.asker_reading());
        session.receive(ServerMessage::AskerLeft);
        assert!(!session.asker_reading());
        assert_eq!(session.phase(), Phase::Chatting, "the two chat on");
        assert_ne!(session.send("still here"), Action::Nothing);
        // The next chat is a new one: no question until told.
        session.receive(ServerMessage::StrangerLeft);
        session.press_stop_or_new();
        session.receive(ServerMessage::Waiting);
        assert_eq!(session.status(), "Looking for a question to discuss...");
        session.receive(PAIRED);
        assert_eq!(session.question(), None);
    }

    #[test]
    fn a_shared_language_is_told_by_its_name_before_the_interests() {
        let mut session = agreed();
        session.receive(WELCOME);
        session.receive(ServerMessage::Paired {
            common_interests: vec!["jazz".into()],
            call: None,
            common_language: Some("es".into()),
        });
        let notices: Vec<&str> = session.log().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(notices, ["You both speak Spanish.", "You both like jazz."]);
        session.receive(ServerMessage::StrangerLeft);
        session.press_stop_or_new();
        session.receive(ServerMessage::Paired {
            common_interests: Vec::new(),
            call: None,
            common_language: Some("eo".into()),
        });
        assert_eq!(
            session.log().last().unwrap().text,
            "You both chose the same language."
        );
    }

    #[test]
    fn every_stranger_found_is_counted_once_and_nothing_else_is() {
        let mut session = chatting();
        assert_eq!(session.strangers_found(), 1);
        session.receive(ServerMessage::Message { text: "a".into() });
        session.receive(ServerMessage::Typing { typing: true });
        session.receive(ServerMessage::StrangerLeft);
        assert_eq!(session.strangers_found(), 1, "only pairings count");
        session.press_stop_or_new();
        session.receive(ServerMessage::Waiting);
        session.receive(PAIRED);
        assert_eq!(session.strangers_found(), 2);
    }

    fn video(hide_ip: bool) -> ChatSession {
        ChatSession::new(Preferences {
            mode: Mode::Video,
            hide_ip,
            agreed: true,
            ..Preferences::default()
        })
    }

    #[test]
    fn a_sexual_frame_blurs_the_strangers_video_for_this_chat_until_shown() {
        let mut session = video(false);
        session.receive(WELCOME);
        assert_eq!(session.camera_started(), Some(video_join()));
        session.receive(ServerMessage::Paired {
            common_interests: Vec::new(),
            call: None,
            common_language: None,
        });
        assert_eq!(session.stranger_video(), StrangerVideo::Shown);
        session.nudity_verdict(true);
        assert!(session.stranger_video().is_hidden());
        session.show_stranger_video();
        session.nudity_verdict(true);
        assert!(!session.stranger_video().is_hidden(), "the viewer chose");
        assert_eq!(session.end_chat(), Action::Send(ClientMessage::Leave {}));
        assert_eq!(session.phase(), Phase::Ended);
        assert_eq!(
            session.stranger_video(),
            StrangerVideo::Shown,
            "no chat, no notice"
        );
        session.nudity_verdict(true);
        assert!(matches!(session.press_stop_or_new(), Action::StartCamera));
        assert_eq!(session.camera_started(), Some(video_join()));
        session.receive(ServerMessage::Paired {
            common_interests: Vec::new(),
            call: None,
            common_language: None,
        });
        assert_eq!(
            session.stranger_video(),
            StrangerVideo::Shown,
            "every call starts afresh"
        );
    }

    #[test]
    fn asked_to_blur_every_call_starts_blurred() {
        let mut session = ChatSession::new(Preferences {
            mode: Mode::Video,
            agreed: true,
            blur_video: true,
            ..Preferences::default()
        });
        session.receive(WELCOME);
        session.camera_started();
        session.receive(ServerMessage::Paired {
            common_interests: Vec::new(),
            call: None,
            common_language: None,
        });
        assert_eq!(session.stranger_video(), StrangerVideo::HiddenUntilChosen);
    }

    fn video_join() -> ClientMessage {
        ClientMessage::join_mode(Mode::Video)
    }

    #[test]
    fn video_turns_the_camera_on_before_searching() {
        let mut session = video(false);
        assert!(!session.wants_camera());
        assert_eq!(session.receive(WELCOME), Action::StartCamera);
        assert_eq!(
            session.status(),
            "Waiting for your camera and microphone..."
        );
        assert!(session.wants_camera());
        assert_eq!(session.camera_started(), Some(video_join()));
        assert_eq!(session.phase(), Phase::Searching);
        assert_eq!(session.camera_started(), None, "only once");
    }

    #[test]
    fn a_video_pairing_sets_up_the_call_and_passes_on_signals() {
        let mut session = video(false);
        session.receive(WELCOME);
        session.camera_started();
        let setup = CallSetup {
            role: CallRole::Offer,
            ice_servers: Vec::new(),
        };
        let paired = ServerMessage::Paired {
            common_interests: Vec::new(),
            call: Some(setup.clone()),
            common_language: None,
        };
        assert_eq!(
            session.receive(paired),
            Action::Paired {
                call: Some(setup),
                seal: true
            },
            "the call starts, and the text beside it is encrypted"
        );
        assert!(session.wants_call());
        let answer = CallSignal::Answer { sdp: "v=0".into() };
        assert_eq!(
            session.receive(ServerMessage::Signal {
                signal: answer.clone()
            }),
            Action::Signal(answer.clone())
        );
        session.receive(ServerMessage::StrangerLeft);
        assert!(!session.wants_call(), "the call ends with the chat");
        assert!(!session.wants_camera(), "and the camera goes off");
        assert_eq!(
            session.receive(ServerMessage::Signal { signal: answer }),
            Action::Nothing,
            "a late setup step reaches no call"
        );
        assert_eq!(
            session.press_stop_or_new(),
            Action::StartCamera,
            "New turns the camera back on, then searches"
        );
        assert_eq!(session.camera_started(), Some(video_join()));
    }

    #[test]
    fn a_refused_camera_explains_and_offers_text() {
        let mut session = video(false);
        session.receive(WELCOME);
        session.camera_failed(VideoProblem::Denied);
        assert_eq!(session.phase(), Phase::NoVideo(VideoProblem::Denied));
        assert!(session.status().contains("continue in text"));
        assert!(!session.wants_camera());
        assert_eq!(session.button_label(), "Try again");
        assert_eq!(session.press_stop_or_new(), Action::StartCamera);
        session.camera_failed(VideoProblem::NoDevice);
        assert_eq!(
            session.continue_in_text(),
            Action::Send(ClientMessage::join_anyone())
        );
        assert_eq!(session.phase(), Phase::Searching);
    }

    #[test]
    fn hiding_the_address_needs_a_relay() {
        let mut session = video(true);
        assert_eq!(session.receive(WELCOME), Action::Nothing);
        assert_eq!(session.phase(), Phase::NoVideo(VideoProblem::NoRelay));
        assert!(!session.wants_camera(), "the camera is not even asked for");
        assert_eq!(session.stop_hiding_ip(), Action::StartCamera);

        let mut session = video(true);
        assert_eq!(
            session.receive(ServerMessage::Welcome {
                relay: true,
                challenge: None
            }),
            Action::StartCamera
        );
    }

    #[test]
    fn stop_while_the_camera_starts_asks_nothing_of_the_server() {
        let mut session = video(false);
        session.receive(WELCOME);
        assert_eq!(session.press_stop_or_new(), Action::Nothing);
        assert_eq!(session.phase(), Phase::Ended);
        assert_eq!(session.camera_started(), None, "a late camera is not used");
        assert!(!session.wants_camera());
    }

    #[test]
    fn mute_and_camera_off_are_remembered_across_chats() {
        let mut session = video(false);
        assert!(session.is_on(Device::Microphone) && session.is_on(Device::Camera));
        assert!(!session.toggle(Device::Microphone));
        assert!(!session.toggle(Device::Camera));
        session.receive(WELCOME);
        session.camera_started();
        assert!(!session.is_on(Device::Microphone) && !session.is_on(Device::Camera));
        assert!(session.toggle(Device::Camera));
    }

    #[test]
    fn text_chats_never_use_the_camera() {
        let mut session = chatting();
        assert!(!session.wants_camera() && !session.wants_call());
        let signal = CallSignal::Offer { sdp: "v=0".into() };
        assert_eq!(
            session.receive(ServerMessage::Signal { signal }),
            Action::Nothing
        );
    }

    #[test]
    fn reporting_ends_the_chat_and_sends_the_chosen_reason_and_evidence() {
        let mut session = chatting();
        session.receive(ServerMessage::Message {
            text: "hello".into(),
        });
        assert_ne!(session.send("go away"), Action::Nothing);
        session.receive(ServerMessage::Typing { typing: true });
        let evidence = vec![
            EvidenceLine {
                from: Author::Stranger,
                text: "hello".into(),
                franking: None,
            },
            EvidenceLine {
                from: Author::You,
                text: "go away".into(),
                franking: None,
            },
        ];
        assert_eq!(session.evidence(), evidence, "what this browser showed");
        assert_eq!(
            session.report(ReportReason::Harassment, true),
            Action::Send(ClientMessage::Report {
                reason: ReportReason::Harassment,
                evidence
            })
        );
        assert_eq!(session.phase(), Phase::Ended);
        assert_eq!(
            session.log().last().unwrap().text,
            "Thanks. Your report was sent."
        );
        assert_eq!(
            session.report(ReportReason::Spam, true),
            Action::Nothing,
            "only a chat can be reported"
        );
    }

    /// A chat whose keys are being agreed.
    fn agreeing() -> ChatSession {
        let mut session = agreed();
        session.receive(WELCOME);
        session.receive(PAIRED);
        assert_eq!(session.encryption(), &Encryption::Agreeing);
        session
    }

    fn sealed(data: &str) -> ServerMessage {
        ServerMessage::Sealed {
            data: data.into(),
            commitment: "c".into(),
            stamp: "s".into(),
        }
    }

    #[test]
    fn a_sealed_chat_seals_what_is_sent_and_shows_what_it_opens_with_its_proof() {
        let mut session = agreeing();
        assert_eq!(
            session.send("hi"),
            Action::Seal("hi".into()),
            "typed before the keys are agreed: sealed once they are"
        );
        assert_eq!(
            session.receive(ServerMessage::Key { key: "k".into() }),
            Action::Meet("k".into())
        );
        session.agreed(Some("123 456 789 012 345 678".into()));
        assert_eq!(
            session.encryption(),
            &Encryption::Sealed("123 456 789 012 345 678".into())
        );
        assert_eq!(
            session.receive(ServerMessage::Key { key: "k2".into() }),
            Action::Nothing,
            "a second key changes nothing"
        );
        assert_eq!(
            session.receive(sealed("d")),
            Action::Open("d".into(), "c".into(), "s".into())
        );
        session.heard(Some(("hello".into(), "f.c.s".into())));
        assert_eq!(session.send("bye"), Action::Seal("bye".into()));
        assert_eq!(
            lines(&session),
            [
                (Speaker::You, "hi"),
                (Speaker::Stranger, "hello"),
                (Speaker::You, "bye")
            ]
        );
        let evidence = session.evidence();
        assert_eq!(evidence[1].franking.as_deref(), Some("f.c.s"));
        assert_eq!(evidence[0].franking, None, "one's own lines carry no proof");

        // Someone in the middle cannot speak for the stranger.
        session.receive(ServerMessage::Message {
            text: "send me your address".into(),
        });
        session.receive(sealed("tampered"));
        session.heard(None);
        let shown: Vec<_> = session.log().iter().map(|l| l.text.as_str()).collect();
        assert!(!shown.contains(&"send me your address"));
        assert_eq!(
            session
                .log()
                .iter()
                .filter(|l| l.speaker == Speaker::Error)
                .count(),
            2,
            "both dropped, and said so"
        );
    }

    #[test]
    fn plain_messages_while_keys_are_agreed_wait_for_the_outcome() {
        let mut session = agreeing();
        session.receive(ServerMessage::Message { text: "hi".into() });
        assert!(session.log().is_empty(), "held");
        session.agreed(None);
        assert_eq!(session.encryption(), &Encryption::Refused);
        assert_eq!(lines(&session), [(Speaker::Stranger, "hi")]);
        assert_eq!(
            session.send("hello"),
            Action::Send(ClientMessage::Message {
                text: "hello".into()
            }),
            "no key from the stranger: unencrypted"
        );

        let mut session = agreeing();
        session.receive(ServerMessage::Message {
            text: "injected".into(),
        });
        session.agreed(Some("000 000 000 000 000 000".into()));
        assert_eq!(
            lines(&session),
            [(Speaker::Error, UNSEALED_DROPPED)],
            "the stranger's browser seals: a plain message came from someone else"
        );
    }

    #[test]
    fn what_the_stranger_said_before_leaving_is_shown_before_they_leave() {
        let mut session = agreeing();
        session.agreed(Some("1".into()));
        session.receive(sealed("bye"));
        session.receive(ServerMessage::StrangerLeft);
        assert_eq!(session.phase(), Phase::Chatting, "still opening");
        session.heard(Some(("bye!".into(), "p".into())));
        assert_eq!(session.phase(), Phase::Ended);
        assert_eq!(
            lines(&session),
            [
                (Speaker::Stranger, "bye!"),
                (Speaker::Notice, "Stranger has disconnected.")
            ]
        );
    }

    #[test]
    fn question_mode_is_not_sealed_since_its_asker_reads_along() {
        for preferences in [
            Preferences {
                discuss: true,
                ..Preferences::default()
            },
            Preferences {
                question: Some("Cats or dogs?".into()),
                ..Preferences::default()
            },
        ] {
            let mut session = ChatSession::new(Preferences {
                agreed: true,
                ..preferences
            });
            session.receive(WELCOME);
            assert_eq!(
                session.receive(PAIRED),
                Action::Paired {
                    call: None,
                    seal: false
                }
            );
            assert_eq!(session.encryption(), &Encryption::Off);
        }
    }

    #[test]
    fn a_report_without_evidence_sends_no_lines_and_evidence_is_of_this_chat_only() {
        let mut session = chatting();
        session.receive(ServerMessage::Message {
            text: "from the first chat".into(),
        });
        session.receive(ServerMessage::StrangerLeft);
        session.press_stop_or_new();
        session.receive(PAIRED);
        session.agreed(None);
        assert_eq!(session.evidence(), [], "an earlier chat is not evidence");
        session.receive(ServerMessage::Message {
            text: "rude".into(),
        });
        assert_eq!(session.evidence().len(), 1);
        assert_eq!(
            session.report(ReportReason::Other, false),
            Action::Send(ClientMessage::Report {
                reason: ReportReason::Other,
                evidence: Vec::new()
            })
        );
    }

    #[test]
    fn a_search_refused_for_want_of_agreement_ends_and_says_why() {
        let mut session = ChatSession::default();
        let Action::Send(ClientMessage::Join { agreed, .. }) = session.receive(WELCOME) else {
            panic!("joins");
        };
        assert!(!agreed, "not ticked: the server is not told otherwise");
        session.receive(ServerMessage::error(ErrorCode::RulesNotAccepted));
        assert_eq!(session.phase(), Phase::Ended);
        assert!(session.needs_agreement());
        assert!(session.log()[0].text.contains("18 or older"));
    }

    #[test]
    fn a_ban_for_good_says_so() {
        let mut session = chatting();
        session.receive(ServerMessage::Banned {
            seconds: 9_000_000_000_000,
        });
        assert_eq!(
            session.log().last().unwrap().text,
            "You are banned from Strangers, after reports from other strangers."
        );
    }

    #[test]
    fn a_ban_is_shown_with_the_time_left_and_the_close_adds_nothing() {
        let mut session = chatting();
        session.receive(ServerMessage::Banned {
            seconds: 23 * 3600 + 59 * 60,
        });
        session.disconnected(Some("Banned after reports from other strangers".into()));
        assert_eq!(
            lines(&session),
            [(
                Speaker::Error,
                "You are banned from Strangers for 23 h 59 min, after reports from other strangers."
            )]
        );
        assert_eq!(session.phase(), Phase::Offline);
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(describe_wait(24 * 3600), "24 h");
        assert_eq!(describe_wait(24 * 3600 - 30), "24 h");
        assert_eq!(describe_wait(3 * 3600 + 125), "3 h 3 min");
        assert_eq!(describe_wait(600), "10 min");
        assert_eq!(describe_wait(20), "1 min");
        assert_eq!(describe_wait(0), "less than a minute");
    }

    #[test]
    fn a_call_that_cannot_connect_is_noted_and_the_text_chat_goes_on() {
        let mut session = video(false);
        session.receive(WELCOME);
        session.camera_started();
        session.receive(PAIRED);
        session.call_failed();
        assert!(
            session.log()[0]
                .text
                .starts_with("The video connection could not be made")
        );
        assert!(session.can_send());
        session.receive(ServerMessage::StrangerLeft);
        session.call_failed();
        assert_eq!(
            session.log().len(),
            2,
            "nothing noted once the chat is over"
        );
    }
}
