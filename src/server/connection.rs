//! One stranger's WebSocket connection: a read loop feeding the lobby, and a
//! writer task that owns the socket's sending side and drains the bounded outbox.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::challenge::Puzzle;
use super::flood::{FloodGuard, Frame, Verdict};
use super::lobby::{JoinRequest, Lobby, LobbyError};
use super::metrics::{DisconnectReason as Ending, Metrics, RejectionReason};
use super::moderation::FiledReport;
use super::network::BANNED_REASON;
use super::network::{Admission, Gatekeeper};
use super::sanctions::Sanctions;
use super::stranger::{Inbox, Kick, OUTBOX_CAPACITY, Stranger, outbox};
use crate::protocol::{
    ClientMessage, ErrorCode, ServerMessage, check_join, check_message_text, check_report,
    check_signal,
};

/// How long a closing connection may take to flush what it owes and finish the
/// close handshake before it is dropped regardless.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// WebSocket close code 1001: the server is going away (restart or shutdown).
const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code 1008: the client broke a rule (stopped reading, flooded,
/// over its network's limits, banned).
pub const CLOSE_POLICY: u16 = 1008;

/// Serves one stranger until their socket closes or the server shuts down.
///
/// Whatever ends the connection, the stranger departs the lobby exactly once,
/// so their partner is told and no ghost remains in the queue.
///
/// The setup runs before the returned future, which holds only what the chat
/// needs: an async fn would keep its arguments (the unsplit socket among them)
/// in its state for as long as the connection lives.
pub fn serve(
    socket: WebSocket,
    state: AppState,
    admission: Admission,
) -> impl Future<Output = ()> + Send {
    let sanctions = state.sanctions();
    let AppState {
        lobby,
        shutdown,
        gate,
        settings,
        metrics,
        ..
    } = state;
    let (outbox, inbox) = outbox(OUTBOX_CAPACITY);
    let kick = CancellationToken::new();
    let stranger = Stranger::new(outbox, kick.clone()).from_address(admission.address());
    let id = stranger.id();
    // A network that tripped a limit lately (or everyone, if the operator says
    // so) proves it is not a bot before it may join.
    let mut puzzle = settings.challenge.for_connection(admission.suspect());
    lobby.arrive(
        stranger.clone(),
        puzzle.as_ref().map(|p| p.challenge().clone()),
    );
    tracing::debug!(stranger = %id, "connected");

    let (sink, stream) = socket.split();
    let stop_writing = CancellationToken::new();
    let writer = tokio::spawn(write_outbox(
        sink,
        inbox,
        settings.ping_interval,
        stop_writing.clone(),
        metrics.clone(),
    ));
    async move {
        // Holds this connection's place in its network's limits until it ends.
        let admission = admission;
        let mut stream = stream;

        // Anything from the browser, a pong included, shows it is still there. The
        // writer pings every `ping_interval`, so a live browser is heard from at least
        // that often, even while it waits quietly for a partner.
        let silence_limit = settings.ping_interval + settings.pong_timeout;
        let mut last_heard = tokio::time::Instant::now();
        let mut pulse = tokio::time::interval(settings.ping_interval.min(settings.pong_timeout));

        let keepers = Keepers {
            lobby: &lobby,
            gate: &gate,
            sanctions: &sanctions,
        };
        let mut flood = FloodGuard::new(
            settings.message_rate,
            settings.typing_rate,
            settings.signal_rate,
            tokio::time::Instant::now(),
        );
        let ending = loop {
            tokio::select! {
                frame = stream.next() => {
                    last_heard = tokio::time::Instant::now();
                    match frame {
                    Some(Ok(Message::Text(text))) => {
                        let parsed = ClientMessage::parse(text.as_str());
                        let kind = match parsed {
                            Ok(ClientMessage::Typing { .. }) => Frame::Typing,
                            Ok(ClientMessage::Signal { .. }) => Frame::Signal,
                            _ => Frame::Other,
                        };
                        match flood.check(kind, tokio::time::Instant::now()) {
                            Verdict::Allow => {
                                let frame = Arrived { parsed, at: last_heard };
                                if let Some(code) = handle_frame(keepers, &stranger, &mut puzzle, frame) {
                                    metrics.rejected(RejectionReason::for_error(code));
                                    stranger.deliver(ServerMessage::error(code));
                                }
                            }
                            Verdict::Refuse => {
                                metrics.rejected(RejectionReason::RateLimit);
                                stranger.deliver(ServerMessage::error(ErrorCode::SlowDown));
                            }
                            Verdict::Disconnect => break Ending::Flooding,
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        match flood.check(Frame::Other, tokio::time::Instant::now()) {
                            Verdict::Disconnect => break Ending::Flooding,
                            _ => {
                                metrics.rejected(RejectionReason::Malformed);
                                stranger.deliver(ServerMessage::error(ErrorCode::BadMessage))
                            }
                        };
                    }
                    // tungstenite answers pings itself; a close frame is answered as the
                    // stream is polled further, and the stream then ends by itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_))) => {}
                    Some(Err(_)) | None => break Ending::ClientGone,
                }},
                _ = pulse.tick() => {
                    if last_heard.elapsed() > silence_limit {
                        break Ending::Unresponsive;
                    }
                }
                () = kick.cancelled() => match stranger.kicked_for() {
                    Some(Kick::Banned) => break Ending::Banned,
                    Some(Kick::TooSlow) | None => break Ending::TooSlow,
                },
                () = shutdown.cancelled() => break Ending::Shutdown,
            }
        };

        lobby.depart(id);
        metrics.disconnected(ending);
        if ending == Ending::Flooding {
            gate.suspect(admission.address(), tokio::time::Instant::now());
        }
        // The lobby has dropped its handle; dropping ours lets the writer finish
        // the outbox and end.
        drop(stranger);
        tracing::debug!(stranger = %id, ?ending, "disconnected");

        let farewell = match ending {
            Ending::ClientGone => None,
            Ending::TooSlow => {
                // It is not reading: do not wait for the outbox to drain.
                stop_writing.cancel();
                Some((CLOSE_POLICY, "Too many unread messages"))
            }
            Ending::Flooding => Some((CLOSE_POLICY, "Too many messages, too fast")),
            // The ban notice is in the outbox: let it go out first.
            Ending::Banned => Some((CLOSE_POLICY, BANNED_REASON)),
            Ending::Unresponsive => {
                stop_writing.cancel();
                Some((CLOSE_GOING_AWAY, "No answer to pings"))
            }
            Ending::Shutdown => Some((
                CLOSE_GOING_AWAY,
                "The server is restarting, please reconnect",
            )),
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async move {
            let Ok(mut sink) = writer.await else { return };
            if let Some((code, reason)) = farewell {
                let frame = CloseFrame {
                    code,
                    reason: reason.into(),
                };
                let _ = sink.send(Message::Close(Some(frame))).await;
                finish_close_handshake(&mut stream).await;
            }
        })
        .await;
    }
}

/// Writes queued messages to the socket in order, and a ping every
/// `ping_interval`, until the outbox closes or writing is stopped; then hands the
/// sending side back for the close frame.
async fn write_outbox(
    mut sink: SplitSink<WebSocket, Message>,
    mut inbox: Inbox,
    ping_interval: Duration,
    stop: CancellationToken,
    metrics: std::sync::Arc<Metrics>,
) -> SplitSink<WebSocket, Message> {
    let mut pings = tokio::time::interval(ping_interval);
    pings.reset(); // the first ping after one interval, not at once
    loop {
        // A relayed chat message, and when it reached the server.
        let mut relayed_since = None;
        let frame = tokio::select! {
            () = stop.cancelled() => break,
            _ = pings.tick() => Message::Ping(Default::default()),
            outgoing = inbox.recv() => match outgoing {
                Some(outgoing) => {
                    if matches!(outgoing.message, ServerMessage::Message { .. }) {
                        relayed_since = Some(outgoing.since);
                    }
                    Message::Text(outgoing.message.to_frame().into())
                }
                None => break,
            },
        };
        tokio::select! {
            () = stop.cancelled() => break,
            sent = sink.send(frame) => if sent.is_err() { break },
        }
        if let Some(since) = relayed_since {
            metrics.relay_took(since.elapsed());
        }
    }
    sink
}

/// A text frame as read: what it parsed to, and when it arrived.
struct Arrived {
    parsed: Result<ClientMessage, ErrorCode>,
    at: tokio::time::Instant,
}

/// Reads until the peer's close reply arrives and the stream ends.
async fn finish_close_handshake(stream: &mut SplitStream<WebSocket>) {
    while let Some(Ok(_)) = stream.next().await {}
}

/// What a frame can change: the lobby, the per-network tables, and the
/// operator's records.
#[derive(Clone, Copy)]
struct Keepers<'a> {
    lobby: &'a Lobby,
    gate: &'a Gatekeeper,
    sanctions: &'a Sanctions,
}

/// Acts on one parsed text frame; returns the refusal for the sender, if any.
/// `puzzle` is the bot check this connection has yet to pass, if any.
fn handle_frame(
    keepers: Keepers<'_>,
    stranger: &Stranger,
    puzzle: &mut Option<Puzzle>,
    frame: Arrived,
) -> Option<ErrorCode> {
    let lobby = keepers.lobby;
    let refusal = match frame.parsed {
        Err(code) => code,
        Ok(ClientMessage::Solve { number }) => match puzzle {
            Some(unsolved) if !unsolved.solved_by(number) => ErrorCode::ChallengeFailed,
            _ => {
                *puzzle = None;
                return None;
            }
        },
        Ok(ClientMessage::Join { .. }) if puzzle.is_some() => ErrorCode::ChallengeRequired,
        Ok(ClientMessage::Join { agreed: false, .. }) => ErrorCode::RulesNotAccepted,
        Ok(ClientMessage::Join {
            interests,
            only_shared,
            browser,
            mode,
            agreed: true,
            hide_ip,
        }) => match check_join(&interests, browser.as_deref()) {
            Err(code) => code,
            Ok(()) => {
                let request = JoinRequest {
                    interests,
                    only_shared,
                    browser,
                    mode,
                    hide_ip,
                };
                match lobby.join(stranger.id(), request) {
                    Ok(()) | Err(LobbyError::UnknownStranger) => return None,
                    Err(LobbyError::NotInChat) => ErrorCode::NotInChat,
                    Err(LobbyError::NotInCall) => ErrorCode::NotInCall,
                    Err(LobbyError::TooManyOffers) => ErrorCode::TooManyOffers,
                }
            }
        },
        Ok(ClientMessage::Signal { signal }) => match check_signal(&signal) {
            Err(code) => code,
            Ok(()) => match lobby.signal(stranger.id(), signal) {
                Ok(()) => return None,
                Err(LobbyError::TooManyOffers) => ErrorCode::TooManyOffers,
                Err(_) => ErrorCode::NotInCall,
            },
        },
        Ok(ClientMessage::Typing { typing }) => {
            // A typing notice that crosses the partner's leaving is harmless: drop it.
            let _ = lobby.typing(stranger.id(), typing);
            return None;
        }
        Ok(ClientMessage::Leave {}) => {
            lobby.leave(stranger.id());
            return None;
        }
        Ok(ClientMessage::Report { reason, evidence }) => match check_report(&evidence) {
            Err(code) => code,
            Ok(()) => match lobby.report(stranger.id()) {
                Ok(chat) => {
                    if let (Some(reporter), Some(reported)) = (stranger.address(), chat.reported) {
                        let counts = keepers
                            .gate
                            .limits()
                            .report_counts(chat.facts.lasted, chat.facts.reported_sent);
                        let report =
                            FiledReport::new(reason, evidence, chat.mode, reporter, reported)
                                .counting(counts);
                        keepers.sanctions.file(report);
                    }
                    return None;
                }
                Err(_) => ErrorCode::NotInChat,
            },
        },
        Ok(ClientMessage::Message { text }) => match check_message_text(&text) {
            Err(code) => code,
            Ok(()) => match lobby.say_since(stranger.id(), &text, frame.at) {
                Ok(()) => return None,
                Err(_) => ErrorCode::NotInChat,
            },
        },
    };
    Some(refusal)
}
