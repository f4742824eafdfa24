//! The parts of the pages, one per file.

mod age_gate;
mod chat_log;
mod composer;
mod found_notice;
mod interests_input;
mod media_toggles;
mod online_count;
mod question_banner;
mod report_button;
mod report_dialog;
mod save_log;
mod seal_notice;
mod site_footer;
mod status_line;
mod stop_button;
mod typing_indicator;
mod video_problem_choices;
mod video_stage;

pub use age_gate::AgeGate;
pub use chat_log::ChatLog;
pub use composer::Composer;
pub use found_notice::FoundNotice;
pub use interests_input::InterestsInput;
pub use media_toggles::MediaToggles;
pub use online_count::OnlineCount;
pub use question_banner::QuestionBanner;
pub use report_button::ReportButton;
pub use report_dialog::ReportDialog;
pub use save_log::SaveLog;
pub use seal_notice::SealNotice;
pub use site_footer::SiteFooter;
pub use status_line::StatusLine;
pub use stop_button::StopButton;
pub use typing_indicator::TypingIndicator;
pub use video_problem_choices::VideoProblemChoices;
pub use video_stage::VideoStage;
