//! The parts of the pages, one per file.

mod chat_log;
mod composer;
mod interests_input;
mod online_count;
mod save_log;
mod status_line;
mod stop_button;
mod typing_indicator;

pub use chat_log::ChatLog;
pub use composer::Composer;
pub use interests_input::InterestsInput;
pub use online_count::OnlineCount;
pub use save_log::SaveLog;
pub use status_line::StatusLine;
pub use stop_button::StopButton;
pub use typing_indicator::TypingIndicator;
