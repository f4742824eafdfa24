//! The parts of the chat page, one per file.

mod chat_log;
mod composer;
mod status_line;
mod stop_button;

pub use chat_log::ChatLog;
pub use composer::Composer;
pub use status_line::StatusLine;
pub use stop_button::StopButton;
