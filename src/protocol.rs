//! The messages that cross the WebSocket, shared by the server and the browser.
//!
//! Every frame is one JSON object tagged by its `"type"` field, for example
//! `{"type":"message","text":"hi"}`. Both sides compile this one module, so a change
//! here changes the server and the client together and they cannot drift apart.

use serde::{Deserialize, Serialize};

/// The longest chat message the server relays, counted in characters (not bytes),
/// because that is what a person typing sees.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// The most interests a stranger may list.
pub const MAX_INTERESTS: usize = 10;

/// The longest interest, in characters.
pub const MAX_INTEREST_CHARS: usize = 32;

/// The longest per-browser id the server accepts.
pub const MAX_BROWSER_ID_CHARS: usize = 64;

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
    /// End the current chat, or stop waiting for one.
    Leave {},
}

/// What the server tells a stranger's browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// You are in the queue, waiting for a stranger.
    Waiting,
    /// You have been paired with a stranger; messages now go to them.
    Paired {
        /// The interests you both listed, if you were matched on them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        common_interests: Vec<String>,
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
    /// The stranger left the chat: Stop, a skip, a closed tab or a lost network.
    StrangerLeft,
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

/// An interest as the matchmaker compares it: trimmed, lowercased, inner
/// whitespace folded to single spaces. `None` if nothing is left or it is longer
/// than [`MAX_INTEREST_CHARS`].
pub fn normalize_interest(raw: &str) -> Option<String> {
    let folded = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let length = folded.chars().count();
    (1..=MAX_INTEREST_CHARS).contains(&length).then_some(folded)
}

/// Turns whatever a person typed (comma-separated, any case, repeats) into the
/// interests sent to the server: normalized, without repeats, at most [`MAX_INTERESTS`].
pub fn interests_from_input<'a>(raw: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut interests: Vec<String> = Vec::new();
    for interest in raw
        .into_iter()
        .flat_map(|r| r.split(','))
        .filter_map(normalize_interest)
    {
        if interests.len() < MAX_INTERESTS && !interests.contains(&interest) {
            interests.push(interest);
        }
    }
    interests
}

/// Checks the fields of a join the way the server requires them: interests
/// already normalized and distinct, within the limits; a short browser id.
pub fn check_join(interests: &[String], browser: Option<&str>) -> Result<(), ErrorCode> {
    let normalized = interests
        .iter()
        .all(|i| normalize_interest(i).as_deref() == Some(i.as_str()));
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

impl ClientMessage {
    /// Asks for anyone at all.
    pub fn join_anyone() -> Self {
        ClientMessage::Join {
            interests: Vec::new(),
            only_shared: false,
            browser: None,
        }
    }

    /// Parses one text frame. Anything that is not exactly a known message is refused.
    pub fn parse(frame: &str) -> Result<Self, ErrorCode> {
        serde_json::from_str(frame).map_err(|_| ErrorCode::BadMessage)
    }

    /// The JSON text frame for this message.
    pub fn to_frame(&self) -> String {
        // Serializing these plain enums cannot fail: no maps with non-string keys, no floats.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ServerMessage {
    /// Parses one text frame from the server.
    pub fn parse(frame: &str) -> Result<Self, ErrorCode> {
        serde_json::from_str(frame).map_err(|_| ErrorCode::BadMessage)
    }

    /// The JSON text frame for this message.
    pub fn to_frame(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_are_tagged_json() {
        assert_eq!(
            ClientMessage::join_anyone().to_frame(),
            r#"{"type":"join"}"#
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"join","interests":["music"],"only_shared":true}"#),
            Ok(ClientMessage::Join {
                interests: vec!["music".into()],
                only_shared: true,
                browser: None
            })
        );
        assert_eq!(
            ClientMessage::Message { text: "hi".into() }.to_frame(),
            r#"{"type":"message","text":"hi"}"#
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"leave"}"#),
            Ok(ClientMessage::Leave {})
        );
    }

    #[test]
    fn server_messages_round_trip() {
        for message in [
            ServerMessage::Waiting,
            ServerMessage::Paired {
                common_interests: vec!["chess".into()],
            },
            ServerMessage::Typing { typing: true },
            ServerMessage::Online { count: 3 },
            ServerMessage::Message {
                text: "<b>hi</b>".into(),
            },
            ServerMessage::StrangerLeft,
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
        ] {
            assert_eq!(
                ClientMessage::parse(frame),
                Err(ErrorCode::BadMessage),
                "{frame}"
            );
        }
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
    fn message_text_limits() {
        assert_eq!(check_message_text("hello"), Ok(()));
        assert_eq!(check_message_text("  \n\t "), Err(ErrorCode::EmptyMessage));
        assert_eq!(check_message_text(&"é".repeat(MAX_MESSAGE_CHARS)), Ok(()));
        assert_eq!(
            check_message_text(&"a".repeat(MAX_MESSAGE_CHARS + 1)),
            Err(ErrorCode::MessageTooLong)
        );
    }
}
