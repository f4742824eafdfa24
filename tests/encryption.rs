//! End-to-end encrypted chats, through real sockets: the server passes keys
//! once a chat and never in question mode, relays sealed messages as they are
//! with its franking stamp, and a report of a sealed line is verified only if
//! the reported stranger really sent exactly that line in that chat.
#![cfg(feature = "ssr")]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Client, TestServer, paired};
use strangers::protocol::{
    Author, COMMITMENT_CHARS, ClientMessage, ErrorCode, EvidenceLine, ReportReason, ServerMessage,
};
use strangers::server::franking;
use strangers::server::moderation::ReportedLine;

/// A sealed message as a browser makes it, standing in for ciphertext: the
/// server never looks inside. Returns it with its franking key.
fn sealed(text: &str, franking_key: [u8; 32]) -> ClientMessage {
    ClientMessage::Sealed {
        data: URL_SAFE_NO_PAD.encode(format!("ciphertext of {}", text.len())),
        commitment: franking::commit(&franking_key, text),
    }
}

/// What `client` hears next, as the sealed message it must be: (data, commitment, stamp).
async fn hear_sealed(client: &mut Client) -> (String, String, String) {
    match client.recv().await {
        ServerMessage::Sealed {
            data,
            commitment,
            stamp,
        } => (data, commitment, stamp),
        other => panic!("expected a sealed message, got {other:?}"),
    }
}

/// A report's line with its franking proof, as the reporter's browser sends it.
fn proven(text: &str, franking_key: [u8; 32], commitment: &str, stamp: &str) -> EvidenceLine {
    EvidenceLine {
        from: Author::Stranger,
        text: text.into(),
        franking: Some(format!(
            "{}.{commitment}.{stamp}",
            URL_SAFE_NO_PAD.encode(franking_key)
        )),
    }
}

#[tokio::test]
async fn keys_pass_once_a_chat_and_sealed_messages_arrive_as_sent_and_stamped() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = server.pair().await;
    alice
        .send(&ClientMessage::Key {
            key: "BPublicKeyOfAlice".into(),
        })
        .await;
    bob.expect(ServerMessage::Key {
        key: "BPublicKeyOfAlice".into(),
    })
    .await;
    alice
        .send(&ClientMessage::Key {
            key: "BSwappedKey".into(),
        })
        .await;
    alice
        .expect(ServerMessage::error(ErrorCode::NotSealable))
        .await;

    let message = sealed("hello", [1; 32]);
    alice.send(&message).await;
    let (data, commitment, stamp) = hear_sealed(&mut bob).await;
    let ClientMessage::Sealed {
        data: sent_data,
        commitment: sent_commitment,
    } = message
    else {
        unreachable!()
    };
    assert_eq!((data, commitment), (sent_data, sent_commitment));
    assert_eq!(stamp.len(), COMMITMENT_CHARS, "stamped by the server");

    for junk in [
        r#"{"type":"sealed","data":"not base64!","commitment":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
        r#"{"type":"sealed","data":"QUJD","commitment":"short"}"#,
        r#"{"type":"key","key":""}"#,
    ] {
        alice.send_raw(junk).await;
        alice
            .expect(ServerMessage::error(ErrorCode::BadSealed))
            .await;
    }
    bob.expect_silence().await;
}

#[tokio::test]
async fn question_mode_is_never_sealed() {
    let server = TestServer::start().await;
    let mut asker = server.client().await;
    let mut one = server.client().await;
    let mut two = server.client().await;
    for discusser in [&mut one, &mut two] {
        discusser.send(&ClientMessage::discuss_questions()).await;
        discusser.expect(ServerMessage::Waiting).await;
    }
    asker.send(&ClientMessage::ask("Cats or dogs?")).await;
    for member in [&mut asker, &mut one, &mut two] {
        member.expect(paired()).await;
        let _question = member.recv().await;
    }
    one.send(&ClientMessage::Key { key: "BKey".into() }).await;
    one.expect(ServerMessage::error(ErrorCode::NotSealable))
        .await;
    one.send(&sealed("dogs", [2; 32])).await;
    one.expect(ServerMessage::error(ErrorCode::NotSealable))
        .await;
    asker.expect_silence().await;
    two.expect_silence().await;
}

#[tokio::test]
async fn a_reported_sealed_line_is_verified_only_if_the_stranger_sent_exactly_it() {
    let server = TestServer::start().await;
    // An earlier chat of the troll's, whose stamped line the reporter will
    // try to pass off as said in theirs.
    let (mut troll, mut earlier) = server.pair().await;
    troll.send(&sealed("you are an idiot", [3; 32])).await;
    let (_, earlier_commitment, earlier_stamp) = hear_sealed(&mut earlier).await;
    troll.send(&ClientMessage::Leave {}).await;
    earlier.expect(ServerMessage::StrangerLeft).await;

    let mut reporter = server.client().await;
    troll.send(&ClientMessage::join_anyone()).await;
    troll.expect(ServerMessage::Waiting).await;
    reporter.send(&ClientMessage::join_anyone()).await;
    troll.expect(paired()).await;
    reporter.expect(paired()).await;
    troll.send(&sealed("send me a photo", [4; 32])).await;
    let (_, commitment, stamp) = hear_sealed(&mut reporter).await;
    // The reporter's own line, sealed to the troll: stamped for the troll only.
    reporter.send(&sealed("no", [5; 32])).await;
    let (_, own_commitment, own_stamp) = hear_sealed(&mut troll).await;

    let evidence = vec![
        proven("send me a photo", [4; 32], &commitment, &stamp),
        proven("send me your address", [4; 32], &commitment, &stamp),
        proven(
            "you are an idiot",
            [3; 32],
            &earlier_commitment,
            &earlier_stamp,
        ),
        proven("no", [5; 32], &own_commitment, &own_stamp),
        EvidenceLine {
            from: Author::Stranger,
            text: "sent unsealed".into(),
            franking: None,
        },
    ];
    reporter
        .send(&ClientMessage::Report {
            reason: ReportReason::Harassment,
            evidence,
        })
        .await;
    troll.expect(ServerMessage::StrangerLeft).await;

    let reports = server.filed_reports().await;
    let checked: Vec<(&str, bool)> = reports[0]
        .evidence
        .iter()
        .map(|line: &ReportedLine| (line.text.as_str(), line.verified))
        .collect();
    assert_eq!(
        checked,
        [
            ("send me a photo", true),
            ("send me your address", false),
            ("you are an idiot", false),
            ("no", false),
            ("sent unsealed", false),
        ],
        "only the line the troll sealed in this chat is confirmed"
    );
}
