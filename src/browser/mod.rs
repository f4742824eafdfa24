//! What only a browser can do, behind one switch: the socket, timers, the
//! camera and the call, the nudity check, the bot check's hashing, storage,
//! downloads and the tab's title.
//!
//! In the browser build (`hydrate`) this is `live`: the real thing. In the
//! server build, which only renders pages, it is `inert`: the same names,
//! doing nothing, so the chat controller and the components are written once,
//! without a `cfg` of their own.

#[cfg(feature = "hydrate")]
mod live;
#[cfg(feature = "hydrate")]
pub use live::*;

#[cfg(not(feature = "hydrate"))]
mod inert;
#[cfg(not(feature = "hydrate"))]
pub use inert::*;
