//! One visitor's chat as the browser sees it: the phase it is in and the log.
//!
//! Pure state with no I/O, so the rules (what a button does in each phase, which
//! server messages count when) are tested natively. The chat page holds it in a
//! signal; the socket feeds it server messages and sends what it returns.

use crate::protocol::{ClientMessage, ErrorCode, ServerMessage, check_message_text};

/// Where the visitor's chat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Opening the connection to the server.
    Connecting,
    /// Waiting to be paired.
    Searching,
    /// Paired: messages go to the stranger.
    Chatting,
    /// The chat ended (either side); "New" starts another.
    Ended,
    /// The connection to the server is gone; "New" reconnects.
    Offline,
}

/// Who a log line is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The visitor.
    You,
    /// The stranger.
    Stranger,
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
}

/// What the Stop/New button does when pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this to the server.
    Send(ClientMessage),
    /// Open a new connection to the server (it joins once open).
    Reconnect,
    /// Nothing to do.
    Nothing,
}

/// A visitor's chat session.
#[derive(Debug, Clone)]
pub struct ChatSession {
    /// Where the chat stands.
    phase: Phase,
    /// The conversation and notices, oldest first.
    log: Vec<LogLine>,
    /// The id of the next log line.
    next_line: u64,
}

impl Default for ChatSession {
    fn default() -> Self {
        Self::new()
    }
}

impl ChatSession {
    /// A session that is connecting to the server.
    pub fn new() -> Self {
        ChatSession {
            phase: Phase::Connecting,
            log: Vec::new(),
            next_line: 0,
        }
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
            Phase::Connecting => "Connecting to the server...",
            Phase::Searching => "Looking for someone you can chat with...",
            Phase::Chatting => "You're now chatting with a random stranger. Say hi!",
            Phase::Ended => "The chat has ended. Press New to meet another stranger.",
            Phase::Offline => "Lost the connection to the server. Press New to reconnect.",
        }
    }

    /// The Stop/New button's label.
    pub fn button_label(&self) -> &'static str {
        match self.phase {
            Phase::Connecting | Phase::Searching | Phase::Chatting => "Stop",
            Phase::Ended | Phase::Offline => "New",
        }
    }

    /// Whether the message box can send now.
    pub fn can_send(&self) -> bool {
        self.phase == Phase::Chatting
    }

    /// The connection opened: start looking for a stranger.
    pub fn connected(&mut self) -> ClientMessage {
        self.phase = Phase::Searching;
        ClientMessage::Join {}
    }

    /// The connection closed or failed.
    pub fn disconnected(&mut self) {
        if self.phase == Phase::Chatting {
            self.note(Speaker::Notice, "You have disconnected.");
        }
        self.phase = Phase::Offline;
    }

    /// Applies a message from the server.
    ///
    /// Messages are only taken in the phase they belong to: after pressing Stop
    /// or New, what the old stranger had already sent is ignored rather than
    /// shown in the wrong chat, since the server's replies come in order.
    pub fn receive(&mut self, message: ServerMessage) {
        match (self.phase, message) {
            (Phase::Searching, ServerMessage::Paired) => self.phase = Phase::Chatting,
            (Phase::Chatting, ServerMessage::Message { text }) => {
                self.note(Speaker::Stranger, text)
            }
            (Phase::Chatting, ServerMessage::StrangerLeft) => {
                self.phase = Phase::Ended;
                self.note(Speaker::Notice, "Stranger has disconnected.");
            }
            (_, ServerMessage::Error { message, .. }) => self.note(Speaker::Error, message),
            _ => {}
        }
    }

    /// The visitor sends `draft`. Returns the message for the server if it may be
    /// sent; a message the server would refuse for its length is refused here,
    /// with the same reason in the log; a blank one is simply not sent.
    pub fn send(&mut self, draft: &str) -> Option<ClientMessage> {
        if !self.can_send() {
            return None;
        }
        match check_message_text(draft) {
            Ok(()) => {
                self.note(Speaker::You, draft);
                Some(ClientMessage::Message {
                    text: draft.to_owned(),
                })
            }
            Err(ErrorCode::EmptyMessage) => None,
            Err(code) => {
                self.note(Speaker::Error, code.describe());
                None
            }
        }
    }

    /// The visitor presses the Stop/New button.
    pub fn press_stop_or_new(&mut self) -> Action {
        match self.phase {
            Phase::Connecting => Action::Nothing,
            Phase::Searching | Phase::Chatting => {
                self.phase = Phase::Ended;
                self.note(Speaker::Notice, "You have disconnected.");
                Action::Send(ClientMessage::Leave {})
            }
            Phase::Ended => {
                self.log.clear();
                self.phase = Phase::Searching;
                Action::Send(ClientMessage::Join {})
            }
            Phase::Offline => {
                self.log.clear();
                self.phase = Phase::Connecting;
                Action::Reconnect
            }
        }
    }

    fn note(&mut self, speaker: Speaker, text: impl Into<String>) {
        self.log.push(LogLine {
            id: self.next_line,
            speaker,
            text: text.into(),
        });
        self.next_line += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MAX_MESSAGE_CHARS;

    fn chatting() -> ChatSession {
        let mut session = ChatSession::new();
        assert_eq!(session.connected(), ClientMessage::Join {});
        session.receive(ServerMessage::Waiting);
        assert_eq!(session.status(), "Looking for someone you can chat with...");
        session.receive(ServerMessage::Paired);
        session
    }

    fn lines(session: &ChatSession) -> Vec<(Speaker, &str)> {
        session
            .log()
            .iter()
            .map(|l| (l.speaker, l.text.as_str()))
            .collect()
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
            Some(ClientMessage::Message { text: "hi".into() })
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
        assert_eq!(session.send("   \n "), None);
        assert!(session.log().is_empty());
        assert_eq!(session.send(&"x".repeat(MAX_MESSAGE_CHARS + 1)), None);
        assert_eq!(
            lines(&session),
            [(Speaker::Error, ErrorCode::MessageTooLong.describe())]
        );
    }

    #[test]
    fn stop_then_new_starts_a_fresh_search() {
        let mut session = chatting();
        assert_eq!(session.button_label(), "Stop");
        assert_eq!(
            session.press_stop_or_new(),
            Action::Send(ClientMessage::Leave {})
        );
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
            Action::Send(ClientMessage::Join {})
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
        assert_eq!(session.send("anyone?"), None);
    }

    #[test]
    fn a_pairing_that_arrives_after_stop_is_ignored() {
        let mut session = ChatSession::new();
        session.connected();
        session.press_stop_or_new();
        session.receive(ServerMessage::Paired);
        assert_eq!(session.phase(), Phase::Ended);
    }

    #[test]
    fn losing_the_server_offers_to_reconnect() {
        let mut session = chatting();
        session.disconnected();
        assert_eq!(session.phase(), Phase::Offline);
        assert_eq!(session.button_label(), "New");
        assert_eq!(session.press_stop_or_new(), Action::Reconnect);
        assert_eq!(session.phase(), Phase::Connecting);
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
}
