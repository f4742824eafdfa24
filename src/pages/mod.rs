//! The app's pages, one per file.

mod chat;
mod landing;
mod not_found;

pub use chat::ChatPage;
pub use landing::{LandingPage, SiteFacts};
pub use not_found::NotFound;
