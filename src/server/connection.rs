//! One stranger's WebSocket connection: one task that reads frames into the
//! lobby, writes what the bounded outbox holds, and pings the browser.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{self, Message, protocol::CloseFrame};

use super::AppState;
use super::challenge::Puzzle;
use super::flood::{FloodGuard, Frame, Verdict};
use super::handshake::ChatSocket;
use super::lobby::{JoinKind, JoinRequest, Lobby, LobbyError};
use super::metrics::{DisconnectReason as Ending, Metrics, RejectionReason};
use super::moderation::{FiledReport, ReportedLine};
use super::network::BANNED_REASON;
use super::network::{Admission, Gatekeeper};
use super::sanctions::Sanctions;
use super::stranger::{Inbox, Kick, OUTBOX_CAPACITY, Outgoing, Stranger, outbox};
use crate::protocol::{
    ClientMessage, ErrorCode, EvidenceLine, ReportReason, ServerMessage, check_join, check_key,
    check_language, check_message_text, check_question_mode, check_report, check_sealed,
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
    mut socket: ChatSocket,
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
    let (outbox, mut inbox) = outbox(OUTBOX_CAPACITY);
    // Cancelled when the server shuts down too: one token for the loop to watch.
    let kick = shutdown.child_token();
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

    let mut flood = FloodGuard::new(
        settings.message_rate,
        settings.typing_rate,
        settings.signal_rate,
        tokio::time::Instant::now(),
    );
    // Only what the chat needs is kept for it (not all the settings).
    let (ping_interval, pong_timeout) = (settings.ping_interval, settings.pong_timeout);
    drop(settings);
    // The block uses what it captured where it lies: rebinding a capture
    // (`let mut socket = socket;`) would keep two copies in the future's state.
    // `admission` holds this connection's place in its network's limits until
    // the block ends.
    async move {
        // Anything from the browser, a pong included, shows it is still there.
        // Every `ping_interval` the browser is pinged (and has been silent too
        // long if it did not answer the last one), so a live browser is heard
        // from at least that often, even while it waits quietly for a partner.
        // One timer for both: it wakes for the next ping or for the moment the
        // silence would become too long, whichever comes first.
        let silence_limit = ping_interval + pong_timeout;
        let mut last_heard = tokio::time::Instant::now();
        let mut last_ping = last_heard;
        let heartbeat = tokio::time::sleep_until(last_ping + ping_interval);
        tokio::pin!(heartbeat);

        let keepers = Keepers {
            lobby: &lobby,
            gate: &gate,
            sanctions: &sanctions,
        };
        let kicked = kick.cancelled();
        tokio::pin!(kicked);
        let ending = loop {
            tokio::select! {
                frame = socket.next() => {
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
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_))) => {}
                    Some(Err(_)) | None => break Ending::ClientGone,
                }},
                outgoing = inbox.recv() => {
                    // This task holds a handle, so the outbox stays open.
                    let Some(first) = outgoing else { break Ending::ClientGone };
                    // Biased: the write goes first, so what it took from the
                    // outbox reaches the socket's buffer even if a kick came too.
                    tokio::select! {
                        biased;
                        written = write_queued(&mut socket, first, &mut inbox, &metrics) => {
                            if written.is_err() {
                                break Ending::ClientGone;
                            }
                        }
                        () = kick.cancelled() => {}
                    }
                }
                () = &mut heartbeat => {
                    let now = tokio::time::Instant::now();
                    if now >= last_heard + silence_limit {
                        break Ending::Unresponsive;
                    }
                    let ping_due = now >= last_ping + ping_interval;
                    if ping_due {
                        last_ping = now;
                    }
                    let next = (last_ping + ping_interval).min(last_heard + silence_limit);
                    heartbeat.as_mut().reset(next);
                    if ping_due {
                        tokio::select! {
                            biased;
                            sent = socket.send(Message::Ping(Default::default())) => {
                                if sent.is_err() {
                                    break Ending::ClientGone;
                                }
                            }
                            () = kick.cancelled() => {}
                        }
                    }
                }
                () = &mut kicked => match stranger.kicked_for() {
                    Some(Kick::Banned) => break Ending::Banned,
                    Some(Kick::TooSlow) => break Ending::TooSlow,
                    None => break Ending::Shutdown,
                },
            }
        };

        lobby.depart(id);
        metrics.disconnected(ending);
        if ending == Ending::Flooding {
            gate.suspect(admission.address(), tokio::time::Instant::now());
        }
        // The lobby has dropped its handle; with ours gone, nothing more arrives.
        drop(stranger);
        tracing::debug!(stranger = %id, ?ending, "disconnected");

        let farewell = match ending {
            Ending::ClientGone => return,
            // It is not reading: what it owes is not sent.
            Ending::TooSlow => Farewell::Now(CLOSE_POLICY, "Too many unread messages"),
            Ending::Unresponsive => Farewell::Now(CLOSE_GOING_AWAY, "No answer to pings"),
            Ending::Flooding => Farewell::AfterOutbox(CLOSE_POLICY, "Too many messages, too fast"),
            // The ban notice is in the outbox: it goes out first.
            Ending::Banned => Farewell::AfterOutbox(CLOSE_POLICY, BANNED_REASON),
            Ending::Shutdown => Farewell::AfterOutbox(
                CLOSE_GOING_AWAY,
                "The server is restarting, please reconnect",
            ),
        };
        // Boxed: only a connection the server ends needs this, and unboxed its
        // state would sit in every connection's future from the start.
        Box::pin(say_goodbye(socket, inbox, farewell, metrics)).await;
    }
}

/// Sends `farewell`, then waits for the browser's close reply, within
/// [`CLOSE_TIMEOUT`] in all.
async fn say_goodbye(
    mut socket: ChatSocket,
    mut inbox: Inbox,
    farewell: Farewell,
    metrics: std::sync::Arc<Metrics>,
) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async move {
        let (code, reason) = match farewell {
            Farewell::Now(code, reason) => (code, reason),
            Farewell::AfterOutbox(code, reason) => {
                while let Some(outgoing) = inbox.try_take() {
                    if write_queued(&mut socket, outgoing, &mut inbox, &metrics)
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                (code, reason)
            }
        };
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        let _ = socket.send(Message::Close(Some(frame))).await;
        finish_close_handshake(&mut socket).await;
    })
    .await;
}

/// How a connection the server ends says goodbye: a close frame with a code
/// and reason, sent at once or after what is still queued for it.
enum Farewell {
    Now(u16, &'static str),
    AfterOutbox(u16, &'static str),
}

/// The most queued messages written with one flush.
const WRITE_BATCH: usize = 32;

/// Writes `first` and whatever else is already queued behind it (up to
/// [`WRITE_BATCH`]) with one flush: a welcome and its online count, or a
/// partner's leaving and the next pairing, cost one write to the socket
/// instead of one each.
async fn write_queued(
    socket: &mut ChatSocket,
    first: Outgoing,
    inbox: &mut Inbox,
    metrics: &Metrics,
) -> Result<(), tungstenite::Error> {
    // When each relayed chat message reached the server; allocated only for those.
    let mut relayed = Vec::new();
    let mut next = Some(first);
    let mut written = 0;
    while let Some(outgoing) = next {
        if matches!(
            outgoing.message,
            ServerMessage::Message { .. } | ServerMessage::Sealed { .. }
        ) {
            relayed.push(outgoing.since);
        }
        socket
            .feed(Message::text(outgoing.message.to_frame()))
            .await?;
        written += 1;
        next = if written < WRITE_BATCH {
            inbox.try_take()
        } else {
            None
        };
    }
    socket.flush().await?;
    for since in relayed {
        metrics.relay_took(since.elapsed());
    }
    Ok(())
}

/// A text frame as read: what it parsed to, and when it arrived.
struct Arrived {
    parsed: Result<ClientMessage, ErrorCode>,
    at: tokio::time::Instant,
}

/// Reads until the peer's close reply arrives and the stream ends.
async fn finish_close_handshake(socket: &mut ChatSocket) {
    while let Some(Ok(_)) = socket.next().await {}
}

/// What a frame can change: the lobby, the per-network tables, and the
/// operator's records.
#[derive(Clone, Copy)]
struct Keepers<'a> {
    lobby: &'a Lobby,
    gate: &'a Gatekeeper,
    sanctions: &'a Sanctions,
}

/// `stranger` reports their partner with `evidence`: the lines the server
/// can confirm are marked so (see [`super::franking`]), the chat ends, and the
/// report goes to the operator and counts toward a ban.
fn file_report(
    keepers: Keepers<'_>,
    stranger: &Stranger,
    reason: ReportReason,
    evidence: Vec<EvidenceLine>,
) -> Result<(), LobbyError> {
    let verified = keepers.lobby.verify_evidence(stranger.id(), &evidence);
    let chat = keepers.lobby.report(stranger.id())?;
    if let (Some(reporter), Some(reported)) = (stranger.address(), chat.reported) {
        let counts = keepers
            .gate
            .limits()
            .report_counts(chat.facts.lasted, chat.facts.reported_sent);
        let evidence = ReportedLine::from_evidence(evidence, &verified);
        let report =
            FiledReport::new(reason, evidence, chat.mode, reporter, reported).counting(counts);
        keepers.sanctions.file(report);
    }
    Ok(())
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
            question,
            discuss,
            language,
        }) => match check_join(&interests, browser.as_deref())
            .and_then(|()| language.as_deref().map_or(Ok(()), check_language))
            .and_then(|()| check_question_mode(question.as_deref(), discuss, mode))
        {
            Err(code) => code,
            Ok(()) => {
                let kind = match (question, discuss) {
                    (Some(question), _) => JoinKind::Ask(question),
                    (None, true) => JoinKind::Discuss,
                    (None, false) => JoinKind::Chat,
                };
                let request = JoinRequest {
                    interests,
                    only_shared,
                    browser,
                    mode,
                    hide_ip,
                    kind,
                    language,
                };
                match lobby.join(stranger.id(), request) {
                    Ok(()) | Err(LobbyError::UnknownStranger) => return None,
                    Err(error) => ErrorCode::from(error),
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
            Ok(()) => match file_report(keepers, stranger, reason, evidence) {
                Ok(()) => return None,
                Err(error) => ErrorCode::from(error),
            },
        },
        Ok(ClientMessage::Key { key }) => match check_key(&key) {
            Err(code) => code,
            Ok(()) => match lobby.offer_key(stranger.id(), &key) {
                Ok(()) => return None,
                Err(error) => ErrorCode::from(error),
            },
        },
        Ok(ClientMessage::Sealed { data, commitment }) => match check_sealed(&data, &commitment) {
            Err(code) => code,
            Ok(()) => match lobby.say_sealed(stranger.id(), &data, &commitment, frame.at) {
                Ok(()) => return None,
                Err(error) => ErrorCode::from(error),
            },
        },
        Ok(ClientMessage::Message { text }) => match check_message_text(&text) {
            Err(code) => code,
            Ok(()) => match lobby.say_since(stranger.id(), &text, frame.at) {
                Ok(()) => return None,
                Err(error) => ErrorCode::from(error),
            },
        },
    };
    Some(refusal)
}
