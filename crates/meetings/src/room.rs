//! The rules of one running meeting, with no I/O: who is in and who waits, the host's
//! powers (mute, never unmute; remove and keep out; lock; admit one or all; record; end),
//! raised hands and chat. The live room task (`live`) owns one and turns its results into
//! messages and SFU commands.
//!
//! Who waits: a guest always waits until a host admits them; while the meeting is locked,
//! everyone but a host waits. Nobody waits forever for nothing: when the last host
//! leaves, the waiting stay waiting (a host may come back), and they see that they wait.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::protocol::{ChatLine, MAX_CHAT, Participant, ParticipantId, Role, Waiting};

/// Who someone is across reconnects, so that removing them keeps them out: an account,
/// or a guest's key (a random value their browser keeps for the session).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    Account(String),
    Guest(String),
}

/// Someone arriving at the socket, as the socket layer checked them.
#[derive(Debug, Clone)]
pub struct Entrant {
    pub who: Who,
    pub name: String,
    pub role: Role,
}

/// What became of an arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    In,
    Waiting,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("only a host may do that")]
    NotHost,
    #[error("there is no participant {0} in this meeting")]
    NoSuchParticipant(ParticipantId),
    #[error("a host removed you from this meeting")]
    Removed,
    #[error("the meeting has ended")]
    Ended,
    #[error("a chat message may not be empty")]
    EmptyChat,
    #[error("a chat message may be at most {MAX_CHAT} characters; this one has {0}")]
    LongChat(usize),
    #[error("the name to show may not be empty")]
    NoName,
}

/// The longest name shown, in characters.
pub const MAX_NAME: usize = 60;

#[derive(Debug, Clone)]
struct Member {
    who: Who,
    view: Participant,
}

#[derive(Debug, Default)]
pub struct Room {
    /// Where participant ids come from: shared by every meeting of the process, since
    /// the SFU they share knows participants by id alone.
    ids: Arc<AtomicU64>,
    members: BTreeMap<ParticipantId, Member>,
    waiting: BTreeMap<ParticipantId, Entrant>,
    removed: HashSet<Who>,
    locked: bool,
    recording: bool,
    ended: bool,
}

impl Room {
    /// A meeting numbering its participants on its own (from 1).
    pub fn new() -> Room {
        Room::numbered_by(Arc::new(AtomicU64::new(1)))
    }

    /// A meeting whose participant ids come from `ids`, shared with other meetings.
    pub fn numbered_by(ids: Arc<AtomicU64>) -> Room {
        Room {
            ids,
            ..Room::default()
        }
    }

    /// Someone opens the socket: they are in, or wait for a host.
    pub fn arrive(&mut self, mut e: Entrant) -> Result<(ParticipantId, Arrival), RoomError> {
        if self.ended {
            return Err(RoomError::Ended);
        }
        if self.removed.contains(&e.who) {
            return Err(RoomError::Removed);
        }
        e.name = clean_name(&e.name).ok_or(RoomError::NoName)?;
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let waits = match e.role {
            Role::Host => false,
            Role::Guest => true,
            Role::Member => self.locked,
        };
        if waits {
            self.waiting.insert(id, e);
            return Ok((id, Arrival::Waiting));
        }
        self.enter(id, e);
        Ok((id, Arrival::In))
    }

    fn enter(&mut self, id: ParticipantId, e: Entrant) {
        let view = Participant {
            id,
            name: e.name,
            role: e.role,
            audio_muted: false,
            video_muted: false,
            muted_by_host: false,
            screen: false,
            hand: false,
        };
        self.members.insert(id, Member { who: e.who, view });
    }

    /// A host lets in one who waits, or all of them; returns who came in.
    pub fn admit(
        &mut self,
        by: ParticipantId,
        whom: Option<ParticipantId>,
    ) -> Result<Vec<ParticipantId>, RoomError> {
        self.host(by)?;
        let ids: Vec<ParticipantId> = match whom {
            Some(id) if self.waiting.contains_key(&id) => vec![id],
            Some(id) => return Err(RoomError::NoSuchParticipant(id)),
            None => self.waiting.keys().copied().collect(),
        };
        for id in &ids {
            let e = self.waiting.remove(id).expect("listed as waiting");
            self.enter(*id, e);
        }
        Ok(ids)
    }

    /// Someone's socket closed (in or waiting). Returns whether they were in.
    pub fn leave(&mut self, id: ParticipantId) -> bool {
        self.waiting.remove(&id);
        self.members.remove(&id).is_some()
    }

    /// What a participant says of their own media. Unmuting is theirs to do, and clears
    /// a host's mute.
    pub fn set_media(
        &mut self,
        id: ParticipantId,
        audio_muted: bool,
        video_muted: bool,
        screen: bool,
    ) -> Result<&Participant, RoomError> {
        let m = self.member_mut(id)?;
        m.view.audio_muted = audio_muted;
        if !audio_muted {
            m.view.muted_by_host = false;
        }
        m.view.video_muted = video_muted;
        m.view.screen = screen;
        Ok(&m.view)
    }

    /// A host mutes someone's microphone. There is no way for a host to unmute.
    pub fn mute(
        &mut self,
        by: ParticipantId,
        whom: ParticipantId,
    ) -> Result<&Participant, RoomError> {
        self.host(by)?;
        let m = self.member_mut(whom)?;
        m.view.audio_muted = true;
        m.view.muted_by_host = true;
        Ok(&m.view)
    }

    /// A host removes someone, in or waiting, and keeps them out of this run.
    pub fn remove(&mut self, by: ParticipantId, whom: ParticipantId) -> Result<(), RoomError> {
        self.host(by)?;
        if by == whom {
            return Err(RoomError::NoSuchParticipant(whom));
        }
        let who = if let Some(m) = self.members.remove(&whom) {
            m.who
        } else if let Some(e) = self.waiting.remove(&whom) {
            e.who
        } else {
            return Err(RoomError::NoSuchParticipant(whom));
        };
        self.removed.insert(who);
        Ok(())
    }

    pub fn lock(&mut self, by: ParticipantId, locked: bool) -> Result<(), RoomError> {
        self.host(by)?;
        self.locked = locked;
        Ok(())
    }

    /// Returns whether recording changed.
    pub fn record(&mut self, by: ParticipantId, on: bool) -> Result<bool, RoomError> {
        self.host(by)?;
        let changed = self.recording != on;
        self.recording = on;
        Ok(changed)
    }

    pub fn end(&mut self, by: ParticipantId) -> Result<(), RoomError> {
        self.host(by)?;
        self.ended = true;
        self.recording = false;
        Ok(())
    }

    pub fn hand(&mut self, id: ParticipantId, raised: bool) -> Result<&Participant, RoomError> {
        let m = self.member_mut(id)?;
        m.view.hand = raised;
        Ok(&m.view)
    }

    /// A chat line from a participant, checked, stamped `at` (RFC 3339).
    pub fn chat(&self, id: ParticipantId, text: &str, at: String) -> Result<ChatLine, RoomError> {
        let m = self.member(id)?;
        let text = text.trim();
        if text.is_empty() {
            return Err(RoomError::EmptyChat);
        }
        let n = text.chars().count();
        if n > MAX_CHAT {
            return Err(RoomError::LongChat(n));
        }
        Ok(ChatLine {
            from: Some(id),
            name: m.view.name.clone(),
            text: text.to_string(),
            at,
        })
    }

    /// Whether this participant's audio may be forwarded: never while muted, whatever
    /// their browser sends.
    pub fn forwards_audio(&self, id: ParticipantId) -> bool {
        self.members.get(&id).is_some_and(|m| !m.view.audio_muted)
    }

    pub fn is_in(&self, id: ParticipantId) -> bool {
        self.members.contains_key(&id)
    }

    /// The account behind a participant; `None` for a guest.
    pub fn account(&self, id: ParticipantId) -> Option<&str> {
        match &self.members.get(&id)?.who {
            Who::Account(a) => Some(a),
            Who::Guest(_) => None,
        }
    }

    pub fn participant(&self, id: ParticipantId) -> Option<&Participant> {
        self.members.get(&id).map(|m| &m.view)
    }

    pub fn roster(&self) -> Vec<Participant> {
        self.members.values().map(|m| m.view.clone()).collect()
    }

    pub fn waiting(&self) -> Vec<Waiting> {
        self.waiting
            .iter()
            .map(|(id, e)| Waiting {
                id: *id,
                name: e.name.clone(),
            })
            .collect()
    }

    /// The hosts in the meeting now (who hear about the waiting room).
    pub fn hosts(&self) -> impl Iterator<Item = ParticipantId> + '_ {
        self.members
            .iter()
            .filter(|(_, m)| m.view.role.hosts())
            .map(|(id, _)| *id)
    }

    pub fn locked(&self) -> bool {
        self.locked
    }

    pub fn recording(&self) -> bool {
        self.recording
    }

    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Nobody in and nobody waiting: the room task may stop.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.waiting.is_empty()
    }

    fn host(&self, id: ParticipantId) -> Result<(), RoomError> {
        match self.members.get(&id) {
            Some(m) if m.view.role.hosts() => Ok(()),
            _ => Err(RoomError::NotHost),
        }
    }

    fn member(&self, id: ParticipantId) -> Result<&Member, RoomError> {
        self.members
            .get(&id)
            .ok_or(RoomError::NoSuchParticipant(id))
    }

    fn member_mut(&mut self, id: ParticipantId) -> Result<&mut Member, RoomError> {
        self.members
            .get_mut(&id)
            .ok_or(RoomError::NoSuchParticipant(id))
    }
}

/// A name to show: control characters out, spaces folded, at most [`MAX_NAME`]
/// characters; `None` when nothing is left.
pub fn clean_name(name: &str) -> Option<String> {
    let folded = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let name: String = folded.chars().take(MAX_NAME).collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entrant(who: &str, role: Role) -> Entrant {
        Entrant {
            who: match role {
                Role::Guest => Who::Guest(who.into()),
                _ => Who::Account(who.into()),
            },
            name: who.into(),
            role,
        }
    }

    #[test]
    fn guests_wait_until_a_host_admits_them_and_members_wait_only_when_locked() {
        let mut room = Room::new();
        let (host, a) = room.arrive(entrant("host", Role::Host)).unwrap();
        assert_eq!(a, Arrival::In);
        let (member, a) = room.arrive(entrant("member", Role::Member)).unwrap();
        assert_eq!(a, Arrival::In);
        let (guest, a) = room.arrive(entrant("guest", Role::Guest)).unwrap();
        assert_eq!(a, Arrival::Waiting);
        assert!(!room.is_in(guest));
        assert_eq!(room.waiting()[0].name, "guest");
        assert_eq!(room.admit(member, Some(guest)), Err(RoomError::NotHost));
        assert_eq!(room.admit(host, Some(guest)), Ok(vec![guest]));
        assert!(room.is_in(guest));

        room.lock(host, true).unwrap();
        let (late, a) = room.arrive(entrant("late", Role::Member)).unwrap();
        assert_eq!(a, Arrival::Waiting);
        let (g2, _) = room.arrive(entrant("g2", Role::Guest)).unwrap();
        let (_, a) = room.arrive(entrant("cohost", Role::Host)).unwrap();
        assert_eq!(a, Arrival::In, "hosts are never kept waiting");
        assert_eq!(room.admit(host, None), Ok(vec![late, g2]));
        assert!(room.waiting().is_empty());
        assert_eq!(
            room.admit(host, Some(999)),
            Err(RoomError::NoSuchParticipant(999))
        );
    }

    #[test]
    fn a_host_mutes_but_only_the_participant_unmutes() {
        let mut room = Room::new();
        let (host, _) = room.arrive(entrant("host", Role::Host)).unwrap();
        let (m, _) = room.arrive(entrant("m", Role::Member)).unwrap();
        assert!(room.forwards_audio(m));
        assert_eq!(room.mute(m, host), Err(RoomError::NotHost));
        let p = room.mute(host, m).unwrap();
        assert!(p.audio_muted && p.muted_by_host);
        assert!(!room.forwards_audio(m));
        // Nothing a host sends unmutes: there is no such action. The participant does.
        let p = room.set_media(m, false, false, false).unwrap();
        assert!(!p.audio_muted && !p.muted_by_host);
        assert!(room.forwards_audio(m));
        room.set_media(m, true, true, false).unwrap();
        assert!(
            !room.forwards_audio(m),
            "a self-muted microphone is not forwarded either"
        );
        assert!(!room.forwards_audio(12345));
    }

    #[test]
    fn a_removed_person_stays_out_of_this_run() {
        let mut room = Room::new();
        let (host, _) = room.arrive(entrant("host", Role::Host)).unwrap();
        let (m, _) = room.arrive(entrant("m", Role::Member)).unwrap();
        let (g, _) = room.arrive(entrant("g", Role::Guest)).unwrap();
        assert_eq!(room.remove(m, host), Err(RoomError::NotHost));
        assert_eq!(
            room.remove(host, host),
            Err(RoomError::NoSuchParticipant(host))
        );
        room.remove(host, m).unwrap();
        room.remove(host, g).unwrap();
        assert!(!room.is_in(m));
        assert!(room.waiting().is_empty());
        assert_eq!(
            room.arrive(entrant("m", Role::Member)).unwrap_err(),
            RoomError::Removed
        );
        assert_eq!(
            room.arrive(entrant("g", Role::Guest)).unwrap_err(),
            RoomError::Removed
        );
        assert!(room.arrive(entrant("other", Role::Guest)).is_ok());
    }

    #[test]
    fn ending_stops_recording_and_refuses_arrivals() {
        let mut room = Room::new();
        let (host, _) = room.arrive(entrant("host", Role::Host)).unwrap();
        let (m, _) = room.arrive(entrant("m", Role::Member)).unwrap();
        assert_eq!(room.record(m, true), Err(RoomError::NotHost));
        assert_eq!(room.record(host, true), Ok(true));
        assert_eq!(room.record(host, true), Ok(false));
        assert!(room.recording());
        assert_eq!(room.end(m), Err(RoomError::NotHost));
        room.end(host).unwrap();
        assert!(room.ended() && !room.recording());
        assert_eq!(
            room.arrive(entrant("x", Role::Member)).unwrap_err(),
            RoomError::Ended
        );
    }

    #[test]
    fn chat_and_hands_belong_to_those_in_the_meeting() {
        let mut room = Room::new();
        let (m, _) = room.arrive(entrant("m", Role::Member)).unwrap();
        let (g, _) = room.arrive(entrant("g", Role::Guest)).unwrap();
        let line = room
            .chat(m, "  hello  ", "2026-12-04T10:00:00Z".into())
            .unwrap();
        assert_eq!((line.name.as_str(), line.text.as_str()), ("m", "hello"));
        assert_eq!(
            room.chat(m, "   ", String::new()),
            Err(RoomError::EmptyChat)
        );
        let long = "x".repeat(MAX_CHAT + 1);
        assert_eq!(
            room.chat(m, &long, String::new()),
            Err(RoomError::LongChat(MAX_CHAT + 1))
        );
        assert_eq!(
            room.chat(g, "hi", String::new()),
            Err(RoomError::NoSuchParticipant(g)),
            "a waiting guest cannot chat"
        );
        assert!(room.hand(m, true).unwrap().hand);
        assert_eq!(room.roster().len(), 1);
        assert!(room.leave(m));
        assert!(!room.leave(g), "a guest who only waited was never in");
        assert!(room.is_empty());
    }

    #[test]
    fn meetings_sharing_a_counter_never_share_an_id() {
        let ids = Arc::new(AtomicU64::new(1));
        let mut a = Room::numbered_by(ids.clone());
        let mut b = Room::numbered_by(ids);
        let (x, _) = a.arrive(entrant("x", Role::Member)).unwrap();
        let (y, _) = b.arrive(entrant("y", Role::Member)).unwrap();
        let (z, _) = a.arrive(entrant("z", Role::Member)).unwrap();
        assert_eq!(HashSet::from([x, y, z]).len(), 3);
    }

    #[test]
    fn names_are_cleaned_and_bounded() {
        assert_eq!(
            clean_name("  Ada \n Lovelace\u{7}"),
            Some("Ada Lovelace".into())
        );
        assert_eq!(clean_name(" \t "), None);
        assert_eq!(
            clean_name(&"é".repeat(100)).unwrap().chars().count(),
            MAX_NAME
        );
        let mut room = Room::new();
        let mut e = entrant("x", Role::Member);
        e.name = "   ".into();
        assert_eq!(room.arrive(e).unwrap_err(), RoomError::NoName);
    }
}
