//! The messages that cross the WebSocket, shared by the server and the browser.
//!
//! Every frame is one JSON object tagged by its `"type"` field, for example
//! `{"type":"message","text":"hi"}`. Both sides compile this one module, so a change
//! here changes the server and the client together and they cannot drift apart.

use serde::{Deserialize, Serialize};

/// Where the online count is streamed as server-sent events (`data: <count>`),
/// for pages that show it without holding a chat connection.
pub const ONLINE_FEED: &str = "/online";

/// The longest chat message the server relays, counted in characters (not bytes),
/// because that is what a person typing sees.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// The longest question in question mode, in characters.
pub const MAX_QUESTION_CHARS: usize = 200;

/// The most interests a stranger may list.
pub const MAX_INTERESTS: usize = 10;

/// The longest interest, in characters.
pub const MAX_INTEREST_CHARS: usize = 32;

/// The longest per-browser id the server accepts.
pub const MAX_BROWSER_ID_CHARS: usize = 64;

/// The longest session description (offer or answer) relayed, in bytes. A
/// browser's offer for one camera and one microphone is 3 to 8 KB.
pub const MAX_SDP_BYTES: usize = 16 * 1024;

/// The longest ICE candidate line relayed, in bytes (real ones are about 100 to 250).
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// The longest media id (`sdpMid`) in a candidate, in bytes.
pub const MAX_SDP_MID_BYTES: usize = 64;

/// The most chat lines a report may carry as evidence.
pub const MAX_EVIDENCE_LINES: usize = 20;

/// The most a report's evidence may take, in bytes of JSON (escapes counted),
/// so that a report always fits in one WebSocket frame with room to spare.
pub const MAX_EVIDENCE_BYTES: usize = 32 * 1024;

/// The longest public key a browser may offer for end-to-end encryption, in
/// characters of base64url (a P-256 key in its raw form is 87).
pub const MAX_KEY_CHARS: usize = 200;

/// The longest sealed message, in characters of base64url: the nonce (12
/// bytes), the sealed counter and franking key (4 + 32), the longest message
/// in UTF-8 (4 bytes a character at most) and AES-GCM's tag (16).
pub const MAX_SEALED_CHARS: usize = (12 + 4 + 32 + 4 * MAX_MESSAGE_CHARS + 16).div_ceil(3) * 4;

/// A message franking commitment (HMAC-SHA256) in base64url: 32 bytes. The
/// franking key and the server's stamp are as long.
pub const COMMITMENT_CHARS: usize = 43;

/// The longest franking proof a report's line may carry: three base64url
/// values of [`COMMITMENT_CHARS`] and two dots (see [`EvidenceLine::franking`]).
pub const MAX_FRANKING_CHARS: usize = 3 * COMMITMENT_CHARS + 2;

/// The deepest nesting of JSON objects and arrays accepted in a client frame.
/// The deepest real message (a call setup step) nests two levels; refusing
/// deeper frames before parsing keeps a hostile one from costing anything.
pub const MAX_JSON_DEPTH: usize = 4;

/// How a stranger wants to talk. Strangers are only paired within one mode.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Text chat only.
    #[default]
    Text,
    /// A video call, with text chat beside it.
    Video,
}

impl Mode {
    /// Whether this is the default, text mode (which the wire leaves out).
    pub fn is_text(&self) -> bool {
        *self == Mode::Text
    }

    /// The mode's name in addresses and on the wire: `text` or `video`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Text => "text",
            Mode::Video => "video",
        }
    }

    /// The mode named in an address (`?mode=video`); anything else is text.
    pub fn from_query(value: Option<&str>) -> Self {
        match value {
            Some("video") => Mode::Video,
            _ => Mode::Text,
        }
    }
}

/// One step of setting up a video call between two browsers (WebRTC signaling).
/// The server only passes these to the room partner; it does not read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CallSignal {
    /// The offering side's session description.
    Offer {
        /// The SDP text.
        sdp: String,
    },
    /// The answering side's session description.
    Answer {
        /// The SDP text.
        sdp: String,
    },
    /// A network route the sender can be reached on (an ICE candidate).
    Candidate {
        /// The `candidate:` line.
        candidate: String,
        /// Which media section it belongs to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        /// The index of that media section.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_m_line_index: Option<u16>,
    },
}

/// Whether this side of a video call makes the offer. The server decides when it
/// pairs two video strangers, so the two never offer at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallRole {
    /// Create the offer and send it.
    Offer,
    /// Wait for the offer and answer it.
    Answer,
}

/// A STUN or TURN server for the browsers' peer connection, in the shape of
/// WebRTC's `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    /// `stun:host:port`, `turn:host:port?transport=udp`, `turns:...`.
    pub urls: Vec<String>,
    /// TURN user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl IceServer {
    /// Whether this is a TURN server, which can relay a call (and so hide addresses).
    pub fn relays(&self) -> bool {
        self.urls
            .iter()
            .any(|url| url.starts_with("turn:") || url.starts_with("turns:"))
    }
}

/// How to set up the call in a video chat, sent with [`ServerMessage::Paired`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSetup {
    /// Whether this side offers or answers.
    pub role: CallRole,
    /// The STUN/TURN servers this service provides (none: direct routes only,
    /// which works on a LAN and on loopback).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ice_servers: Vec<IceServer>,
}

/// Why a stranger is reported: the choices the report dialog offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    /// Nudity or sexual content.
    Sexual,
    /// The stranger seems to be under 18.
    Minor,
    /// Harassment or hate.
    Harassment,
    /// Spam, or a bot.
    Spam,
    /// Something else.
    Other,
}

impl ReportReason {
    /// Every reason, in the order the dialog lists them.
    pub const ALL: [ReportReason; 5] = [
        ReportReason::Sexual,
        ReportReason::Minor,
        ReportReason::Harassment,
        ReportReason::Spam,
        ReportReason::Other,
    ];

    /// The reason as people read it (the dialog and the operator console).
    pub fn label(self) -> &'static str {
        match self {
            ReportReason::Sexual => "Nudity or sexual content",
            ReportReason::Minor => "Seems under 18",
            ReportReason::Harassment => "Harassment or hate",
            ReportReason::Spam => "Spam or a bot",
            ReportReason::Other => "Something else",
        }
    }

    /// The reason's name on the wire: `sexual`, `minor`, `harassment`, `spam`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportReason::Sexual => "sexual",
            ReportReason::Minor => "minor",
            ReportReason::Harassment => "harassment",
            ReportReason::Spam => "spam",
            ReportReason::Other => "other",
        }
    }
}

/// Who wrote a line of a report's evidence, as the reporter saw the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The reporter.
    You,
    /// The reported stranger.
    Stranger,
}

/// One chat line a reporter chose to send with a report, exactly as their
/// browser showed it. The server cannot tell whether it was really said: the
/// operator console says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceLine {
    /// Who wrote it.
    pub from: Author,
    /// What they wrote.
    pub text: String,
    /// For a line the stranger sent sealed (end-to-end encrypted), the proof
    /// that they did: the message's franking key, its commitment and the
    /// server's stamp, each base64url, joined by dots. The server checks it
    /// (see `server::franking`), so a report cannot put words in anyone's mouth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub franking: Option<String>,
}

/// What a stranger's browser asks of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Find me a stranger. Ends the current chat first, if there is one (a skip);
    /// asking again while already waiting keeps the place in the queue.
    ///
    /// Every field may be left out: `{"type":"join"}` asks for anyone at all.
    Join {
        /// Topics to be matched on, normalized (see [`normalize_interest`]); at most
        /// [`MAX_INTERESTS`]. A stranger sharing one is preferred.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        interests: Vec<String>,
        /// Wait for a shared interest rather than fall back to anyone.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        only_shared: bool,
        /// A random id the browser keeps for itself, so two of its tabs are never
        /// paired with each other. It identifies nothing else.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        browser: Option<String>,
        /// Text, or video; only strangers in the same mode are paired.
        #[serde(default, skip_serializing_if = "Mode::is_text")]
        mode: Mode,
        /// The person confirmed they are 18 or older and agree to the rules.
        /// A join without it is refused ([`ErrorCode::RulesNotAccepted`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        agreed: bool,
        /// Video: the person hides their network address. Their browser sends
        /// only relay routes; the server drops any call setup step of theirs
        /// that would reveal another address.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        hide_ip: bool,
        /// Question mode: ask this (see [`check_question`]). Two strangers who
        /// chose to discuss questions discuss it while the asker reads along.
        /// Text only; interests play no part.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        question: Option<String>,
        /// Question mode: discuss other people's questions while they read
        /// along. Only those who choose this are ever chosen for it. Text only.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        discuss: bool,
        /// The language to chat in (see [`check_language`]): strangers who
        /// chose the same one are preferred, as a shared interest is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
    },
    /// A chat message for the stranger in my room.
    Message {
        /// What the person typed; plain text, never markup.
        text: String,
    },
    /// The person started (`true`) or stopped (`false`) typing. Sent once per burst,
    /// not per key.
    Typing {
        /// Whether they are typing now.
        typing: bool,
    },
    /// A video call setup step for the stranger in my video chat.
    Signal {
        /// The step; see [`check_signal`] for its limits.
        signal: CallSignal,
    },
    /// End the current chat, or stop waiting for one.
    Leave {},
    /// Report the stranger in my chat for abuse. Ends the chat; the report,
    /// with the evidence the reporter chose to send, goes to the operator, and
    /// reports from enough different people ban the stranger's network for a while.
    Report {
        /// What is wrong.
        reason: ReportReason,
        /// The last lines of the chat, if the reporter chose to send them; see
        /// [`check_report`] for the limits.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        evidence: Vec<EvidenceLine>,
    },
    /// End-to-end encryption: this browser's public key for the chat (P-256,
    /// raw, base64url), sent once right after pairing. The stranger's browser
    /// agrees the same AES-GCM key from it (ECDH). Not in question mode, where
    /// the asker reads along. Built by `public/e2e/seal.js`.
    Key {
        /// The public key; see [`check_key`].
        key: String,
    },
    /// End-to-end encryption: a chat message the server cannot read, for the
    /// stranger whose key this browser agreed with. Built by `public/e2e/seal.js`.
    Sealed {
        /// Base64url of the AES-GCM nonce followed by the ciphertext of the
        /// counter, the franking key and the text; see [`check_sealed`].
        data: String,
        /// The message's franking commitment: HMAC-SHA256 of the text under the
        /// franking key sealed inside, base64url. The server stamps it, so a
        /// report of this line can be verified without the server reading others.
        commitment: String,
    },
    /// The answer to the welcome's bot check: the number whose hash it gave.
    Solve {
        /// The number found (see [`Challenge`]).
        number: u64,
    },
}

/// A bot check in the style of ALTCHA, with no third party: the server picks a
/// secret number up to `max` and sends the SHA-256 of `salt` followed by that
/// number in decimal; the browser tries numbers from 0 until the hash matches
/// and answers with [`ClientMessage::Solve`]. About `max / 2` hashes for a
/// person's browser once; the same for every connection a bot farm opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// Random text hashed in front of the number (hex).
    pub salt: String,
    /// The SHA-256 digest to find, as 64 lowercase hex digits.
    pub hash: String,
    /// The largest number it can be.
    pub max: u64,
}

/// The most numbers a challenge may make a browser try. A server asking for
/// more is refused by the browser rather than left to run for minutes.
pub const MAX_CHALLENGE_NUMBER: u64 = 10_000_000;

impl Challenge {
    /// What the browser hashes for `number`.
    pub fn input(&self, number: u64) -> String {
        format!("{}{number}", self.salt)
    }

    /// The digest to find, as bytes; `None` if `hash` is not hex.
    pub fn digest(&self) -> Option<Vec<u8>> {
        from_hex(&self.hash)
    }
}

/// Bytes from hex digits (either case); `None` for anything else.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// What the server tells a stranger's browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// The first message on every connection: what this service offers. The
    /// browser joins after it.
    Welcome {
        /// Whether a relay (TURN) server is configured, so a video caller can
        /// hide their address from the stranger.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        relay: bool,
        /// A bot check to pass before joining: present when this network
        /// tripped a limit lately, or when the server always asks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        challenge: Option<Challenge>,
    },
    /// You are in the queue, waiting for a stranger.
    Waiting,
    /// You have been paired with a stranger; messages now go to them.
    Paired {
        /// The interests you both listed, if you were matched on them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        common_interests: Vec<String>,
        /// In a video chat, how to set up the call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<CallSetup>,
        /// The language you both chose to chat in, if you were matched on it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        common_language: Option<String>,
    },
    /// A chat message from the stranger.
    Message {
        /// Plain text as the stranger typed it. The browser shows it as text, never as HTML.
        text: String,
    },
    /// The stranger started or stopped typing.
    Typing {
        /// Whether they are typing now.
        typing: bool,
    },
    /// A video call setup step from the stranger.
    Signal {
        /// The step, as the stranger's browser sent it.
        signal: CallSignal,
    },
    /// Your network address is banned after reports from other strangers; the
    /// connection closes after this.
    Banned {
        /// How much longer the ban lasts, in seconds.
        seconds: u64,
    },
    /// End-to-end encryption: the stranger's public key for this chat.
    Key {
        /// As the stranger's browser sent it (see [`ClientMessage::Key`]).
        key: String,
    },
    /// End-to-end encryption: a sealed message from the stranger.
    Sealed {
        /// As the stranger's browser sent it (see [`ClientMessage::Sealed`]).
        data: String,
        /// The message's franking commitment, as sent.
        commitment: String,
        /// The server's stamp on the commitment (HMAC-SHA256 under a key only
        /// the server knows, of this chat, the sender and the commitment),
        /// base64url: what a report of this line shows the server.
        stamp: String,
    },
    /// The stranger left the chat: Stop, a skip, a closed tab or a lost network.
    StrangerLeft,
    /// Question mode, right after [`ServerMessage::Paired`]: the question this
    /// chat discusses, and whether you asked it (then you read along and cannot
    /// write).
    Question {
        /// The question, as asked.
        text: String,
        /// You asked it: you read the two strangers discussing it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reading: bool,
    },
    /// Question mode, to the asker: a message from one of the two discussers.
    Discussed {
        /// Which discusser: 1 or 2.
        discusser: u8,
        /// What they wrote, as plain text.
        text: String,
    },
    /// Question mode, to the asker: a discusser started or stopped typing.
    DiscusserTyping {
        /// Which discusser: 1 or 2.
        discusser: u8,
        /// Whether they are typing now.
        typing: bool,
    },
    /// Question mode, to the asker: a discusser left, which ends the discussion
    /// (the other is told [`ServerMessage::StrangerLeft`]).
    DiscusserLeft {
        /// Which discusser: 1 or 2.
        discusser: u8,
    },
    /// Question mode, to the discussers: the asker stopped reading along. The
    /// two of them chat on, unread.
    AskerLeft,
    /// How many strangers are connected; sent on arrival, then when it changes
    /// (at most about once a second).
    Online {
        /// Strangers connected to the service.
        count: u64,
    },
    /// Something you sent was refused. The connection stays usable.
    Error {
        /// The kind of refusal, for programs.
        code: ErrorCode,
        /// A sentence for people.
        message: String,
    },
}

/// Why the server refused something a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not a message this protocol knows (bad JSON, unknown type or field, binary).
    BadMessage,
    /// The chat message was longer than [`MAX_MESSAGE_CHARS`].
    MessageTooLong,
    /// The chat message was empty or only whitespace.
    EmptyMessage,
    /// A chat message was sent while not in a chat.
    NotInChat,
    /// The interests or browser id in a join were not in the accepted form.
    BadJoin,
    /// Too many messages too fast; keeping on gets the connection closed.
    SlowDown,
    /// A video call setup step was sent while not in a video chat.
    NotInCall,
    /// A video call setup step was malformed or too large.
    BadSignal,
    /// The server cannot reach the queue it shares with other servers right now.
    MatchingPaused,
    /// A join without the confirmation of age and of the rules.
    RulesNotAccepted,
    /// A report whose evidence has too many lines, or lines that are empty or too long.
    BadReport,
    /// A join before the welcome's bot check was solved.
    ChallengeRequired,
    /// A [`ClientMessage::Solve`] with the wrong number.
    ChallengeFailed,
    /// More call setup offers and answers than one call needs.
    TooManyOffers,
    /// A question that is empty or too long, or question mode asked for with video.
    BadQuestion,
    /// Something written by the asker of a question, who reads along.
    ReadOnly,
    /// An encryption key or sealed message that is malformed or too long.
    BadSealed,
    /// Encryption where it cannot be: in question mode, or a second key in one chat.
    NotSealable,
}

impl ServerMessage {
    /// A refusal with the standard sentence for its code.
    pub fn error(code: ErrorCode) -> Self {
        ServerMessage::Error {
            code,
            message: code.describe().to_owned(),
        }
    }
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::BadMessage,
        ErrorCode::MessageTooLong,
        ErrorCode::EmptyMessage,
        ErrorCode::NotInChat,
        ErrorCode::BadJoin,
        ErrorCode::SlowDown,
        ErrorCode::NotInCall,
        ErrorCode::BadSignal,
        ErrorCode::MatchingPaused,
        ErrorCode::RulesNotAccepted,
        ErrorCode::BadReport,
        ErrorCode::ChallengeRequired,
        ErrorCode::ChallengeFailed,
        ErrorCode::TooManyOffers,
        ErrorCode::BadQuestion,
        ErrorCode::ReadOnly,
        ErrorCode::BadSealed,
        ErrorCode::NotSealable,
    ];

    /// The code's name on the wire (`"slow_down"`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::MessageTooLong => "message_too_long",
            ErrorCode::EmptyMessage => "empty_message",
            ErrorCode::NotInChat => "not_in_chat",
            ErrorCode::BadJoin => "bad_join",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::NotInCall => "not_in_call",
            ErrorCode::BadSignal => "bad_signal",
            ErrorCode::MatchingPaused => "matching_paused",
            ErrorCode::RulesNotAccepted => "rules_not_accepted",
            ErrorCode::BadReport => "bad_report",
            ErrorCode::ChallengeRequired => "challenge_required",
            ErrorCode::ChallengeFailed => "challenge_failed",
            ErrorCode::TooManyOffers => "too_many_offers",
            ErrorCode::BadQuestion => "bad_question",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::BadSealed => "bad_sealed",
            ErrorCode::NotSealable => "not_sealable",
        }
    }

    /// The code named `name` on the wire.
    pub fn from_name(name: &str) -> Option<Self> {
        ErrorCode::ALL.into_iter().find(|code| code.name() == name)
    }

    /// The sentence shown to the person.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorCode::BadMessage => "The server could not understand that message.",
            ErrorCode::MessageTooLong => {
                "Your message is too long (2,000 characters at most) and was not sent."
            }
            ErrorCode::EmptyMessage => "Empty messages are not sent.",
            ErrorCode::NotInChat => {
                "You are not chatting with anyone, so the message was not sent."
            }
            ErrorCode::BadJoin => {
                "Interests must be at most 10 different words or phrases of up to 32 characters."
            }
            ErrorCode::SlowDown => {
                "You are sending messages too fast; that one was not sent. Keep on and you will be disconnected."
            }
            ErrorCode::NotInCall => "You are not in a video chat, so the call setup was not sent.",
            ErrorCode::BadSignal => "The call setup message was malformed or too large.",
            ErrorCode::MatchingPaused => {
                "Finding strangers is paused for a moment: this server lost touch with the others. \
                 Press New to try again."
            }
            ErrorCode::RulesNotAccepted => {
                "To chat, confirm on the start page that you are 18 or older and agree to the rules."
            }
            ErrorCode::BadReport => {
                "The report was not sent: its evidence had too many lines or lines that were too long."
            }
            ErrorCode::ChallengeRequired => {
                "Your browser must finish checking that you are not a bot before you can chat."
            }
            ErrorCode::ChallengeFailed => {
                "The check that you are not a bot failed. Reload the page to try again."
            }
            ErrorCode::TooManyOffers => {
                "This call has been set up too many times; start a new chat to call again."
            }
            ErrorCode::BadQuestion => {
                "A question must be 1 to 200 characters, and questions are discussed in text only."
            }
            ErrorCode::ReadOnly => {
                "You are reading along: only the two strangers discussing your question can write."
            }
            ErrorCode::BadSealed => "The encrypted message was malformed or too long.",
            ErrorCode::NotSealable => {
                "This chat cannot be end-to-end encrypted (question mode), or its key was already sent."
            }
        }
    }
}

/// Checks a chat message the way the server will, so the browser can refuse it
/// before sending and the server can refuse it if a client skipped the check.
pub fn check_message_text(text: &str) -> Result<(), ErrorCode> {
    if text.trim().is_empty() {
        Err(ErrorCode::EmptyMessage)
    } else if text.chars().count() > MAX_MESSAGE_CHARS {
        Err(ErrorCode::MessageTooLong)
    } else {
        Ok(())
    }
}

/// Whether `text` is base64url without padding, of 1 to `max` characters.
fn is_base64url(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks an encryption key offer: base64url, at most [`MAX_KEY_CHARS`].
pub fn check_key(key: &str) -> Result<(), ErrorCode> {
    if is_base64url(key, MAX_KEY_CHARS) {
        Ok(())
    } else {
        Err(ErrorCode::BadSealed)
    }
}

/// Checks a sealed message: base64url data of at most [`MAX_SEALED_CHARS`],
/// and a commitment of exactly [`COMMITMENT_CHARS`].
pub fn check_sealed(data: &str, commitment: &str) -> Result<(), ErrorCode> {
    if is_base64url(data, MAX_SEALED_CHARS)
        && commitment.len() == COMMITMENT_CHARS
        && is_base64url(commitment, COMMITMENT_CHARS)
    {
        Ok(())
    } else {
        Err(ErrorCode::BadSealed)
    }
}

/// Checks a question the way the server requires it: something besides
/// whitespace, at most [`MAX_QUESTION_CHARS`] characters.
pub fn check_question(question: &str) -> Result<(), ErrorCode> {
    if question.trim().is_empty() || question.chars().count() > MAX_QUESTION_CHARS {
        Err(ErrorCode::BadQuestion)
    } else {
        Ok(())
    }
}

/// Checks the question mode fields of a join: a question (see
/// [`check_question`]) or an offer to discuss, not both, and in text only.
pub fn check_question_mode(
    question: Option<&str>,
    discuss: bool,
    mode: Mode,
) -> Result<(), ErrorCode> {
    let text_only = || {
        if mode == Mode::Text {
            Ok(())
        } else {
            Err(ErrorCode::BadQuestion)
        }
    };
    match question {
        Some(_) if discuss => Err(ErrorCode::BadQuestion),
        Some(question) => check_question(question).and_then(|()| text_only()),
        None if discuss => text_only(),
        None => Ok(()),
    }
}

/// An interest as the matchmaker compares it: trimmed, lowercased, inner
/// whitespace folded to single spaces. `None` if nothing is left or it is longer
/// than [`MAX_INTEREST_CHARS`].
pub fn normalize_interest(raw: &str) -> Option<String> {
    let folded = lowercase(&raw.split_whitespace().collect::<Vec<_>>().join(" "));
    let length = folded.chars().count();
    (1..=MAX_INTEREST_CHARS).contains(&length).then_some(folded)
}

/// `text` in lower case, by Unicode's default case mapping. In the browser,
/// by the browser's own `toLowerCase`, which follows the same rules: Rust's
/// case tables would add 7 KB to every first visit (BENCHMARKS.md,
/// "Languages"). The server checks what arrives with Rust's, so a browser
/// that disagreed on some newly encoded letter is refused, never misread.
fn lowercase(text: &str) -> String {
    #[cfg(all(feature = "hydrate", target_arch = "wasm32"))]
    {
        String::from(js_sys::JsString::from(text).to_lower_case())
    }
    #[cfg(not(all(feature = "hydrate", target_arch = "wasm32")))]
    {
        text.to_lowercase()
    }
}

/// Turns whatever a person typed (comma-separated, any case, repeats) into the
/// interests sent to the server: normalized, without repeats, at most [`MAX_INTERESTS`].
pub fn interests_from_input<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut interests: Vec<String> = Vec::new();
    for interest in raw
        .into_iter()
        .flat_map(|r| r.split(','))
        .filter_map(normalize_interest)
        .filter(|i| !i.starts_with(LANGUAGE_PREFIX))
    {
        if interests.len() < MAX_INTERESTS && !interests.contains(&interest) {
            interests.push(interest);
        }
    }
    interests
}

/// The matchmakers (here and in Redis) prefer a shared language exactly as
/// they prefer a shared interest: the language joins the seeker's interests
/// under this prefix, which no interest a person types may carry.
pub const LANGUAGE_PREFIX: &str = "lang:";

/// Checks a language to chat in: an ISO 639 code, two or three lowercase letters.
pub fn check_language(language: &str) -> Result<(), ErrorCode> {
    let letters = language.len();
    if (2..=3).contains(&letters) && language.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(ErrorCode::BadJoin)
    }
}

/// Checks the fields of a join the way the server requires them: interests
/// already normalized and distinct, within the limits, none in the language
/// prefix; a short browser id.
pub fn check_join(interests: &[String], browser: Option<&str>) -> Result<(), ErrorCode> {
    let normalized = interests.iter().all(|i| {
        normalize_interest(i).as_deref() == Some(i.as_str()) && !i.starts_with(LANGUAGE_PREFIX)
    });
    let distinct = interests
        .iter()
        .enumerate()
        .all(|(n, i)| !interests[..n].contains(i));
    let browser_ok =
        browser.is_none_or(|b| !b.is_empty() && b.chars().count() <= MAX_BROWSER_ID_CHARS);
    if interests.len() <= MAX_INTERESTS && normalized && distinct && browser_ok {
        Ok(())
    } else {
        Err(ErrorCode::BadJoin)
    }
}

/// Checks a report's evidence the way the server requires it: at most
/// [`MAX_EVIDENCE_LINES`] lines, each a message the chat could have carried,
/// [`MAX_EVIDENCE_BYTES`] in all.
pub fn check_report(evidence: &[EvidenceLine]) -> Result<(), ErrorCode> {
    let proof_ok = |proof: &str| {
        proof.len() <= MAX_FRANKING_CHARS
            && proof
                .split('.')
                .all(|part| is_base64url(part, COMMITMENT_CHARS))
    };
    let lines_ok = evidence.len() <= MAX_EVIDENCE_LINES
        && evidence.iter().all(|line| {
            check_message_text(&line.text).is_ok() && line.franking.as_deref().is_none_or(proof_ok)
        });
    if lines_ok && evidence_bytes(evidence) <= MAX_EVIDENCE_BYTES {
        Ok(())
    } else {
        Err(ErrorCode::BadReport)
    }
}

/// The evidence a report can carry from a chat's `lines` (oldest first): the
/// last ones, as many as fit the limits of [`check_report`]. Blank lines are skipped.
pub fn evidence_from<'a>(
    lines: impl DoubleEndedIterator<Item = (Author, &'a str, Option<&'a str>)>,
) -> Vec<EvidenceLine> {
    let mut evidence = Vec::new();
    let mut bytes = 0;
    for (from, text, franking) in lines.rev() {
        if check_message_text(text).is_err() {
            continue;
        }
        let line = EvidenceLine {
            from,
            text: text.to_owned(),
            franking: franking.map(str::to_owned),
        };
        let size = evidence_bytes(std::slice::from_ref(&line));
        if evidence.len() == MAX_EVIDENCE_LINES || bytes + size > MAX_EVIDENCE_BYTES {
            break;
        }
        bytes += size;
        evidence.push(line);
    }
    evidence.reverse();
    evidence
}

/// The size of `evidence` as JSON, escapes included (and a comma between
/// lines). Counted rather than serialized, so the browser's bundle needs no
/// JSON writer for it; a test holds it to `serde_json`'s output.
fn evidence_bytes(evidence: &[EvidenceLine]) -> usize {
    evidence.iter().map(|line| json_size(line) + 1).sum()
}

/// The length of `line` written as JSON: `{"from":"you","text":"..."}`.
fn json_size(line: &EvidenceLine) -> usize {
    let from = match line.from {
        Author::You => "you",
        Author::Stranger => "stranger",
    };
    let escaped: usize = line
        .text
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum();
    // Franking proofs are base64url and dots: nothing to escape.
    let franking = line
        .franking
        .as_ref()
        .map_or(0, |proof| r#","franking":"""#.len() + proof.len());
    r#"{"from":"","text":""}"#.len() + from.len() + escaped + franking
}

/// Checks a call setup step against the limits: descriptions and candidates
/// non-empty and within [`MAX_SDP_BYTES`], [`MAX_CANDIDATE_BYTES`] and
/// [`MAX_SDP_MID_BYTES`].
pub fn check_signal(signal: &CallSignal) -> Result<(), ErrorCode> {
    let fits = |text: &str, max: usize| !text.is_empty() && text.len() <= max;
    let ok = match signal {
        CallSignal::Offer { sdp } | CallSignal::Answer { sdp } => fits(sdp, MAX_SDP_BYTES),
        CallSignal::Candidate {
            candidate, sdp_mid, ..
        } => {
            candidate.len() <= MAX_CANDIDATE_BYTES
                && sdp_mid
                    .as_deref()
                    .is_none_or(|m| m.len() <= MAX_SDP_MID_BYTES)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ErrorCode::BadSignal)
    }
}

impl ClientMessage {
    /// Asks for anyone at all, in text mode, having agreed to the rules.
    pub fn join_anyone() -> Self {
        Self::join_mode(Mode::Text)
    }

    /// Asks for anyone at all in `mode`, having agreed to the rules.
    pub fn join_mode(mode: Mode) -> Self {
        ClientMessage::Join {
            interests: Vec::new(),
            only_shared: false,
            browser: None,
            mode,
            agreed: true,
            hide_ip: false,
            question: None,
            discuss: false,
            language: None,
        }
    }

    /// Asks `question` in question mode, having agreed to the rules.
    pub fn ask(question: &str) -> Self {
        Self::question_mode(Some(question.to_owned()), false)
    }

    /// Offers to discuss questions, having agreed to the rules.
    pub fn discuss_questions() -> Self {
        Self::question_mode(None, true)
    }

    fn question_mode(question: Option<String>, discuss: bool) -> Self {
        ClientMessage::Join {
            interests: Vec::new(),
            only_shared: false,
            browser: None,
            mode: Mode::Text,
            agreed: true,
            hide_ip: false,
            question,
            discuss,
            language: None,
        }
    }

    /// Parses one text frame. Anything that is not exactly a known message is
    /// refused, and so is a frame nested deeper than [`MAX_JSON_DEPTH`].
    pub fn parse(frame: &str) -> Result<Self, ErrorCode> {
        if !is_object(frame) || !nests_within(frame, MAX_JSON_DEPTH) {
            return Err(ErrorCode::BadMessage);
        }
        serde_json::from_str(frame).map_err(|_| ErrorCode::BadMessage)
    }

    /// The JSON text frame for this message.
    pub fn to_frame(&self) -> String {
        // Serializing these plain enums cannot fail: no maps with non-string keys, no floats.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Whether the JSON objects and arrays in `frame` nest at most `limit` deep.
/// A single pass that skips over strings; it does not check the JSON otherwise.
fn nests_within(frame: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in frame.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// A JSON object already parsed, as a decoder reads it: by the browser's own
/// JSON parser in the page, by `serde_json` in tests.
///
/// The page decodes the server's messages through this rather than through
/// serde's derived decoders: a message tagged by a field of its own (`"type"`)
/// makes serde buffer every frame in a generic tree first, and that machinery
/// with the decoders was a sixth of the page's WebAssembly. Tests hold
/// [`ServerMessage::from_fields`] to serde's reading of every kind of message.
pub trait Fields: Sized {
    /// The field `name`, if it is text.
    fn text(&self, name: &str) -> Option<String>;
    /// The field `name`, if it is `true` or `false`.
    fn flag(&self, name: &str) -> Option<bool>;
    /// The field `name`, if it is a whole number from 0 up.
    fn number(&self, name: &str) -> Option<u64>;
    /// The field `name`, if it is an object.
    fn object(&self, name: &str) -> Option<Self>;
    /// The field `name`, if it is a list of objects.
    fn objects(&self, name: &str) -> Option<Vec<Self>>;
    /// The field `name`, if it is a list of texts.
    fn texts(&self, name: &str) -> Option<Vec<String>>;
}

/// A frame parsed by `serde_json`: how tests and the fuzzer hold
/// [`ServerMessage::from_fields`] to serde's own reading.
impl Fields for serde_json::Value {
    fn text(&self, name: &str) -> Option<String> {
        Some(self.get(name)?.as_str()?.to_owned())
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.get(name)?.as_bool()
    }

    fn number(&self, name: &str) -> Option<u64> {
        self.get(name)?.as_u64()
    }

    fn object(&self, name: &str) -> Option<Self> {
        self.get(name).filter(|v| v.is_object()).cloned()
    }

    fn objects(&self, name: &str) -> Option<Vec<Self>> {
        let list = self.get(name)?.as_array()?;
        list.iter().all(|v| v.is_object()).then(|| list.clone())
    }

    fn texts(&self, name: &str) -> Option<Vec<String>> {
        let list = self.get(name)?.as_array()?;
        list.iter().map(|v| v.as_str().map(str::to_owned)).collect()
    }
}

impl ServerMessage {
    /// The message an already parsed frame holds, if it is one: the same
    /// reading as [`ServerMessage::parse`], without serde's generic buffering.
    pub fn from_fields(frame: &impl Fields) -> Option<Self> {
        Some(match frame.text("type")?.as_str() {
            "welcome" => ServerMessage::Welcome {
                relay: frame.flag("relay").unwrap_or_default(),
                challenge: frame
                    .object("challenge")
                    .and_then(|c| Challenge::from_fields(&c)),
            },
            "waiting" => ServerMessage::Waiting,
            "paired" => ServerMessage::Paired {
                common_interests: frame.texts("common_interests").unwrap_or_default(),
                call: frame
                    .object("call")
                    .and_then(|c| CallSetup::from_fields(&c)),
                common_language: frame.text("common_language"),
            },
            "message" => ServerMessage::Message {
                text: frame.text("text")?,
            },
            "typing" => ServerMessage::Typing {
                typing: frame.flag("typing")?,
            },
            "signal" => ServerMessage::Signal {
                signal: CallSignal::from_fields(&frame.object("signal")?)?,
            },
            "banned" => ServerMessage::Banned {
                seconds: frame.number("seconds")?,
            },
            "stranger_left" => ServerMessage::StrangerLeft,
            "online" => ServerMessage::Online {
                count: frame.number("count")?,
            },
            "error" => ServerMessage::Error {
                code: ErrorCode::from_name(&frame.text("code")?)?,
                message: frame.text("message")?,
            },
            "question" => ServerMessage::Question {
                text: frame.text("text")?,
                reading: frame.flag("reading").unwrap_or_default(),
            },
            "discussed" => ServerMessage::Discussed {
                discusser: discusser(frame)?,
                text: frame.text("text")?,
            },
            "discusser_typing" => ServerMessage::DiscusserTyping {
                discusser: discusser(frame)?,
                typing: frame.flag("typing")?,
            },
            "discusser_left" => ServerMessage::DiscusserLeft {
                discusser: discusser(frame)?,
            },
            "asker_left" => ServerMessage::AskerLeft,
            "key" => ServerMessage::Key {
                key: frame.text("key")?,
            },
            "sealed" => ServerMessage::Sealed {
                data: frame.text("data")?,
                commitment: frame.text("commitment")?,
                stamp: frame.text("stamp")?,
            },
            _ => return None,
        })
    }
}

/// Which discusser a question mode frame names.
fn discusser(frame: &impl Fields) -> Option<u8> {
    u8::try_from(frame.number("discusser")?).ok()
}

impl Challenge {
    /// The challenge an already parsed object holds (see [`Fields`]).
    fn from_fields(challenge: &impl Fields) -> Option<Self> {
        Some(Challenge {
            salt: challenge.text("salt")?,
            hash: challenge.text("hash")?,
            max: challenge.number("max")?,
        })
    }
}

impl CallSetup {
    /// The call setup an already parsed object holds (see [`Fields`]).
    fn from_fields(setup: &impl Fields) -> Option<Self> {
        let role = match setup.text("role")?.as_str() {
            "offer" => CallRole::Offer,
            "answer" => CallRole::Answer,
            _ => return None,
        };
        let ice_servers = match setup.objects("ice_servers") {
            Some(servers) => servers
                .iter()
                .map(|server| {
                    Some(IceServer {
                        urls: server.texts("urls")?,
                        username: server.text("username"),
                        credential: server.text("credential"),
                    })
                })
                .collect::<Option<_>>()?,
            None => Vec::new(),
        };
        Some(CallSetup { role, ice_servers })
    }
}

impl CallSignal {
    /// The setup step an already parsed object holds (see [`Fields`]).
    pub fn from_fields(signal: &impl Fields) -> Option<Self> {
        Some(match signal.text("kind")?.as_str() {
            "offer" => CallSignal::Offer {
                sdp: signal.text("sdp")?,
            },
            "answer" => CallSignal::Answer {
                sdp: signal.text("sdp")?,
            },
            "candidate" => CallSignal::Candidate {
                candidate: signal.text("candidate")?,
                sdp_mid: signal.text("sdp_mid"),
                sdp_m_line_index: signal
                    .number("sdp_m_line_index")
                    .and_then(|n| u16::try_from(n).ok()),
            },
            _ => return None,
        })
    }
}

impl ServerMessage {
    /// Parses one text frame from the server.
    pub fn parse(frame: &str) -> Result<Self, ErrorCode> {
        if !is_object(frame) {
            return Err(ErrorCode::BadMessage);
        }
        serde_json::from_str(frame).map_err(|_| ErrorCode::BadMessage)
    }

    /// The JSON text frame for this message.
    pub fn to_frame(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Whether `frame` is a JSON object, as every message is. (serde also reads a
/// tagged enum from an array, `["message","hi"]`, which is not the protocol:
/// the fuzzer found the page's reader and serde disagreeing on one.)
fn is_object(frame: &str) -> bool {
    frame
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_in_an_array_is_refused_as_not_the_protocol() {
        for frame in [r#"["message","hi"]"#, r#" ["leave"]"#, "[]", r#""join""#] {
            assert_eq!(
                ClientMessage::parse(frame),
                Err(ErrorCode::BadMessage),
                "{frame}"
            );
            assert_eq!(
                ServerMessage::parse(frame),
                Err(ErrorCode::BadMessage),
                "{frame}"
            );
        }
        assert!(ClientMessage::parse("\r\n {\"type\":\"leave\"}").is_ok());
    }

    /// The fuzzer's seed frames (`fuzz/seeds/client_frame`, one per kind of
    /// client message) stay frames the server reads, as the protocol changes.
    #[test]
    fn the_fuzzers_seed_frames_are_client_messages() {
        let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/client_frame");
        let mut kinds = std::collections::HashSet::new();
        for seed in std::fs::read_dir(seeds).unwrap() {
            let path = seed.unwrap().path();
            let frame = std::fs::read_to_string(&path).unwrap();
            let message = ClientMessage::parse(&frame)
                .unwrap_or_else(|error| panic!("{}: {error:?}", path.display()));
            kinds.insert(std::mem::discriminant(&message));
        }
        assert_eq!(kinds.len(), 9, "a seed for every kind of client message");
    }

    #[test]
    fn client_messages_are_tagged_json() {
        assert_eq!(
            ClientMessage::join_anyone().to_frame(),
            r#"{"type":"join","agreed":true}"#
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"join","interests":["music"],"only_shared":true}"#),
            Ok(ClientMessage::Join {
                interests: vec!["music".into()],
                only_shared: true,
                browser: None,
                mode: Mode::Text,
                agreed: false,
                hide_ip: false,
                question: None,
                discuss: false,
                language: None,
            })
        );
        assert_eq!(
            ClientMessage::ask("cats or dogs?").to_frame(),
            r#"{"type":"join","agreed":true,"question":"cats or dogs?"}"#
        );
        assert_eq!(
            ClientMessage::discuss_questions().to_frame(),
            r#"{"type":"join","agreed":true,"discuss":true}"#
        );
        assert_eq!(
            ClientMessage::join_mode(Mode::Video).to_frame(),
            r#"{"type":"join","mode":"video","agreed":true}"#
        );
        assert_eq!(
            ClientMessage::Message { text: "hi".into() }.to_frame(),
            r#"{"type":"message","text":"hi"}"#
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"leave"}"#),
            Ok(ClientMessage::Leave {})
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"report","reason":"spam"}"#),
            Ok(ClientMessage::Report {
                reason: ReportReason::Spam,
                evidence: Vec::new(),
            })
        );
        let report = ClientMessage::Report {
            reason: ReportReason::Sexual,
            evidence: vec![EvidenceLine {
                from: Author::Stranger,
                text: "hi".into(),
                franking: None,
            }],
        };
        assert_eq!(
            report.to_frame(),
            r#"{"type":"report","reason":"sexual","evidence":[{"from":"stranger","text":"hi"}]}"#
        );
        assert_eq!(ClientMessage::parse(&report.to_frame()), Ok(report));
        assert_eq!(
            ClientMessage::parse(r#"{"type":"solve","number":41217}"#),
            Ok(ClientMessage::Solve { number: 41217 })
        );
        for bad in [
            r#"{"type":"solve"}"#,
            r#"{"type":"solve","number":-1}"#,
            r#"{"type":"solve","number":"7"}"#,
            r#"{"type":"solve","number":1.5}"#,
        ] {
            assert_eq!(
                ClientMessage::parse(bad),
                Err(ErrorCode::BadMessage),
                "{bad}"
            );
        }
    }

    #[test]
    fn server_messages_round_trip() {
        for message in [
            ServerMessage::Waiting,
            ServerMessage::Welcome {
                relay: true,
                challenge: None,
            },
            ServerMessage::Welcome {
                relay: false,
                challenge: Some(Challenge {
                    salt: "5eed".into(),
                    hash: "ab".repeat(32),
                    max: 50_000,
                }),
            },
            ServerMessage::error(ErrorCode::ChallengeRequired),
            ServerMessage::Paired {
                common_interests: vec!["chess".into()],
                call: None,
                common_language: None,
            },
            ServerMessage::Paired {
                common_interests: Vec::new(),
                call: Some(CallSetup {
                    role: CallRole::Offer,
                    ice_servers: vec![IceServer {
                        urls: vec!["turn:turn.example.org:3478".into()],
                        username: Some("u".into()),
                        credential: Some("p".into()),
                    }],
                }),
                common_language: None,
            },
            ServerMessage::Signal {
                signal: CallSignal::Candidate {
                    candidate: "candidate:1 1 udp 2122260223 10.0.0.2 50000 typ host".into(),
                    sdp_mid: Some("0".into()),
                    sdp_m_line_index: Some(0),
                },
            },
            ServerMessage::Typing { typing: true },
            ServerMessage::Online { count: 3 },
            ServerMessage::Message {
                text: "<b>hi</b>".into(),
            },
            ServerMessage::StrangerLeft,
            ServerMessage::Banned { seconds: 3600 },
            ServerMessage::error(ErrorCode::NotInChat),
        ] {
            assert_eq!(ServerMessage::parse(&message.to_frame()), Ok(message));
        }
    }

    #[test]
    fn unknown_types_fields_and_garbage_are_refused() {
        for frame in [
            "",
            "not json",
            "[]",
            r#"{"type":"dance"}"#,
            r#"{"type":"join","extra":1}"#,
            r#"{"type":"message"}"#,
            r#"{"type":"message","text":5}"#,
            r#"{"text":"no type"}"#,
            r#"{"type":"join","mode":"radio"}"#,
            r#"{"type":"signal","signal":{"kind":"hello"}}"#,
            r#"{"type":"signal","signal":{"kind":"offer"}}"#,
            r#"{"type":"signal","signal":{"kind":"offer","sdp":"v=0","x":1}}"#,
            r#"{"type":"signal"}"#,
            r#"{"type":"report"}"#,
            r#"{"type":"report","reason":"boredom"}"#,
            r#"{"type":"report","reason":"spam","evidence":[{"from":"me","text":"x"}]}"#,
            r#"{"type":"report","reason":"spam","evidence":[{"from":"you"}]}"#,
        ] {
            assert_eq!(
                ClientMessage::parse(frame),
                Err(ErrorCode::BadMessage),
                "{frame}"
            );
        }
    }

    #[test]
    fn deeply_nested_frames_are_refused_before_parsing() {
        let deep = format!(
            r#"{{"type":"message","text":"hi","x":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert_eq!(ClientMessage::parse(&deep), Err(ErrorCode::BadMessage));
        assert!(nests_within(r#"{"a":[{"b":[]}]}"#, 4));
        assert!(!nests_within(r#"{"a":[{"b":[{}]}]}"#, 4));
        assert!(
            nests_within(r#"{"text":"[[[[[[{{{{{ \" [[[["}"#, 1),
            "brackets inside strings do not count"
        );
        let offer = r#"{"type":"signal","signal":{"kind":"offer","sdp":"v=0"}}"#;
        assert!(ClientMessage::parse(offer).is_ok());
    }

    #[test]
    fn interests_are_normalized_deduplicated_and_capped() {
        assert_eq!(
            normalize_interest("  Indie   Rock "),
            Some("indie rock".into())
        );
        assert_eq!(normalize_interest("   "), None);
        assert_eq!(
            normalize_interest(&"x".repeat(MAX_INTEREST_CHARS + 1)),
            None
        );
        assert_eq!(
            interests_from_input(["Music, chess", "MUSIC", " ,", "Go"]),
            ["music", "chess", "go"]
        );
        let many: Vec<String> = (0..15).map(|n| format!("topic {n}")).collect();
        assert_eq!(
            interests_from_input(many.iter().map(String::as_str)).len(),
            MAX_INTERESTS
        );
    }

    #[test]
    fn joins_with_malformed_interests_are_refused() {
        let ok = vec!["music".to_string(), "chess".to_string()];
        assert_eq!(check_join(&ok, Some("browser-1")), Ok(()));
        for bad in [
            vec!["Music".to_string()],
            vec!["music".to_string(), "music".to_string()],
            vec![" music".to_string()],
            vec![String::new()],
            vec!["x".repeat(MAX_INTEREST_CHARS + 1)],
            (0..=MAX_INTERESTS).map(|n| n.to_string()).collect(),
        ] {
            assert_eq!(check_join(&bad, None), Err(ErrorCode::BadJoin), "{bad:?}");
        }
        assert_eq!(check_join(&ok, Some("")), Err(ErrorCode::BadJoin));
        let long_id = "b".repeat(MAX_BROWSER_ID_CHARS + 1);
        assert_eq!(check_join(&ok, Some(&long_id)), Err(ErrorCode::BadJoin));
    }

    #[test]
    fn signals_are_tagged_by_kind_and_bounded() {
        let offer =
            ClientMessage::parse(r#"{"type":"signal","signal":{"kind":"offer","sdp":"v=0"}}"#);
        assert_eq!(
            offer,
            Ok(ClientMessage::Signal {
                signal: CallSignal::Offer { sdp: "v=0".into() }
            })
        );
        let fits = CallSignal::Answer {
            sdp: "a".repeat(MAX_SDP_BYTES),
        };
        assert_eq!(check_signal(&fits), Ok(()));
        for bad in [
            CallSignal::Offer { sdp: String::new() },
            CallSignal::Offer {
                sdp: "a".repeat(MAX_SDP_BYTES + 1),
            },
            CallSignal::Candidate {
                candidate: "c".repeat(MAX_CANDIDATE_BYTES + 1),
                sdp_mid: None,
                sdp_m_line_index: None,
            },
            CallSignal::Candidate {
                candidate: "candidate:1".into(),
                sdp_mid: Some("m".repeat(MAX_SDP_MID_BYTES + 1)),
                sdp_m_line_index: None,
            },
        ] {
            assert_eq!(check_signal(&bad), Err(ErrorCode::BadSignal));
        }
    }

    #[test]
    fn only_turn_servers_relay() {
        let server = |url: &str| IceServer {
            urls: vec![url.into()],
            username: None,
            credential: None,
        };
        assert!(!server("stun:stun.example.org:3478").relays());
        assert!(server("turn:turn.example.org:3478").relays());
        assert!(server("turns:turn.example.org:5349").relays());
        assert_eq!(Mode::from_query(Some("video")), Mode::Video);
        assert_eq!(Mode::from_query(Some("VIDEO")), Mode::Text);
        assert_eq!(Mode::from_query(None), Mode::Text);
    }

    #[test]
    fn evidence_is_measured_as_its_json_is_long() {
        for text in [
            "hi",
            "",
            "quote \" and backslash \\ and slash /",
            "new\nline\ttab\rreturn\u{8}\u{c}",
            "control \u{1} \u{1f} \u{7f}",
            "héllo wörld 👋 日本語",
            "<script>&amp;</script>",
        ] {
            for (from, franking) in [
                (Author::You, None),
                (
                    Author::Stranger,
                    Some(format!("{0}.{0}.{0}", "A".repeat(43))),
                ),
            ] {
                let line = EvidenceLine {
                    from,
                    text: text.into(),
                    franking,
                };
                assert_eq!(
                    json_size(&line),
                    serde_json::to_string(&line).unwrap().len(),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn report_evidence_is_the_last_lines_that_fit() {
        let said = |n: usize| format!("line {n}");
        let texts: Vec<String> = (0..30).map(said).collect();
        let lines = texts.iter().enumerate().map(|(n, text)| {
            let from = if n % 2 == 0 {
                Author::You
            } else {
                Author::Stranger
            };
            (from, text.as_str(), None)
        });
        let evidence = evidence_from(lines);
        assert_eq!(evidence.len(), MAX_EVIDENCE_LINES);
        assert_eq!(evidence[0].text, "line 10", "the oldest lines are left out");
        assert_eq!(evidence[19].text, "line 29");
        assert_eq!(evidence[19].from, Author::Stranger);
        assert_eq!(check_report(&evidence), Ok(()));

        // Twenty long lines of characters JSON escapes do not fit: fewer are taken.
        let long = "\"\u{1}".repeat(MAX_MESSAGE_CHARS / 2);
        let heavy = evidence_from((0..20).map(|_| (Author::Stranger, long.as_str(), None)));
        assert!(!heavy.is_empty() && heavy.len() < 20, "{}", heavy.len());
        assert_eq!(check_report(&heavy), Ok(()));
        let frame = ClientMessage::Report {
            reason: ReportReason::Other,
            evidence: heavy,
        }
        .to_frame();
        assert!(frame.len() < 48 * 1024, "{}", frame.len());

        let blank =
            evidence_from([(Author::You, "  ", None), (Author::Stranger, "hi", None)].into_iter());
        assert_eq!(blank.len(), 1);
    }

    #[test]
    fn reports_with_too_much_or_malformed_evidence_are_refused() {
        let line = |text: &str| EvidenceLine {
            from: Author::Stranger,
            text: text.into(),
            franking: None,
        };
        let too_many: Vec<EvidenceLine> = (0..=MAX_EVIDENCE_LINES).map(|_| line("x")).collect();
        assert_eq!(check_report(&too_many), Err(ErrorCode::BadReport));
        assert_eq!(check_report(&[line("")]), Err(ErrorCode::BadReport));
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(check_report(&[line(&long)]), Err(ErrorCode::BadReport));
        let heavy: Vec<EvidenceLine> = (0..MAX_EVIDENCE_LINES)
            .map(|_| line(&"\u{1}".repeat(MAX_MESSAGE_CHARS)))
            .collect();
        assert_eq!(check_report(&heavy), Err(ErrorCode::BadReport));
        assert_eq!(check_report(&[]), Ok(()));
        let proven = |franking: &str| EvidenceLine {
            franking: Some(franking.into()),
            ..line("hi")
        };
        let part = "A".repeat(COMMITMENT_CHARS);
        assert_eq!(
            check_report(&[proven(&format!("{part}.{part}.{part}"))]),
            Ok(())
        );
        for bad in [
            String::new(),
            format!("{part}.{part}.{part}.{part}"),
            format!("{part}.{part}.{part}x"),
            format!("{part}.{part}.<b>"),
            format!("{part}..{part}"),
        ] {
            assert_eq!(
                check_report(&[proven(&bad)]),
                Err(ErrorCode::BadReport),
                "{bad}"
            );
        }
        for reason in ReportReason::ALL {
            assert!(!reason.label().is_empty());
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
        }
    }

    #[test]
    fn message_text_limits() {
        assert_eq!(check_message_text("hello"), Ok(()));
        assert_eq!(check_message_text("  \n\t "), Err(ErrorCode::EmptyMessage));
        assert_eq!(check_message_text(&"é".repeat(MAX_MESSAGE_CHARS)), Ok(()));
        assert_eq!(
            check_message_text(&"a".repeat(MAX_MESSAGE_CHARS + 1)),
            Err(ErrorCode::MessageTooLong)
        );
    }

    #[test]
    fn every_error_code_has_its_wire_name() {
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.name())
            );
            assert_eq!(ErrorCode::from_name(code.name()), Some(code));
        }
        // Every code is in ALL: the match stops compiling when a code is added,
        // and ALL must then hold each of the numbers it gives.
        let number = |code: ErrorCode| match code {
            ErrorCode::BadMessage => 0,
            ErrorCode::MessageTooLong => 1,
            ErrorCode::EmptyMessage => 2,
            ErrorCode::NotInChat => 3,
            ErrorCode::BadJoin => 4,
            ErrorCode::SlowDown => 5,
            ErrorCode::NotInCall => 6,
            ErrorCode::BadSignal => 7,
            ErrorCode::MatchingPaused => 8,
            ErrorCode::RulesNotAccepted => 9,
            ErrorCode::BadReport => 10,
            ErrorCode::ChallengeRequired => 11,
            ErrorCode::ChallengeFailed => 12,
            ErrorCode::TooManyOffers => 13,
            ErrorCode::BadQuestion => 14,
            ErrorCode::ReadOnly => 15,
            ErrorCode::BadSealed => 16,
            ErrorCode::NotSealable => 17,
        };
        let numbers: Vec<usize> = ErrorCode::ALL.into_iter().map(number).collect();
        assert_eq!(numbers, (0..ErrorCode::ALL.len()).collect::<Vec<_>>());
        assert_eq!(ErrorCode::from_name("no_such_code"), None);
    }

    /// Which kind of message `message` is, by a match that stops compiling
    /// when a kind is added, so the examples below must grow with it.
    fn kind_number(message: &ServerMessage) -> usize {
        match message {
            ServerMessage::Welcome { .. } => 0,
            ServerMessage::Waiting => 1,
            ServerMessage::Paired { .. } => 2,
            ServerMessage::Message { .. } => 3,
            ServerMessage::Typing { .. } => 4,
            ServerMessage::Signal { .. } => 5,
            ServerMessage::Banned { .. } => 6,
            ServerMessage::StrangerLeft => 7,
            ServerMessage::Online { .. } => 8,
            ServerMessage::Question { .. } => 9,
            ServerMessage::Discussed { .. } => 10,
            ServerMessage::DiscusserTyping { .. } => 11,
            ServerMessage::DiscusserLeft { .. } => 12,
            ServerMessage::AskerLeft => 13,
            ServerMessage::Key { .. } => 14,
            ServerMessage::Sealed { .. } => 15,
            // Last: the test below counts the kinds by it.
            ServerMessage::Error { .. } => 16,
        }
    }

    /// One or more of every kind of message the server sends, fields set and unset.
    fn every_server_message() -> Vec<ServerMessage> {
        let challenge = Challenge {
            salt: "0a1b".into(),
            hash: "ff".repeat(32),
            max: 5000,
        };
        let call = CallSetup {
            role: CallRole::Answer,
            ice_servers: vec![
                IceServer {
                    urls: vec!["stun:stun.example:3478".into()],
                    username: None,
                    credential: None,
                },
                IceServer {
                    urls: vec!["turn:turn.example:3478?transport=udp".into()],
                    username: Some("1700000000:strangers".into()),
                    credential: Some("c2VjcmV0".into()),
                },
            ],
        };
        let mut messages = vec![
            ServerMessage::Welcome {
                relay: false,
                challenge: None,
            },
            ServerMessage::Welcome {
                relay: true,
                challenge: Some(challenge),
            },
            ServerMessage::Waiting,
            ServerMessage::Paired {
                common_interests: vec![],
                call: None,
                common_language: None,
            },
            ServerMessage::Paired {
                common_interests: vec!["music".into(), "chess".into()],
                call: Some(call),
                common_language: None,
            },
            ServerMessage::Message {
                text: "hi \"there\" \\ 👋\n".into(),
            },
            ServerMessage::Typing { typing: true },
            ServerMessage::Typing { typing: false },
            ServerMessage::Banned { seconds: 3600 },
            ServerMessage::StrangerLeft,
            ServerMessage::Online {
                count: u64::from(u32::MAX) + 7,
            },
            ServerMessage::Question {
                text: "Cats or \"dogs\"?".into(),
                reading: true,
            },
            ServerMessage::Question {
                text: "Tea?".into(),
                reading: false,
            },
            ServerMessage::Discussed {
                discusser: 2,
                text: "dogs\nobviously".into(),
            },
            ServerMessage::DiscusserTyping {
                discusser: 1,
                typing: true,
            },
            ServerMessage::DiscusserLeft { discusser: 1 },
            ServerMessage::AskerLeft,
            ServerMessage::Key {
                key: "BOmK-_0".into(),
            },
            ServerMessage::Sealed {
                data: "c2VhbGVk".into(),
                commitment: "A".repeat(COMMITMENT_CHARS),
                stamp: "B".repeat(COMMITMENT_CHARS),
            },
        ];
        messages.extend(
            [
                CallSignal::Offer {
                    sdp: "v=0\r\n".into(),
                },
                CallSignal::Answer {
                    sdp: "v=0\r\na=x\r\n".into(),
                },
                CallSignal::Candidate {
                    candidate: "candidate:1 1 udp 1 10.0.0.1 5000 typ host".into(),
                    sdp_mid: Some("0".into()),
                    sdp_m_line_index: Some(0),
                },
                CallSignal::Candidate {
                    candidate: "candidate:2".into(),
                    sdp_mid: None,
                    sdp_m_line_index: None,
                },
            ]
            .map(|signal| ServerMessage::Signal { signal }),
        );
        messages.extend(
            [
                ErrorCode::BadMessage,
                ErrorCode::RulesNotAccepted,
                ErrorCode::TooManyOffers,
                ErrorCode::ReadOnly,
            ]
            .map(ServerMessage::error),
        );
        messages
    }

    #[test]
    fn the_pages_reading_of_every_server_message_is_serdes() {
        let messages = every_server_message();
        let mut kinds: Vec<usize> = messages.iter().map(kind_number).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(
            kinds.len(),
            kind_number(&ServerMessage::Error {
                code: ErrorCode::BadMessage,
                message: String::new(),
            }) + 1,
            "an example of every kind"
        );
        for message in messages {
            let frame: serde_json::Value = serde_json::from_str(&message.to_frame()).unwrap();
            assert_eq!(
                ServerMessage::from_fields(&frame),
                Some(message.clone()),
                "{frame}"
            );
            assert_eq!(ServerMessage::parse(&message.to_frame()), Ok(message));
        }
    }

    #[test]
    fn the_page_reads_nothing_from_what_is_not_a_server_message() {
        for frame in [
            r#"{"type":"shout","text":"hi"}"#,
            r#"{"text":"hi"}"#,
            r#"{"type":"message"}"#,
            r#"{"type":"message","text":7}"#,
            r#"{"type":"signal","signal":{"kind":"wave"}}"#,
            r#"{"type":"signal","signal":"offer"}"#,
            r#"{"type":"error","code":"no_such_code","message":"?"}"#,
        ] {
            let value: serde_json::Value = serde_json::from_str(frame).unwrap();
            assert_eq!(ServerMessage::from_fields(&value), None, "{frame}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_answer_to_the_bot_check_round_trips(number in any::<u64>()) {
                let solve = ClientMessage::Solve { number };
                prop_assert_eq!(ClientMessage::parse(&solve.to_frame()), Ok(solve));
            }

            #[test]
            fn any_challenge_in_a_welcome_round_trips_and_its_digest_reads_back(
                salt in "[0-9a-f]{0,32}",
                digest in proptest::collection::vec(any::<u8>(), 32),
                max in 0..=MAX_CHALLENGE_NUMBER,
                relay in any::<bool>(),
            ) {
                let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                let challenge = Challenge { salt, hash, max };
                prop_assert_eq!(challenge.digest(), Some(digest));
                let welcome = ServerMessage::Welcome { relay, challenge: Some(challenge) };
                prop_assert_eq!(ServerMessage::parse(&welcome.to_frame()), Ok(welcome));
            }

            #[test]
            fn anything_but_hex_is_no_digest(text in "[^0-9a-fA-F]{1,8}") {
                prop_assert_eq!(from_hex(&text), None);
            }
        }
    }
}
