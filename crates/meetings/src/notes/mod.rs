//! A meeting's live notes: one Yjs document per meeting, written together in the browser
//! (ProseMirror bound to Yjs by y-prosemirror) and kept on the server by `yrs`, which
//! speaks the same sync and awareness protocol (y-protocols) as the browser.
//!
//! [`NotesRoom`] is the document of one live meeting. It knows no transport: the
//! meeting's room task owns it, hands it each notes frame a participant sends and
//! delivers what it returns. Every document update is appended to the database before
//! [`NotesRoom::receive`] returns, so nothing the server forwarded or acknowledged is
//! lost; the updates are folded into one snapshot now and then ([`COMPACT_AFTER`], and
//! [`NotesRoom::close`]). [`markdown`] and [`html`] export the stored document, and
//! [`forget`] removes it with its meeting.
//!
//! # Wire format (part of the meeting's WebSocket protocol)
//!
//! A notes frame is a **binary** WebSocket frame whose first byte is [`FRAME_TAG`]
//! (`0x59`, ASCII `Y`), followed by exactly **one** y-protocols message. The room task
//! strips the tag before [`NotesRoom::receive`] and puts it back ([`frame`]) on what it
//! sends; everything else on the socket is JSON text frames. The message uses lib0's
//! version 1 encoding (`varUint`: unsigned LEB128; `varBytes`: a `varUint` length, then
//! the bytes; `varString`: `varBytes` of UTF-8):
//!
//! | first `varUint` | then | meaning |
//! | --- | --- | --- |
//! | `0` sync | `0`, `varBytes` state vector | sync step 1: "send me what I lack" |
//! | `0` sync | `1`, `varBytes` update | sync step 2: the answer to a step 1 |
//! | `0` sync | `2`, `varBytes` update | an edit |
//! | `1` awareness | `varBytes` of `varUint` n, then n × (`varUint` client id, `varUint` clock, `varString` JSON state, `null` when gone) | who is here, their name, colour and cursor |
//! | `3` awareness query | nothing | "send me everyone's awareness" |
//!
//! Updates are Yjs updates in the v1 encoding. Message type `2` (auth) and any other type
//! are refused. A frame holds at most [`MAX_MESSAGE`] bytes ([`MAX_AWARENESS`] for
//! awareness).
//!
//! The exchange: when a participant joins, the server sends [`NotesRoom::greet`] (its
//! step 1 and the current awareness); the browser sends its own step 1 and awareness.
//! Each side answers a step 1 with a step 2, and from then on sends its edits as
//! updates. The server forwards every update (after storing it) and every awareness
//! change to everyone else in the meeting, and when someone leaves it sends the removal
//! of their awareness ([`NotesRoom::leave`]). The document itself is the y-prosemirror
//! `XmlFragment` named [`FRAGMENT`]; its node and mark names are those of
//! `assets/meetings-notes.js`'s schema, which [`export`] reads.

pub mod db;
pub mod export;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use tutti_store::{Db, StoreError};
use yrs::encoding::read::{Cursor, Read as _};
use yrs::sync::protocol::{Message, SyncMessage};
use yrs::sync::{Awareness, AwarenessUpdate};
use yrs::updates::decoder::{Decode as _, DecoderV1};
use yrs::updates::encoder::Encode as _;
use yrs::{ClientID, Doc, ReadTxn as _, StateVector, Transact as _, Update};

/// The first byte of a notes frame on the meeting's WebSocket.
pub const FRAME_TAG: u8 = b'Y';

/// The largest notes message taken: a big paste fits, a runaway client does not.
pub const MAX_MESSAGE: usize = 1 << 20;

/// The largest awareness message taken: a name, a colour and a cursor are well under it.
pub const MAX_AWARENESS: usize = 16 << 10;

/// Awareness entries one connection may speak for (a browser tab has one document; a few
/// more cover a page that remounted its editor).
pub const MAX_AWARENESS_PER_CLIENT: usize = 4;

/// Updates stored after the snapshot before they are folded into a new one, so opening a
/// meeting's notes replays at most this many.
pub const COMPACT_AFTER: usize = 256;

/// The name of the document's root, y-prosemirror's default.
pub const FRAGMENT: &str = "prosemirror";

/// A notes message with the tag that marks it on the meeting's WebSocket.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 1);
    out.push(FRAME_TAG);
    out.extend_from_slice(message);
    out
}

/// The notes message inside a binary frame, or `None` when the frame is not a notes frame.
pub fn unframe(frame: &[u8]) -> Option<&[u8]> {
    frame.strip_prefix(&[FRAME_TAG])
}

#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    /// The bytes are not one y-protocols message carrying a valid Yjs update or awareness
    /// state; nothing was changed.
    #[error("the notes message could not be read: {0}")]
    Malformed(String),
    /// A message type the server does not take from a client; nothing was changed.
    #[error(
        "notes messages of type {0} are not accepted (only sync, awareness and awareness queries)"
    )]
    Unsupported(u8),
    #[error("the notes message is {size} bytes; at most {limit} are accepted")]
    TooLarge { size: usize, limit: usize },
    /// The database refused or failed; what the message carried was not kept.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored row does not decode; the meeting's notes cannot be opened until it is
    /// repaired (nothing is dropped silently).
    #[error("the stored notes of meeting {meeting_id} are damaged at update {seq}: {reason}")]
    Corrupt {
        meeting_id: String,
        seq: i64,
        reason: String,
    },
}

impl From<sqlx::Error> for NotesError {
    fn from(e: sqlx::Error) -> Self {
        NotesError::Store(StoreError::Database(e))
    }
}

impl NotesError {
    /// Whether the participant's message was at fault (the room may tell them and carry
    /// on), as opposed to the server.
    pub fn is_client_fault(&self) -> bool {
        matches!(
            self,
            NotesError::Malformed(_) | NotesError::Unsupported(_) | NotesError::TooLarge { .. }
        )
    }
}

/// What one received message makes the room send: `reply` to its sender, `broadcast` to
/// every other participant. Each entry is one message, without [`FRAME_TAG`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NotesOutput {
    pub reply: Vec<Vec<u8>>,
    pub broadcast: Vec<Vec<u8>>,
}

/// The notes document of one live meeting, with who is writing in it.
pub struct NotesRoom {
    db: Db,
    meeting_id: String,
    doc: Doc,
    awareness: Awareness,
    /// Which connection speaks for each awareness entry, so leaving removes theirs.
    speakers: HashMap<ClientID, u64>,
    /// The seq the next stored update gets.
    next_seq: i64,
    /// Updates stored since the snapshot.
    since_snapshot: usize,
    /// The document may hold something the database does not (a failed or interrupted
    /// write): reload before the next message.
    stale: bool,
}

/// One decoded message, checked in full before anything changes.
enum Incoming {
    Step1(StateVector),
    Update(Vec<u8>, Update),
    Awareness(AwarenessUpdate),
    AwarenessQuery,
}

impl NotesRoom {
    /// Loads the meeting's document: the latest snapshot plus the updates after it.
    pub async fn open(db: &Db, meeting_id: &str) -> Result<NotesRoom, NotesError> {
        let loaded = load(db, meeting_id).await?;
        Ok(NotesRoom {
            db: db.clone(),
            meeting_id: meeting_id.to_string(),
            doc: loaded.doc,
            awareness: Awareness::new(Doc::new()),
            speakers: HashMap::new(),
            next_seq: loaded.next_seq,
            since_snapshot: loaded.since_snapshot,
            stale: false,
        })
    }

    pub fn meeting_id(&self) -> &str {
        &self.meeting_id
    }

    /// What a client that just joined is sent (sync step 1, current awareness).
    pub fn greet(&self) -> Vec<Vec<u8>> {
        let sv = self.doc.transact().state_vector();
        let mut out = vec![Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1()];
        if let Some(aw) = self.awareness_now() {
            out.push(aw);
        }
        out
    }

    /// One binary Yjs message from `client` (y-protocols encoding). Every document
    /// update in it is stored before this returns; returns replies for this client and
    /// messages for everyone else. A refused message changes nothing.
    pub async fn receive(&mut self, client: u64, msg: &[u8]) -> Result<NotesOutput, NotesError> {
        if msg.len() > MAX_MESSAGE {
            return Err(NotesError::TooLarge {
                size: msg.len(),
                limit: MAX_MESSAGE,
            });
        }
        let incoming = decode(msg)?;
        if self.stale {
            self.reload().await?;
        }
        let mut out = NotesOutput::default();
        match incoming {
            Incoming::Step1(sv) => {
                let update = self.doc.transact().encode_state_as_update_v1(&sv);
                out.reply
                    .push(Message::Sync(SyncMessage::SyncStep2(update)).encode_v1());
            }
            Incoming::Update(raw, update) => {
                if update.is_empty() {
                    return Ok(out);
                }
                self.apply_and_store(raw.clone(), update).await?;
                out.broadcast
                    .push(Message::Sync(SyncMessage::Update(raw)).encode_v1());
                if self.since_snapshot >= COMPACT_AFTER
                    && let Err(e) = self.compact().await
                {
                    // The updates are stored; the next one tries again.
                    tracing::warn!(meeting = %self.meeting_id, error = %e, "could not compact the notes");
                }
            }
            Incoming::Awareness(update) => {
                if msg.len() > MAX_AWARENESS {
                    return Err(NotesError::TooLarge {
                        size: msg.len(),
                        limit: MAX_AWARENESS,
                    });
                }
                if let Some(aw) = self.apply_awareness(client, update)? {
                    out.broadcast.push(aw);
                }
            }
            Incoming::AwarenessQuery => {
                if let Some(aw) = self.awareness_now() {
                    out.reply.push(aw);
                }
            }
        }
        Ok(out)
    }

    /// A client left: the awareness removal to broadcast.
    pub fn leave(&mut self, client: u64) -> Option<Vec<u8>> {
        let gone: Vec<ClientID> = self
            .speakers
            .iter()
            .filter(|(_, c)| **c == client)
            .map(|(id, _)| *id)
            .collect();
        if gone.is_empty() {
            return None;
        }
        for id in &gone {
            self.speakers.remove(id);
            self.awareness.remove_state(*id);
        }
        let update = self.awareness.update_with_clients(gone).ok()?;
        Some(Message::Awareness(update).encode_v1())
    }

    /// Folds the updates stored so far into one snapshot: for the meeting's end, so the
    /// notes it keeps afterwards are one row.
    pub async fn close(mut self) -> Result<(), NotesError> {
        if self.stale {
            self.reload().await?;
        }
        if self.since_snapshot > 0 {
            self.compact().await?;
        }
        Ok(())
    }

    /// The document as Markdown, as it is now.
    pub fn markdown(&self) -> String {
        export::markdown(&self.doc)
    }

    async fn apply_and_store(&mut self, raw: Vec<u8>, update: Update) -> Result<(), NotesError> {
        // yrs may stop half way through an update whose blocks name a parent it cannot
        // take; the document is then rebuilt from what is stored.
        let applied = catch_unwind(AssertUnwindSafe(|| {
            self.doc.transact_mut().apply_update(update)
        }));
        let failure = match applied {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("the update could not be applied".to_string()),
        };
        if let Some(reason) = failure {
            self.stale = true;
            self.reload().await?;
            return Err(NotesError::Malformed(reason));
        }
        // Until the row is written the document is ahead of the database; if this future
        // is dropped or the write fails, the next message reloads first.
        self.stale = true;
        db::append(&self.db, &self.meeting_id, self.next_seq, &raw).await?;
        self.stale = false;
        self.next_seq += 1;
        self.since_snapshot += 1;
        Ok(())
    }

    fn apply_awareness(
        &mut self,
        client: u64,
        update: AwarenessUpdate,
    ) -> Result<Option<Vec<u8>>, NotesError> {
        let mut theirs: Vec<ClientID> = self
            .speakers
            .iter()
            .filter(|(_, c)| **c == client)
            .map(|(id, _)| *id)
            .collect();
        for (id, entry) in &update.clients {
            if &*entry.json == "null" {
                if self.speakers.get(id).is_some_and(|c| *c != client) {
                    return Err(NotesError::Malformed(format!(
                        "awareness entry {id} belongs to another participant"
                    )));
                }
                continue;
            }
            serde_json::from_str::<serde_json::Value>(&entry.json).map_err(|e| {
                NotesError::Malformed(format!("the awareness state of {id} is not JSON: {e}"))
            })?;
            if !theirs.contains(id) {
                theirs.push(*id);
            }
        }
        if theirs.len() > MAX_AWARENESS_PER_CLIENT {
            return Err(NotesError::Malformed(format!(
                "one connection may speak for at most {MAX_AWARENESS_PER_CLIENT} awareness entries"
            )));
        }
        let Some(summary) = self
            .awareness
            .apply_update_summary(update)
            .map_err(|e| NotesError::Malformed(e.to_string()))?
        else {
            return Ok(None);
        };
        for id in &summary.removed {
            self.speakers.remove(id);
        }
        for id in summary.added.iter().chain(&summary.updated) {
            // The latest connection to speak for an entry owns it: a browser that
            // reconnected before its old socket was noticed gone keeps its cursor.
            self.speakers.insert(*id, client);
        }
        let changed = summary.all_changes();
        let update = self
            .awareness
            .update_with_clients(changed)
            .map_err(|e| NotesError::Malformed(e.to_string()))?;
        Ok(Some(Message::Awareness(update).encode_v1()))
    }

    fn awareness_now(&self) -> Option<Vec<u8>> {
        let update = self.awareness.update().ok()?;
        (!update.clients.is_empty()).then(|| Message::Awareness(update).encode_v1())
    }

    async fn compact(&mut self) -> Result<(), NotesError> {
        let state = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        db::compact(&self.db, &self.meeting_id, self.next_seq - 1, &state).await?;
        self.since_snapshot = 0;
        Ok(())
    }

    async fn reload(&mut self) -> Result<(), NotesError> {
        let loaded = load(&self.db, &self.meeting_id).await?;
        self.doc = loaded.doc;
        self.next_seq = loaded.next_seq;
        self.since_snapshot = loaded.since_snapshot;
        self.stale = false;
        Ok(())
    }
}

/// Reads exactly one message, decoding any update in it, without touching the room.
fn decode(msg: &[u8]) -> Result<Incoming, NotesError> {
    let malformed = |e: &dyn std::fmt::Display| NotesError::Malformed(e.to_string());
    let decoded = catch_unwind(|| -> Result<Incoming, NotesError> {
        let mut decoder = DecoderV1::new(Cursor::new(msg));
        let message = Message::decode(&mut decoder).map_err(|e| malformed(&e))?;
        if decoder.read_u8().is_ok() {
            return Err(NotesError::Malformed(
                "a notes frame carries exactly one message; this one has more bytes after it"
                    .into(),
            ));
        }
        Ok(match message {
            Message::Sync(SyncMessage::SyncStep1(sv)) => Incoming::Step1(sv),
            Message::Sync(SyncMessage::SyncStep2(raw) | SyncMessage::Update(raw)) => {
                let update = Update::decode_v1(&raw).map_err(|e| malformed(&e))?;
                Incoming::Update(raw, update)
            }
            Message::Awareness(update) => Incoming::Awareness(update),
            Message::AwarenessQuery => Incoming::AwarenessQuery,
            Message::Auth(_) => return Err(NotesError::Unsupported(2)),
            Message::Custom(tag, _) => return Err(NotesError::Unsupported(tag)),
        })
    });
    decoded.unwrap_or_else(|_| Err(NotesError::Malformed("the message does not decode".into())))
}

struct Loaded {
    doc: Doc,
    next_seq: i64,
    since_snapshot: usize,
}

async fn load(db: &Db, meeting_id: &str) -> Result<Loaded, NotesError> {
    let stored = db::load(db.pool(), meeting_id).await?;
    let doc = Doc::new();
    let mut last = 0;
    {
        let mut txn = doc.transact_mut();
        let rows = stored.snapshot.into_iter().chain(stored.updates);
        for (seq, data) in rows {
            let corrupt = |reason: String| NotesError::Corrupt {
                meeting_id: meeting_id.to_string(),
                seq,
                reason,
            };
            let update = Update::decode_v1(&data).map_err(|e| corrupt(e.to_string()))?;
            txn.apply_update(update)
                .map_err(|e| corrupt(e.to_string()))?;
            last = seq;
        }
    }
    Ok(Loaded {
        doc,
        next_seq: last + 1,
        since_snapshot: stored.since_snapshot,
    })
}

/// The meeting's notes as Markdown (GitHub-flavoured: tables, `- [ ]` checklists).
pub async fn markdown(db: &Db, meeting_id: &str) -> Result<String, NotesError> {
    Ok(export::markdown(&load(db, meeting_id).await?.doc))
}

/// The meeting's notes as an HTML fragment, every text escaped.
pub async fn html(db: &Db, meeting_id: &str) -> Result<String, NotesError> {
    Ok(export::html(&load(db, meeting_id).await?.doc))
}

/// Removes the meeting's notes, for the meeting's deletion.
pub async fn forget(db: &Db, meeting_id: &str) -> Result<(), NotesError> {
    db::forget(db, meeting_id).await
}

#[cfg(test)]
mod tests;
