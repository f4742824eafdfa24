//! How a chat connection gets in: the WebSocket handshake, answered by the
//! server itself for a connection whose first request is the chat's.
//!
//! A crowd arriving at once spends the server's core on each arrival
//! (BENCHMARKS.md, issue 18). Through the HTTP server, an arrival costs hyper's
//! connection, axum's router and its layers, the upgrade machinery and a boxed,
//! rewindable socket, and the `101 Switching Protocols` and the welcome leave in
//! two writes. A new TCP connection whose first request is a well-formed
//! `GET /ws` upgrade that passes the front door's checks is answered here
//! instead: the head is parsed once, the same checks run on it, and the `101`
//! leaves with the first frames in one write. Anything else (a page, a request
//! this path does not take, a refusal with an HTTP status) goes to the HTTP
//! server with the bytes already read, which answers it as before; so does a
//! chat request on a kept-alive connection (as a reverse proxy may send it),
//! which [`upgrade`] takes through hyper's upgrade.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Message, Role, WebSocketConfig};

use super::front_door::WriteDeadline;
use super::metrics::RejectionReason;
use super::network::{Admission, ClientAddress, Refusal};
use super::{AppState, MAX_FRAME_BYTES, REFUSAL_TIMEOUT, connection};
use crate::protocol::ServerMessage;

/// A chat's WebSocket, over whichever path let it in.
pub type ChatSocket = WebSocketStream<ChatIo>;

/// Per-socket read and write buffer sizes. tungstenite's default of 128 KiB per
/// socket would cost far more than the small JSON frames this chat sends need;
/// larger frames are still read whole, in more pieces. 4 KiB cost 14.0 KiB of
/// server memory per connected stranger, 1 KiB 11.1 KiB (BENCHMARKS.md).
const SOCKET_BUFFER_BYTES: usize = 1024;

/// The longest first request head read before it is left to the HTTP server.
/// A browser's chat request is well under 2 KiB; the site's only cookie is the
/// console's, which browsers send to `/admin` alone.
const HEAD_LIMIT: usize = 16 * 1024;

/// The most header lines a chat request may have on this path (a browser sends
/// about fifteen); a request with more goes to the HTTP server.
const MAX_HEADERS: usize = 48;

/// The first request on a new connection, as far as [`read_first_head`] read it.
pub enum FirstRequest {
    /// A chat request this path admits: the connection is a chat now.
    Chat(ChatRequest),
    /// Anything else, with every byte read so far, for the HTTP server.
    Other(Vec<u8>),
}

/// A `GET /ws` upgrade that passed the front door: what letting it in needs.
pub struct ChatRequest {
    client: ClientAddress,
    key: HeaderValue,
    /// Bytes the client sent after the head (frames it did not wait to send).
    early: Vec<u8>,
}

/// Reads the head of a connection's first request (up to [`HEAD_LIMIT`]) and
/// decides whether this path answers it. Returns what was read either way;
/// errors are the socket's.
pub async fn read_first_head(
    tcp: &mut WriteDeadline<TcpStream>,
    peer: SocketAddr,
    state: &AppState,
) -> io::Result<FirstRequest> {
    let mut bytes = Vec::with_capacity(2048);
    loop {
        let searched_to = bytes.len().saturating_sub(3);
        // Room for a large read: a full Vec would grow by a few bytes a read.
        if bytes.capacity() - bytes.len() < 512 {
            bytes.reserve(bytes.len());
        }
        if tcp.read_buf(&mut bytes).await? == 0 {
            return Ok(FirstRequest::Other(bytes));
        }
        if bytes[searched_to..]
            .windows(4)
            .any(|end| end == b"\r\n\r\n")
        {
            break;
        }
        if bytes.len() >= HEAD_LIMIT {
            return Ok(FirstRequest::Other(bytes));
        }
    }
    Ok(match chat_request(&bytes, peer, state) {
        Some(request) => FirstRequest::Chat(request),
        None => FirstRequest::Other(bytes),
    })
}

/// `bytes` as a chat request this path takes: HTTP/1.1, `GET /ws`, a valid
/// upgrade with no body, for a host this server answers, from a client whose
/// address the proxies name, from a page that may open the chat. `None` for
/// anything else: the HTTP server then answers it, refusals included.
fn chat_request(bytes: &[u8], peer: SocketAddr, state: &AppState) -> Option<ChatRequest> {
    let mut lines = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut lines);
    let httparse::Status::Complete(head_len) = request.parse(bytes).ok()? else {
        return None;
    };
    let path = request.path?.split('?').next()?;
    if path != "/ws" || request.version != Some(1) {
        return None;
    }
    let method = Method::from_bytes(request.method?.as_bytes()).ok()?;
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for line in request.headers.iter() {
        let name = HeaderName::from_bytes(line.name.as_bytes()).ok()?;
        headers.append(name, HeaderValue::from_bytes(line.value).ok()?);
    }
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length != "0");
    if has_body {
        return None;
    }
    let key = upgrade_key(&method, &headers).ok()?.clone();
    let host = text(&headers, header::HOST);
    if !state.settings.origins.serves_host(host) || !page_may_open(state, &headers) {
        return None;
    }
    let client = state.gate.client_of(peer, &headers).ok()?;
    Some(ChatRequest {
        client,
        key,
        early: bytes[head_len..].to_vec(),
    })
}

/// Lets in a chat whose first request this path took: the `101` goes out with
/// the first frames the connection writes (its welcome, or its refusal).
pub async fn answer(tcp: WriteDeadline<TcpStream>, request: ChatRequest, state: AppState) {
    let admitted = admit(&state, request.client);
    let io = ChatIo::Direct(Direct {
        tcp,
        unsent: switching_head(&request.key),
    });
    let socket =
        WebSocketStream::from_partially_read(io, request.early, Role::Server, Some(config())).await;
    let_in(socket, state, admitted);
}

/// The `/ws` route of the HTTP server: a chat request on a connection that
/// carried another request first, or one [`read_first_head`] left to it.
/// Refuses what [`chat_request`] would not take, with the status that says why.
pub async fn upgrade(
    Extension(client): Extension<ClientAddress>,
    State(state): State<AppState>,
    mut request: Request,
) -> Response {
    let key = match upgrade_key(request.method(), request.headers()) {
        Ok(key) => key.clone(),
        Err(refusal) => return refusal.into_response(),
    };
    if !page_may_open(&state, request.headers()) {
        state.metrics.rejected(RejectionReason::Origin);
        return (StatusCode::FORBIDDEN, "This page may not open a chat here.").into_response();
    }
    let Some(upgrading) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "This connection cannot become a WebSocket.",
        )
            .into_response();
    };
    let admitted = admit(&state, client);
    // The chat gets a task of its own once the upgrade is done, so this one
    // (and the upgrade machinery it holds) ends then.
    tokio::spawn(async move {
        if let Ok(upgraded) = upgrading.await {
            let io = ChatIo::Upgraded(TokioIo::new(upgraded));
            let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config())).await;
            let_in(socket, state, admitted);
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Whether the page asking (by its `Origin`) may open a chat on this server.
fn page_may_open(state: &AppState, headers: &HeaderMap) -> bool {
    let origin = text(headers, header::ORIGIN);
    state
        .settings
        .origins
        .permits(origin, text(headers, header::HOST))
}

/// A header's value, if it is there and is text.
fn text(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Why a request to `/ws` is not a WebSocket upgrade (as axum's extractor
/// says it: 405 for another method, 400 for a missing or wrong header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAnUpgrade {
    MethodNotGet,
    NoConnectionUpgrade,
    NoUpgradeWebsocket,
    WrongVersion,
    NoKey,
}

impl IntoResponse for NotAnUpgrade {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            NotAnUpgrade::MethodNotGet => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Request method must be `GET`",
            ),
            NotAnUpgrade::NoConnectionUpgrade => (
                StatusCode::BAD_REQUEST,
                "Connection header did not include 'upgrade'",
            ),
            NotAnUpgrade::NoUpgradeWebsocket => (
                StatusCode::BAD_REQUEST,
                "`Upgrade` header did not include 'websocket'",
            ),
            NotAnUpgrade::WrongVersion => (
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Version` header did not include '13'",
            ),
            NotAnUpgrade::NoKey => (
                StatusCode::BAD_REQUEST,
                "`Sec-WebSocket-Key` header missing",
            ),
        };
        (status, text).into_response()
    }
}

/// The client's `Sec-WebSocket-Key`, if the request is a WebSocket upgrade
/// (RFC 6455, section 4.2.1).
pub fn upgrade_key<'a>(
    method: &Method,
    headers: &'a HeaderMap,
) -> Result<&'a HeaderValue, NotAnUpgrade> {
    if method != Method::GET {
        return Err(NotAnUpgrade::MethodNotGet);
    }
    let says = |name, word: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .as_bytes()
                .split(|&byte| byte == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(word.as_bytes()))
        })
    };
    if !says(header::CONNECTION, "upgrade") {
        return Err(NotAnUpgrade::NoConnectionUpgrade);
    }
    if !says(header::UPGRADE, "websocket") {
        return Err(NotAnUpgrade::NoUpgradeWebsocket);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version != "13")
    {
        return Err(NotAnUpgrade::WrongVersion);
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(NotAnUpgrade::NoKey)
}

/// The `101 Switching Protocols` answer to `key`, with the headers every
/// response carries.
fn switching_head(key: &HeaderValue) -> Vec<u8> {
    let accept = derive_accept_key(key.as_bytes());
    let mut head = Vec::with_capacity(192);
    head.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n",
    );
    head.extend_from_slice(b"sec-websocket-accept: ");
    head.extend_from_slice(accept.as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in super::SECURITY_HEADERS {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// The socket's buffers and limits.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

/// Whether `client` may chat now (counted in its network's limits if so).
fn admit(state: &AppState, client: ClientAddress) -> Result<Admission, Refusal> {
    let admitted = state.gate.admit(client, tokio::time::Instant::now());
    if let Err(refusal) = &admitted {
        state.metrics.rejected(match refusal {
            Refusal::Banned(_) => RejectionReason::Ban,
            Refusal::TooMany | Refusal::TooFast => RejectionReason::AddressLimit,
        });
    }
    admitted
}

/// Starts the chat on `socket`, or tells it why not.
fn let_in(socket: ChatSocket, state: AppState, admitted: Result<Admission, Refusal>) {
    // Spawned as it is, not inside an async block: a block would keep its
    // captures (the socket and the state, already moved into the chat) beside
    // the chat's own future for the whole chat.
    let connections = state.connections.clone();
    match admitted {
        Ok(admission) => {
            connections.spawn(connection::serve(socket, state, admission));
        }
        Err(refusal) => {
            connections.spawn(refuse(socket, refusal));
        }
    }
}

/// Tells a connection it was not let in, and why, then closes it (1008) at
/// once: a refused network does not get to hold a socket while its browser
/// takes its time answering the close.
async fn refuse(mut socket: ChatSocket, refusal: Refusal) {
    use futures_util::SinkExt;

    let notice = match refusal {
        Refusal::Banned(left) => Some(ServerMessage::Banned {
            seconds: left.as_secs(),
        }),
        Refusal::TooMany | Refusal::TooFast => None,
    };
    let goodbye = async move {
        if let Some(notice) = notice {
            socket.feed(Message::text(notice.to_frame())).await?;
        }
        let frame = CloseFrame {
            code: connection::CLOSE_POLICY.into(),
            reason: refusal.reason().into(),
        };
        socket.send(Message::Close(Some(frame))).await
    };
    // Only the sending is waited for (briefly: the socket buffer takes it);
    // dropping the socket then closes the connection.
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, goodbye).await;
}

/// A chat's connection under its WebSocket: the TCP socket itself when this
/// module answered the handshake, or what hyper hands over after its upgrade.
pub enum ChatIo {
    Direct(Direct),
    Upgraded(TokioIo<hyper::upgrade::Upgraded>),
}

/// A TCP connection whose first write is preceded by the `101` response, so
/// that the handshake's answer and the welcome cost one system call.
pub struct Direct {
    tcp: WriteDeadline<TcpStream>,
    /// What is left to send of the `101` response.
    unsent: Vec<u8>,
}

impl Direct {
    /// Sends what is left of the `101` response, alone.
    fn poll_send_head(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.unsent.is_empty() {
            let sent = ready!(Pin::new(&mut self.tcp).poll_write(cx, &self.unsent))?;
            if sent == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.unsent.drain(..sent);
        }
        self.unsent = Vec::new();
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for ChatIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ChatIo::Direct(direct) => Pin::new(&mut direct.tcp).poll_read(cx, buf),
            ChatIo::Upgraded(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ChatIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let direct = match self.get_mut() {
            ChatIo::Direct(direct) => direct,
            ChatIo::Upgraded(io) => return Pin::new(io).poll_write(cx, buf),
        };
        while !direct.unsent.is_empty() {
            let both = [io::IoSlice::new(&direct.unsent), io::IoSlice::new(buf)];
            let sent = ready!(Pin::new(&mut direct.tcp).poll_write_vectored(cx, &both))?;
            if sent == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let of_head = sent.min(direct.unsent.len());
            direct.unsent.drain(..of_head);
            if direct.unsent.is_empty() {
                direct.unsent = Vec::new();
                if sent > of_head {
                    return Poll::Ready(Ok(sent - of_head));
                }
            }
        }
        Pin::new(&mut direct.tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ChatIo::Direct(direct) => {
                ready!(direct.poll_send_head(cx))?;
                Pin::new(&mut direct.tcp).poll_flush(cx)
            }
            ChatIo::Upgraded(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ChatIo::Direct(direct) => {
                ready!(direct.poll_send_head(cx))?;
                Pin::new(&mut direct.tcp).poll_shutdown(cx)
            }
            ChatIo::Upgraded(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}

/// A connection whose first bytes were already read (by [`read_first_head`]):
/// reads give those back first, then read the connection.
pub struct Replay<T> {
    read: Vec<u8>,
    at: usize,
    io: T,
}

impl<T> Replay<T> {
    pub fn new(read: Vec<u8>, io: T) -> Self {
        Replay { read, at: 0, io }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Replay<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.read.len() {
            let n = buf.remaining().min(this.read.len() - this.at);
            buf.put_slice(&this.read[this.at..this.at + n]);
            this.at += n;
            if this.at == this.read.len() {
                this.read = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Replay<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
