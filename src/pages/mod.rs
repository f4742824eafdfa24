//! The app's pages, one per file.

mod chat;
mod landing;
mod not_found;

pub use chat::{Chat, ChatPage};
pub use landing::LandingPage;
pub use not_found::NotFound;
