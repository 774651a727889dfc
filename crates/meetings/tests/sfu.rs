//! The SFU forwarding media between str0m clients over loopback: every test here fails
//! if frames stop reaching the right people.

use std::time::Duration;

use tutti_meetings::sfu::client::{ClientOptions, LAYER_HIGH, LAYER_LOW, TestClient};
use tutti_meetings::sfu::{Layer, SfuHandle, SfuSettings};

const WAIT: Duration = Duration::from_secs(20);

async fn sfu() -> SfuHandle {
    SfuHandle::start(&SfuSettings::default())
        .await
        .expect("sfu starts")
}

async fn join(sfu: &SfuHandle, room: &str, id: u64, options: ClientOptions) -> TestClient {
    TestClient::join(sfu, room, id, options)
        .await
        .expect("client joins")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_participants_receive_each_others_audio_and_video_and_mute_stops_audio() {
    let sfu = sfu().await;
    let a = join(&sfu, "room-1", 1, ClientOptions::default()).await;
    let b = join(&sfu, "room-1", 2, ClientOptions::default()).await;
    let c = join(&sfu, "room-1", 3, ClientOptions::default()).await;
    let clients = [&a, &b, &c];
    for me in clients {
        let others: Vec<u64> = clients
            .iter()
            .map(|c| c.id)
            .filter(|id| *id != me.id)
            .collect();
        let ok = me
            .wait_for(WAIT, |s| {
                others
                    .iter()
                    .all(|o| s.audio_from(*o) >= 20 && s.video_from(*o) >= 10)
            })
            .await;
        assert!(ok, "participant {} got {:?}", me.id, me.stats());
        assert_eq!(
            me.stats().misrouted,
            0,
            "frames on the wrong track at {}",
            me.id
        );
        assert_eq!(me.stats().audio_from(me.id), 0, "nobody hears themselves");
    }
    let stats = sfu.stats().await.unwrap();
    assert_eq!(stats.rooms, 1);
    assert_eq!(stats.published_tracks, 6);
    assert_eq!(stats.forwarded_tracks, 12);

    // Everyone sends audio at -30 dBov, so the SFU says everyone speaks.
    assert!(
        a.wait_for(WAIT, |s| s.speaking).await,
        "no speaking indicator"
    );

    // The host mutes participant 1: its audio stops at both others, its video goes on,
    // and it no longer shows as speaking.
    sfu.set_muted(1, true, false).await.unwrap();
    assert!(
        a.wait_for(WAIT, |s| !s.speaking).await,
        "a muted participant still speaks"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_b = b.stats();
    let before_c = c.stats();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        b.stats().audio_from(1),
        before_b.audio_from(1),
        "muted audio still reaches 2"
    );
    assert_eq!(
        c.stats().audio_from(1),
        before_c.audio_from(1),
        "muted audio still reaches 3"
    );
    assert!(
        b.stats().video_from(1) > before_b.video_from(1),
        "video of a muted participant stopped"
    );
    assert!(
        b.stats().audio_from(3) > before_b.audio_from(3),
        "unmuted audio stopped"
    );

    // Unmuting brings it back.
    sfu.set_muted(1, false, false).await.unwrap();
    let from = b.stats().audio_from(1);
    assert!(b.wait_for(WAIT, |s| s.audio_from(1) > from + 10).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_are_apart_and_a_room_goes_with_its_last_participant() {
    let sfu = sfu().await;
    let a = join(&sfu, "room-a", 11, ClientOptions::default()).await;
    let b = join(&sfu, "room-a", 12, ClientOptions::default()).await;
    let x = join(&sfu, "room-b", 21, ClientOptions::default()).await;
    let y = join(&sfu, "room-b", 22, ClientOptions::default()).await;
    assert!(
        a.wait_for(WAIT, |s| s.audio_from(12) >= 20 && s.video_from(12) >= 10)
            .await
    );
    assert!(
        x.wait_for(WAIT, |s| s.audio_from(22) >= 20 && s.video_from(22) >= 10)
            .await
    );
    for (c, strangers) in [
        (&a, [21, 22]),
        (&b, [21, 22]),
        (&x, [11, 12]),
        (&y, [11, 12]),
    ] {
        let s = c.stats();
        for st in strangers {
            assert_eq!(
                s.audio_from(st) + s.video_from(st),
                0,
                "{} heard {st} from another room",
                c.id
            );
        }
    }

    // Leaving frees the participant's state; the room goes with the last one.
    b.close().await;
    sfu.leave(12).await;
    assert_eq!(sfu.room_size("room-a").await.unwrap(), 1);
    a.close().await;
    sfu.leave(11).await;
    assert_eq!(sfu.room_size("room-a").await.unwrap(), 0);
    let stats = sfu.stats().await.unwrap();
    assert_eq!(stats.rooms, 1);
    assert_eq!(stats.participants, 2);
    assert_eq!(
        stats.forwarded_tracks, 4,
        "room b still forwards its 2×2 tracks"
    );
    // The same id can come back.
    let again = join(&sfu, "room-b", 12, ClientOptions::default()).await;
    assert!(again.wait_for(WAIT, |s| s.video_from(21) >= 5).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_asks_for_the_low_layer_gets_only_low_packets() {
    let sfu = sfu().await;
    let publisher = join(&sfu, "room-s", 31, ClientOptions::default()).await;
    let high = join(&sfu, "room-s", 32, ClientOptions::default()).await;
    let low = join(&sfu, "room-s", 33, ClientOptions::default()).await;
    sfu.set_preferred_layer(33, 31, Layer::Low).await.unwrap();
    assert!(
        low.wait_for(WAIT, |s| s.video_layer(31, LAYER_LOW) >= 20)
            .await,
        "{:?}",
        low.stats()
    );
    assert!(
        high.wait_for(WAIT, |s| s.video_layer(31, LAYER_HIGH) >= 20)
            .await,
        "{:?}",
        high.stats()
    );
    // Once on the low layer, the low subscriber never gets high frames, and the other
    // never gets low ones.
    let low_before = low.stats().video_layer(31, LAYER_HIGH);
    let high_before = high.stats().video_layer(31, LAYER_LOW);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(low.stats().video_layer(31, LAYER_HIGH), low_before);
    assert_eq!(high.stats().video_layer(31, LAYER_LOW), high_before);
    assert_eq!(high_before, 0, "the high subscriber got low frames");
    drop(publisher);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_on_ice_tcp_still_receives_and_is_heard() {
    let sfu = sfu().await;
    let udp = join(&sfu, "room-t", 41, ClientOptions::default()).await;
    let tcp = join(
        &sfu,
        "room-t",
        42,
        ClientOptions {
            tcp: true,
            ..ClientOptions::default()
        },
    )
    .await;
    assert!(
        tcp.wait_for(WAIT, |s| s.audio_from(41) >= 20 && s.video_from(41) >= 10)
            .await,
        "{:?}",
        tcp.stats()
    );
    assert!(
        udp.wait_for(WAIT, |s| s.audio_from(42) >= 20 && s.video_from(42) >= 10)
            .await,
        "{:?}",
        udp.stats()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_restart_keeps_media_flowing() {
    let sfu = sfu().await;
    let a = join(&sfu, "room-i", 51, ClientOptions::default()).await;
    let b = join(&sfu, "room-i", 52, ClientOptions::default()).await;
    assert!(b.wait_for(WAIT, |s| s.video_from(51) >= 10).await);
    a.restart_ice();
    assert!(
        a.wait_for(WAIT, |s| s.ice_restarts == 1).await,
        "the re-offer was refused"
    );
    let before = b.stats().video_from(51);
    let heard = a.stats().audio_from(52);
    assert!(
        b.wait_for(WAIT, |s| s.video_from(51) >= before + 20).await,
        "{:?}",
        b.stats()
    );
    assert!(
        a.wait_for(WAIT, |s| s.audio_from(52) >= heard + 20).await,
        "{:?}",
        a.stats()
    );
}
