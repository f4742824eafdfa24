//! The page's lines to the server: the chat's WebSocket, and the landing
//! page's feed of the online count (a server-sent event stream, which is not a
//! chat connection: a visitor who only looks is not counted online).
//!
//! The socket hands every server message to the page as it arrives. Dropping
//! the [`Link`] closes it, so the server frees the stranger's partner at once.
//! Frames from the server are read with the browser's own JSON parser, so the
//! bundle carries none (see [`crate::protocol::Fields`]).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{JSON, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::protocol::{Fields, ONLINE_FEED, ServerMessage};

/// An open (or opening) connection to the server's `/ws`. Dropping it closes
/// the socket without telling the page.
pub struct Link {
    socket: WebSocket,
    /// What the page sent before the socket opened, sent once it does.
    waiting: Rc<RefCell<Vec<String>>>,
    /// The socket's event handlers; kept alive with it.
    _handlers: SocketHandlers,
}

/// What the socket calls when it opens, hears a frame, and closes.
type SocketHandlers = (
    Closure<dyn FnMut()>,
    Closure<dyn FnMut(MessageEvent)>,
    Closure<dyn FnMut(CloseEvent)>,
);

impl Link {
    /// Opens `/ws` on the page's own host. `on_message` runs for every server
    /// message, `on_close` once when it ends, with the server's reason if it
    /// gave one (not when closed by dropping the connection).
    pub fn open(
        on_message: impl Fn(ServerMessage) + 'static,
        on_close: impl FnOnce(Option<String>) + 'static,
    ) -> Result<Self, String> {
        let early = EarlySocket::take();
        let socket = match &early {
            Some(early) => early.socket.clone(),
            None => WebSocket::new(&socket_url()?).map_err(|_| "cannot open the socket")?,
        };
        let waiting = Rc::new(RefCell::new(Vec::<String>::new()));

        let on_open = {
            let (socket, waiting) = (socket.clone(), waiting.clone());
            Closure::<dyn FnMut()>::new(move || {
                for frame in waiting.borrow_mut().drain(..) {
                    let _ = socket.send_with_str(&frame);
                }
            })
        };
        let on_frame = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(message) = event.data().as_string().and_then(|frame| decode(&frame)) {
                on_message(message);
            }
        });
        // A socket that fails to open, or breaks, closes with no reason.
        let mut on_close = Some(on_close);
        let on_closed = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            if let Some(on_close) = on_close.take() {
                on_close(Some(event.reason()).filter(|r| !r.is_empty()));
            }
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_frame.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_closed.as_ref().unchecked_ref()));
        if let Some(early) = early {
            early.adopt();
        }
        Ok(Link {
            socket,
            waiting,
            _handlers: (on_open, on_frame, on_closed),
        })
    }

    /// Sends a frame (a [`ClientMessage`] as JSON) to the server, once the socket is open.
    pub fn send(&self, frame: String) {
        if self.socket.ready_state() == WebSocket::CONNECTING {
            self.waiting.borrow_mut().push(frame);
        } else {
            let _ = self.socket.send_with_str(&frame);
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

/// The socket the page's loader opened before the code arrived (on a chat
/// page, the first time only), with what the server said since.
struct EarlySocket {
    socket: WebSocket,
    handle: JsValue,
}

impl EarlySocket {
    /// Takes the loader's socket, if it opened one and nobody took it yet.
    fn take() -> Option<EarlySocket> {
        let handle = Reflect::get(&js_sys::global(), &"__strangersSocket".into()).ok()?;
        let socket = Reflect::get(&handle, &"socket".into())
            .ok()?
            .dyn_into()
            .ok()?;
        Some(EarlySocket { socket, handle })
    }

    /// Once the socket's handlers are ours: what the server said before, and
    /// how the socket closed if it did, reach them next, before anything new.
    fn adopt(self) {
        if let Ok(adopt) = Reflect::get(&self.handle, &"adopt".into())
            .and_then(|adopt| adopt.dyn_into::<js_sys::Function>())
        {
            let _ = adopt.call0(&self.handle);
        }
    }
}

/// A server frame, read with the browser's own JSON parser (so the bundle
/// carries no JSON parser of its own) into the protocol's types.
fn decode(frame: &str) -> Option<ServerMessage> {
    ServerMessage::from_fields(&Parsed(JSON::parse(frame).ok()?))
}

/// A JSON object as the browser's parser made it.
pub struct Parsed(pub JsValue);

impl Parsed {
    fn field(&self, name: &str) -> Option<JsValue> {
        Reflect::get(&self.0, &name.into()).ok()
    }

    fn list(&self, name: &str) -> Option<js_sys::Array> {
        self.field(name)?.dyn_into().ok()
    }
}

impl Fields for Parsed {
    fn text(&self, name: &str) -> Option<String> {
        self.field(name)?.as_string()
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.field(name)?.as_bool()
    }

    fn number(&self, name: &str) -> Option<u64> {
        let number = self.field(name)?.as_f64()?;
        // Whole numbers from 0 up to the largest a double holds exactly.
        let whole = number.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&number);
        whole.then_some(number as u64)
    }

    fn object(&self, name: &str) -> Option<Self> {
        let value = self.field(name)?;
        (value.is_object() && !js_sys::Array::is_array(&value)).then_some(Parsed(value))
    }

    fn objects(&self, name: &str) -> Option<Vec<Self>> {
        let list = self.list(name)?;
        list.iter()
            .map(|value| value.is_object().then_some(Parsed(value)))
            .collect()
    }

    fn texts(&self, name: &str) -> Option<Vec<String>> {
        self.list(name)?
            .iter()
            .map(|value| value.as_string())
            .collect()
    }
}

/// `ws://` or `wss://` and the page's host, then `/ws`.
fn socket_url() -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let protocol = location.protocol().map_err(|_| "no protocol")?;
    let host = location.host().map_err(|_| "no host")?;
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    Ok(format!("{scheme}://{host}/ws"))
}

/// The online count, kept current by the server (`/online`, server-sent
/// events) while this value lives. The browser reconnects by itself.
pub struct OnlineFeed {
    source: web_sys::EventSource,
    _on_count: Closure<dyn FnMut(web_sys::MessageEvent)>,
}

impl OnlineFeed {
    /// Starts listening; `on_count` hears every count.
    pub fn open(on_count: impl Fn(u64) + 'static) -> Option<OnlineFeed> {
        let source = web_sys::EventSource::new(ONLINE_FEED).ok()?;
        let on_count = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if let Some(count) = event.data().as_string().and_then(|d| d.parse().ok()) {
                    on_count(count);
                }
            },
        );
        source.set_onmessage(Some(on_count.as_ref().unchecked_ref()));
        Some(OnlineFeed {
            source,
            _on_count: on_count,
        })
    }
}

impl Drop for OnlineFeed {
    fn drop(&mut self) {
        self.source.close();
    }
}
