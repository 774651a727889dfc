//! Large blobs written as streams and in resumable parts, on a local folder by default and
//! on S3 when `TUTTI_TEST_BLOB_URL` names one: the checksum is computed on the way, a
//! mismatch or a broken stream leaves nothing behind, and parts written by one handle are
//! joined by another (as another node would).

use bytes::Bytes;
use futures::stream;
use sha2::{Digest, Sha256};
use tutti_store::blobs::PartsKind;
use tutti_store::testing::TestBlobs;
use tutti_store::{Checksum, StoreError};

const MIB: usize = 1024 * 1024;

fn data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// The data as a stream of uneven pieces, as a request body arrives.
fn pieces(data: &[u8]) -> Vec<Result<Bytes, std::io::Error>> {
    data.chunks(300_007)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect()
}

#[tokio::test]
async fn a_stream_is_stored_with_its_sha256_and_checked_against_the_expected_one() {
    let test = TestBlobs::new();
    let blobs = test.open();
    let body = data(20 * MIB + 11);
    let digest: [u8; 32] = Sha256::digest(&body).into();

    let stored = blobs
        .put_stream(
            "music/master.flac",
            stream::iter(pieces(&body)),
            Some(Checksum::Sha256(digest)),
        )
        .await
        .unwrap();
    assert_eq!(stored.size, body.len() as u64);
    assert_eq!(stored.sha256, hex::encode(digest));
    assert!(blobs.get("music/master.flac").await.unwrap() == body);

    let unchecked = blobs
        .put_stream("music/empty", stream::iter(pieces(&[])), None)
        .await
        .unwrap();
    assert_eq!(unchecked.size, 0);
    assert_eq!(unchecked.sha256, hex::encode(Sha256::digest(b"")));

    let wrong = Checksum::sha256_hex(&"0".repeat(64)).unwrap();
    let err = blobs
        .put_stream("music/bad.flac", stream::iter(pieces(&body)), Some(wrong))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ChecksumMismatch { .. }), "{err}");
    assert_eq!(
        blobs.size("music/bad.flac").await.unwrap(),
        None,
        "nothing kept"
    );

    let mut broken = pieces(&body[..9 * MIB]);
    broken.push(Err(std::io::Error::other("connection reset")));
    let err = blobs
        .put_stream("music/cut.flac", stream::iter(broken), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Incoming(_)), "{err}");
    assert_eq!(
        blobs.size("music/cut.flac").await.unwrap(),
        None,
        "nothing kept"
    );
}

#[tokio::test]
async fn parts_written_through_one_handle_are_joined_through_another() {
    let test = TestBlobs::new();
    let first = test.open();
    let body = data(11 * MIB + 5);
    let key = "uploads/files/joined";
    let id = first.parts_begin(key).await.unwrap();
    match first.parts_kind().unwrap() {
        PartsKind::Multipart => {
            let a = Bytes::copy_from_slice(&body[..6 * MIB]);
            let b = Bytes::copy_from_slice(&body[6 * MIB..]);
            let tag_a = first.parts_put(key, &id, 0, vec![a]).await.unwrap();
            // Another handle (another node) continues from the stored tags.
            let second = test.open();
            let (b1, b2) = (b.slice(..MIB), b.slice(MIB..));
            let tag_b = second.parts_put(key, &id, 1, vec![b1, b2]).await.unwrap();
            second
                .parts_complete(key, &id, vec![tag_a, tag_b])
                .await
                .unwrap();
        }
        PartsKind::File => {
            let mut file = first.append_open(&id, 0).await.unwrap();
            file.write(Bytes::copy_from_slice(&body[..5 * MIB]))
                .await
                .unwrap();
            assert_eq!(file.sync().await.unwrap(), 5 * MIB as u64);
            file.write(Bytes::from_static(b"bytes nobody acknowledged"))
                .await
                .unwrap();
            drop(file);
            // Reopened at the durable offset, the unacknowledged bytes are cut off.
            let second = test.open();
            let mut file = second.append_open(&id, 5 * MIB as u64).await.unwrap();
            file.write(Bytes::copy_from_slice(&body[5 * MIB..]))
                .await
                .unwrap();
            file.sync().await.unwrap();
            second.parts_complete(key, &id, Vec::new()).await.unwrap();
        }
    }
    let joined = first.get(key).await.unwrap();
    assert!(
        joined == body,
        "the joined blob differs from what was written"
    );

    let abandoned = first.parts_begin("uploads/files/abandoned").await.unwrap();
    first
        .parts_abort("uploads/files/abandoned", &abandoned)
        .await
        .unwrap();
    first
        .parts_abort("uploads/files/abandoned", &abandoned)
        .await
        .expect("aborting twice is not an error");
    assert_eq!(first.size("uploads/files/abandoned").await.unwrap(), None);
}
