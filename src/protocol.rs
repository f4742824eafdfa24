//! The messages that cross the WebSocket, shared by the server and the browser.
//!
//! Every frame is one JSON object tagged by its `"type"` field, for example
//! `{"type":"message","text":"hi"}`. Both sides compile this one module, so a change
//! here changes the server and the client together and they cannot drift apart.

use serde::{Deserialize, Serialize};

/// The longest chat message the server relays, counted in characters (not bytes),
/// because that is what a person typing sees.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// What a stranger's browser asks of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Find me a stranger. Ends the current chat first, if there is one (a skip);
    /// asking again while already waiting keeps the place in the queue.
    ///
    /// (Written `Join {}` so that serde refuses unknown fields on it too.)
    Join {},
    /// A chat message for the stranger in my room.
    Message {
        /// What the person typed; plain text, never markup.
        text: String,
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
    Paired,
    /// A chat message from the stranger.
    Message {
        /// Plain text as the stranger typed it. The browser shows it as text, never as HTML.
        text: String,
    },
    /// The stranger left the chat: Stop, a skip, a closed tab or a lost network.
    StrangerLeft,
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

impl ClientMessage {
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
        assert_eq!(ClientMessage::Join {}.to_frame(), r#"{"type":"join"}"#);
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
            ServerMessage::Paired,
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
