//! The wire format of inbox entries: pairings, bans and relayed messages as
//! Redis stream fields, written by the scripts and by [`super::task`].

use std::collections::HashMap;
use std::time::Duration;

use redis::{RedisResult, Value};

use crate::protocol::{Mode, ServerMessage};
use crate::server::network::AddressKey;
use crate::server::seam::{Match, Outbound};
use crate::server::stranger::StrangerId;

/// Something another instance (or the queue) has to tell one of our strangers.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A waiter of ours was paired.
    Paired(Match),
    /// A message from a partner on another instance.
    Relayed {
        from: StrangerId,
        to: StrangerId,
        message: ServerMessage,
    },
    /// A network is banned for this much longer, on every instance.
    Banned {
        address: AddressKey,
        remaining: Duration,
    },
    /// An operator lifted a network's ban.
    Unbanned { address: AddressKey },
}

/// `messages` as the `lines` of one inbox entry per instance, in order.
pub(super) fn relay_lines(messages: &[Outbound]) -> Vec<(&str, String)> {
    let mut entries: Vec<(&str, String)> = Vec::new();
    for message in messages {
        let at = match entries.iter().position(|(to, _)| *to == message.instance) {
            Some(at) => at,
            None => {
                entries.push((&message.instance, String::new()));
                entries.len() - 1
            }
        };
        let lines = &mut entries[at].1;
        lines.push_str(&format!("{} {} ", message.from, message.to));
        lines.push_str(&message.message.to_frame());
        lines.push('\n');
    }
    entries
}

/// The events in one inbox entry: one, or for relayed messages, one per line.
pub(super) fn parse_entry(fields: &HashMap<String, Value>) -> RedisResult<Vec<Event>> {
    let Some(Value::BulkString(lines)) = fields.get("lines") else {
        return parse_event(fields).map(|event| vec![event]);
    };
    let lines = std::str::from_utf8(lines).map_err(|_| unexpected("relays", &["not UTF-8"]))?;
    let mut events = Vec::new();
    for line in lines.lines() {
        match parse_relayed(line) {
            Some(event) => events.push(event),
            None => tracing::warn!("skipped an unreadable relayed message"),
        }
    }
    Ok(events)
}

/// One line of a `relays` entry: `from to frame`.
pub(super) fn parse_relayed(line: &str) -> Option<Event> {
    let mut parts = line.splitn(3, ' ');
    let (from, to, frame) = (parts.next()?, parts.next()?, parts.next()?);
    Some(Event::Relayed {
        from: from.parse().ok()?,
        to: to.parse().ok()?,
        message: ServerMessage::parse(frame).ok()?,
    })
}

pub(super) fn parse_event(fields: &HashMap<String, Value>) -> RedisResult<Event> {
    let text = |name: &str| -> RedisResult<String> {
        match fields.get(name) {
            Some(value) => redis::from_redis_value(value.clone()).map_err(Into::into),
            None => Err(unexpected("inbox entry", &[name])),
        }
    };
    match text("kind")?.as_str() {
        "paired" => Ok(Event::Paired(Match {
            me: parse_id(&text("to")?)?,
            partner: parse_id(&text("partner")?)?,
            partner_instance: text("partner_instance")?,
            partner_address: text("partner_address")?.parse().ok(),
            mode: if text("mode")? == "video" {
                Mode::Video
            } else {
                Mode::Text
            },
            waited: Duration::from_millis(text("waited")?.parse().unwrap_or(0)),
            partner_waited: Duration::ZERO,
            common_interests: text("common")?
                .split('\n')
                .filter(|i| !i.is_empty())
                .map(str::to_owned)
                .collect(),
            offers: text("offers")? == "1",
        })),
        "unbanned" => Ok(Event::Unbanned {
            address: text("address")?
                .parse()
                .map_err(|_| unexpected("unban", &["address"]))?,
        }),
        "banned" => Ok(Event::Banned {
            address: text("address")?
                .parse()
                .map_err(|_| unexpected("ban", &["address"]))?,
            remaining: Duration::from_millis(text("ms")?.parse().unwrap_or(0)),
        }),
        other => Err(unexpected("inbox entry", &[other])),
    }
}

pub(super) fn parse_id(text: &str) -> RedisResult<StrangerId> {
    text.parse().map_err(|_| unexpected("stranger id", &[text]))
}

pub(super) fn unexpected(what: &str, got: &[impl AsRef<str>]) -> redis::RedisError {
    let got: Vec<&str> = got.iter().map(AsRef::as_ref).collect();
    redis::RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "unexpected reply from Redis",
        format!("{what}: {got:?}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(lines: &str) -> HashMap<String, Value> {
        HashMap::from([
            ("kind".into(), Value::BulkString(b"relays".to_vec())),
            ("lines".into(), Value::BulkString(lines.as_bytes().to_vec())),
        ])
    }

    #[test]
    fn relayed_messages_travel_one_entry_per_instance_in_order_whatever_their_text() {
        let (alice, bob, carol) = (StrangerId::new(), StrangerId::new(), StrangerId::new());
        let say = |to: StrangerId, instance: &str, text: &str| Outbound {
            instance: instance.into(),
            from: alice,
            to,
            message: ServerMessage::Message { text: text.into() },
        };
        let tricky = "two\nlines, \r\n spaces  and \u{2028} and a \"quote\"";
        let messages = [
            say(bob, "b", "first"),
            say(carol, "c", "elsewhere"),
            say(bob, "b", tricky),
            say(bob, "b", ""),
        ];
        let entries = relay_lines(&messages);
        assert_eq!(entries.iter().map(|e| e.0).collect::<Vec<_>>(), ["b", "c"]);
        let told_b = parse_entry(&entry(&entries[0].1)).unwrap();
        let expected: Vec<Event> = [&messages[0], &messages[2], &messages[3]]
            .into_iter()
            .map(|m| Event::Relayed {
                from: m.from,
                to: m.to,
                message: m.message.clone(),
            })
            .collect();
        assert_eq!(told_b, expected);
        assert_eq!(parse_entry(&entry(&entries[1].1)).unwrap().len(), 1);
    }

    #[test]
    fn an_unreadable_relayed_line_costs_only_itself() {
        let (a, b) = (StrangerId::new(), StrangerId::new());
        let good = format!("{a} {b} {}", ServerMessage::StrangerLeft.to_frame());
        let lines = format!("garbage\n{a} not-an-id {{}}\n{good}\n{a} {b} {{\"type\":\"nope\"}}\n");
        assert_eq!(
            parse_entry(&entry(&lines)).unwrap(),
            [Event::Relayed {
                from: a,
                to: b,
                message: ServerMessage::StrangerLeft
            }]
        );
    }
}
