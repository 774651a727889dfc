//! One keystroke in a meeting of 50: a writer's typing update is decoded, applied to the
//! meeting's document, appended to the database (SQLite, synchronous commits, as
//! `tutti serve` runs by default; PostgreSQL when `TUTTI_TEST_DATABASE_URL` is set), and
//! framed once and queued to each of 50 participants' outgoing channels, as the room task
//! does. Compaction runs when it falls due, as in a meeting. Besides criterion's mean it
//! prints the 50th and 99th percentile of single keystrokes (the target is a p99 of 2 ms).
//!
//! `cargo bench -p tutti-meetings --bench notes`

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::sync::mpsc;
use tutti_meetings::notes::{self, NotesRoom};
use tutti_store::testing::TestDb;
use yrs::sync::protocol::{Message, SyncMessage};
use yrs::updates::encoder::Encode as _;
use yrs::{
    Doc, ReadTxn as _, Text as _, Transact as _, XmlElementPrelim, XmlFragment as _, XmlTextPrelim,
};

const SUBSCRIBERS: usize = 50;

/// A writer who types one character per update into one paragraph.
struct Typist {
    doc: Doc,
    text: yrs::XmlTextRef,
}

impl Typist {
    fn new() -> (Typist, Vec<u8>) {
        let doc = Doc::with_client_id(7);
        let fragment = doc.get_or_insert_xml_fragment(notes::FRAGMENT);
        let text = {
            let mut txn = doc.transact_mut();
            let p = fragment.push_back(&mut txn, XmlElementPrelim::empty("paragraph"));
            p.push_back(&mut txn, XmlTextPrelim::new(""))
        };
        let first = doc
            .transact()
            .encode_state_as_update_v1(&Default::default());
        let msg = Message::Sync(SyncMessage::Update(first)).encode_v1();
        (Typist { doc, text }, msg)
    }

    fn keystroke(&self, c: char) -> Vec<u8> {
        let before = self.doc.transact().state_vector();
        {
            let mut txn = self.doc.transact_mut();
            let len = self.text.len(&txn);
            self.text.insert(&mut txn, len, c.encode_utf8(&mut [0; 4]));
        }
        let update = self.doc.transact().encode_state_as_update_v1(&before);
        Message::Sync(SyncMessage::Update(update)).encode_v1()
    }
}

static TIMES: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

fn keystroke(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (test, db) = rt.block_on(async {
        let test = TestDb::new().await;
        let db = test.connect().await;
        db.migrate(&[&tutti_meetings::MIGRATIONS]).await.unwrap();
        (test, db)
    });
    let mut room = rt.block_on(NotesRoom::open(&db, "bench")).unwrap();
    let (typist, first) = Typist::new();
    rt.block_on(room.receive(0, &first)).unwrap();
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..SUBSCRIBERS)
        .map(|_| mpsc::unbounded_channel::<std::sync::Arc<[u8]>>())
        .unzip();
    let state = tokio::sync::Mutex::new((room, receivers));

    c.bench_function(
        "notes: apply + store + broadcast one keystroke to 50",
        |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let messages: Vec<Vec<u8>> = (0..iters)
                    .map(|i| typist.keystroke(char::from(b'a' + (i % 26) as u8)))
                    .collect();
                let state = &state;
                let senders = &senders;
                async move {
                    let (room, receivers) = &mut *state.lock().await;
                    let mut total = Duration::ZERO;
                    let mut times = Vec::with_capacity(messages.len());
                    for msg in &messages {
                        let start = Instant::now();
                        let out = room.receive(0, msg).await.unwrap();
                        for m in out.broadcast {
                            let framed: std::sync::Arc<[u8]> = notes::frame(&m).into();
                            for s in senders {
                                s.send(framed.clone()).unwrap();
                            }
                        }
                        let took = start.elapsed();
                        total += took;
                        times.push(took);
                        for r in receivers.iter_mut() {
                            while r.try_recv().is_ok() {}
                        }
                    }
                    TIMES.lock().unwrap().extend(times);
                    total
                }
            })
        },
    );

    let mut times = std::mem::take(&mut *TIMES.lock().unwrap());
    times.sort();
    if !times.is_empty() {
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        eprintln!(
            "notes keystroke over {} samples: p50 {:?}, p99 {:?}, max {:?} (backend {:?})",
            times.len(),
            at(0.5),
            at(0.99),
            times[times.len() - 1],
            db.backend()
        );
    }
    drop(test);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(10));
    targets = keystroke
}
criterion_main!(benches);
