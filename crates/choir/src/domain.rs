//! A choir room's rules, with no network in sight: who is in which bucket, the leader,
//! the song (its start and end on the timeline, rounds, metronome, backing track), the
//! mixing console, lag, and the recording. Every call takes the server's clock (`now`),
//! so the engine is exact and testable; the transport supplies the real clock.
//!
//! Bucket `b` hears the timeline `delay(b)` behind the present: the leader's bucket is
//! 0, and each later bucket is [`BUCKET_GAP`] further back, so it hears every earlier
//! bucket. A singer's voice is added at the position of the audio they were hearing, so
//! it lines up with what they sang along to; it must arrive before the next bucket reads
//! that position, or it is late.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::timeline::{Clock, SAMPLE_RATE, Timeline, seconds};

/// A participant, as the transport names them; a reconnection keeps its id.
pub type SingerId = u64;

/// Buckets in a room's chain.
pub const BUCKETS: usize = 6;
/// How far each bucket hears behind the one before it: room for a round trip, a batch
/// of audio and jitter.
pub const BUCKET_GAP: Clock = seconds(3);
/// The longest lead-in rounds may ask for (every repeat must be heard by the leader).
pub const MAX_LEAD_IN: Clock = seconds(90);
/// The timeline kept: the deepest bucket with the longest lead-in, and a margin.
pub const TIMELINE: Clock = MAX_LEAD_IN + BUCKET_GAP * (BUCKETS as u64 + 2);
/// A room where nobody has sent or asked for audio this long resets itself.
pub const INACTIVE: Clock = seconds(5);
/// Late chunks in a row after which a singer is no longer heard until they retry.
pub const LATE_STRIKES: u32 = 3;
/// Voices the automatic gain pretends are always there, so one or two singers are not
/// boosted to full scale.
const PHANTOM_VOICES: f32 = 2.0;
/// The leader is mixed louder: everyone follows them.
const LEADER_BOOST: f32 = 2.0;
/// A metronome click: 1 kHz for 15 ms, fading out.
const CLICK_SAMPLES: u64 = SAMPLE_RATE * 15 / 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Sends their voice and hears the buckets before theirs.
    Singer,
    /// Only hears; sits in the last bucket, which hears everyone.
    Listener,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoomError {
    #[error("nobody with that id is in the room")]
    Unknown,
    #[error("the leader removed you from this session")]
    Removed,
    #[error("only the leader may do that")]
    NotLeader,
    #[error("a listener sends no audio")]
    Listening,
    #[error("your connection could not keep up, so you are not heard; retry to sing again")]
    Lagging,
    #[error("audio must follow on from the last chunk (expected it to start at {expected})")]
    Discontinuous { expected: Clock },
    #[error("audio cannot end after the server's present")]
    FromTheFuture,
    #[error("there are {BUCKETS} buckets, numbered 0 to {}", BUCKETS - 1)]
    NoSuchBucket,
    #[error("no song is running")]
    NoSong,
    #[error("{0}")]
    Setup(&'static str),
}

/// What a song sounds like besides the voices, as the leader sets it up.
#[derive(Debug, Clone, Default)]
pub struct SongSetup {
    /// Beats per minute of the metronome; none without one.
    pub bpm: Option<u32>,
    /// Rounds: beats per repeat and how many repeats; each singer's voice is also heard
    /// again every repeat, so a few people sing a canon.
    pub rounds: Option<Rounds>,
    /// The backing track, mono 48 kHz, from the song's start.
    pub backing: Option<Arc<[f32]>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounds {
    pub beats_per_repeat: u32,
    pub repeats: u32,
}

impl SongSetup {
    /// Samples between beats.
    fn beat(&self) -> Option<Clock> {
        self.bpm
            .filter(|&b| b > 0)
            .map(|b| SAMPLE_RATE * 60 / b as u64)
    }

    /// Samples in one repeat of the rounds.
    pub fn repeat_len(&self) -> Option<Clock> {
        let rounds = self.rounds?;
        Some(self.beat()? * rounds.beats_per_repeat as u64).filter(|&l| l > 0)
    }

    /// How far before bucket 0 the leader sits, so the leader hears every repeat.
    pub fn lead_in(&self) -> Clock {
        match (self.repeat_len(), self.rounds) {
            (Some(len), Some(r)) => (len * r.repeats as u64).min(MAX_LEAD_IN),
            _ => 0,
        }
    }

    fn check(&self) -> Result<(), RoomError> {
        if let Some(bpm) = self.bpm
            && !(20..=400).contains(&bpm)
        {
            return Err(RoomError::Setup("bpm must be between 20 and 400"));
        }
        if let Some(r) = self.rounds {
            if self.bpm.is_none() {
                return Err(RoomError::Setup("rounds need a tempo (bpm)"));
            }
            if r.beats_per_repeat == 0 || r.repeats == 0 || r.repeats > 16 {
                return Err(RoomError::Setup(
                    "rounds need at least one beat per repeat and 1 to 16 repeats",
                ));
            }
        }
        Ok(())
    }
}

/// The leader's mixing console.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub struct Console {
    /// Scale the mix down as voices are added, so a hundred singers are not a hundred
    /// times louder than one.
    pub auto_gain: bool,
    /// Backing track and metronome, 0 to 2.
    pub backing_volume: f32,
    /// Everything, 0 to 2.
    pub global_volume: f32,
}

impl Console {
    /// One sample as heard: `voices` summed from `n` singers (scaled down by their
    /// number when automatic gain is on), plus `accompaniment`, at the global volume.
    fn shape(&self, voices: f32, n: u16, accompaniment: f32) -> f32 {
        let scaled = if self.auto_gain && n > 0 {
            voices * ((1.0 + PHANTOM_VOICES) / (n as f32 + PHANTOM_VOICES)).sqrt()
        } else {
            voices
        };
        ((scaled + accompaniment) * self.global_volume).clamp(-1.0, 1.0)
    }
}

impl Default for Console {
    fn default() -> Console {
        Console {
            auto_gain: true,
            backing_volume: 1.0,
            global_volume: 1.0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Singer {
    pub id: SingerId,
    pub name: String,
    pub part: Part,
    pub bucket: usize,
    /// The leader's volume for this voice, 0 to 2.
    pub mic_volume: f32,
    /// Heard alone on the leader's monitor mix.
    pub soloed: bool,
    /// Not heard until they retry (their audio kept arriving late).
    pub lagging: bool,
    /// How early the last chunk arrived before the next bucket needed it, in samples;
    /// negative when late. The network health meter shows it.
    pub margin: i64,
    #[serde(skip)]
    late_strikes: u32,
    #[serde(skip)]
    last_write_end: Option<Clock>,
    #[serde(skip)]
    last_seen: Clock,
}

#[derive(Debug, Clone)]
struct Song {
    start: Clock,
    end: Option<Clock>,
    setup: SongSetup,
    recording: bool,
    /// The mix is recorded up to here.
    recorded_to: Clock,
}

/// What the recording gained since it was last drained: the transport stores these as
/// they come, so a crash keeps what was recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// The song's mix (voices and backing track, never the metronome), `at` samples
    /// after the song's start.
    Mix { at: Clock, samples: Vec<f32> },
    /// One singer's voice as they sang it, aligned to the song: `at` samples after its
    /// start.
    Stem {
        singer: SingerId,
        name: String,
        at: Clock,
        samples: Vec<f32>,
    },
    /// The song ended and its whole mix has been given out.
    Finished { length: Clock },
}

/// What became of a chunk of voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sung {
    /// Added to the mix (or outside a song, kept only for continuity).
    Heard,
    /// Too late for the next bucket, so dropped.
    Late,
}

/// Which mix a listener hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Everyone earlier in the chain, backing track and metronome: the same for everyone
    /// in a bucket, so it is encoded once per bucket.
    Room,
    /// Only the soloed singers (the leader checking a voice).
    Monitor,
}

pub struct Room {
    singers: BTreeMap<SingerId, Singer>,
    removed: BTreeSet<SingerId>,
    leader: Option<SingerId>,
    setup: SongSetup,
    song: Option<Song>,
    console: Console,
    timeline: Option<Timeline>,
    monitor: Option<Timeline>,
    recorded: Vec<Recorded>,
    /// Whether the next song is recorded.
    pub recording: bool,
}

impl Default for Room {
    fn default() -> Room {
        Room::new()
    }
}

impl Room {
    pub fn new() -> Room {
        Room {
            singers: BTreeMap::new(),
            removed: BTreeSet::new(),
            leader: None,
            setup: SongSetup::default(),
            song: None,
            console: Console::default(),
            timeline: None,
            monitor: None,
            recorded: Vec::new(),
            recording: false,
        }
    }

    pub fn singers(&self) -> impl Iterator<Item = &Singer> {
        self.singers.values()
    }

    pub fn singer(&self, id: SingerId) -> Option<&Singer> {
        self.singers.get(&id)
    }

    pub fn leader(&self) -> Option<SingerId> {
        self.leader
    }

    pub fn console(&self) -> Console {
        self.console
    }

    pub fn setup(&self) -> &SongSetup {
        &self.setup
    }

    /// Whether audio is being recorded: the running song's, or else the next song's.
    pub fn recording_now(&self) -> bool {
        self.song.as_ref().map_or(self.recording, |s| s.recording)
    }

    /// The song's start on the timeline, and its end once known.
    pub fn song(&self) -> Option<(Clock, Option<Clock>)> {
        self.song.as_ref().map(|s| (s.start, s.end))
    }

    /// How far behind the present bucket `bucket` hears.
    pub fn delay_of_bucket(&self, bucket: usize) -> Clock {
        let setup = self.song.as_ref().map_or(&self.setup, |s| &s.setup);
        setup.lead_in() + BUCKET_GAP * (bucket as u64 + 1)
    }

    pub fn delay(&self, id: SingerId) -> Result<Clock, RoomError> {
        let s = self.singers.get(&id).ok_or(RoomError::Unknown)?;
        Ok(self.delay_of_bucket(s.bucket))
    }

    /// Samples until the song reaches this singer's ears (0 once it has).
    pub fn countdown(&self, id: SingerId, now: Clock) -> Result<Option<Clock>, RoomError> {
        let delay = self.delay(id)?;
        Ok(self
            .song
            .as_ref()
            .map(|s| (s.start + delay).saturating_sub(now)))
    }

    /// Someone joins, or comes back after a dropped connection (keeping their bucket).
    /// A listener sits in the last bucket; a new singer in the follower bucket with the
    /// fewest singers.
    pub fn join(
        &mut self,
        id: SingerId,
        name: &str,
        part: Part,
        now: Clock,
    ) -> Result<&Singer, RoomError> {
        if self.removed.contains(&id) {
            return Err(RoomError::Removed);
        }
        let bucket = match (self.singers.get(&id), part) {
            (Some(s), _) if s.part == part => s.bucket,
            (_, Part::Listener) => BUCKETS - 1,
            (_, Part::Singer) => self.emptiest_follower_bucket(),
        };
        let singer = self.singers.entry(id).or_insert_with(|| Singer {
            id,
            name: String::new(),
            part,
            bucket,
            mic_volume: 1.0,
            soloed: false,
            lagging: false,
            margin: 0,
            late_strikes: 0,
            last_write_end: None,
            last_seen: now,
        });
        singer.name = name.to_string();
        singer.part = part;
        singer.bucket = bucket;
        singer.last_write_end = None;
        singer.last_seen = now;
        Ok(singer)
    }

    fn emptiest_follower_bucket(&self) -> usize {
        let mut count = [0usize; BUCKETS];
        for s in self.singers.values().filter(|s| s.part == Part::Singer) {
            count[s.bucket] += 1;
        }
        (1..BUCKETS)
            .rev()
            .min_by_key(|&b| count[b])
            .unwrap_or(BUCKETS - 1)
    }

    /// Someone left (their stem so far stays in the recording).
    pub fn leave(&mut self, id: SingerId) {
        self.singers.remove(&id);
        if self.leader == Some(id) {
            self.leader = None;
        }
    }

    /// The leader removes someone and keeps them out of this session.
    pub fn remove(&mut self, by: SingerId, id: SingerId) -> Result<(), RoomError> {
        self.check_leader(by)?;
        if by == id {
            return Err(RoomError::Setup("the leader cannot remove themselves"));
        }
        self.leave(id);
        self.removed.insert(id);
        Ok(())
    }

    pub fn move_to(&mut self, id: SingerId, bucket: usize) -> Result<(), RoomError> {
        if bucket >= BUCKETS {
            return Err(RoomError::NoSuchBucket);
        }
        let s = self.singers.get_mut(&id).ok_or(RoomError::Unknown)?;
        s.bucket = bucket;
        s.last_write_end = None;
        Ok(())
    }

    fn check_leader(&self, id: SingerId) -> Result<(), RoomError> {
        if self.leader == Some(id) {
            Ok(())
        } else {
            Err(RoomError::NotLeader)
        }
    }

    /// `id` leads the next song with `setup`: they sit alone in bucket 0; the other
    /// singers spread round-robin over as many following buckets as there are of them
    /// (up to the last), so each hears as many earlier voices as possible; listeners sit
    /// in the last bucket. Taking the lead from someone else is the page's "seize"
    /// (asked to confirm there); it stops the song that was running.
    pub fn lead(&mut self, id: SingerId, setup: SongSetup) -> Result<(), RoomError> {
        setup.check()?;
        let leader = self.singers.get(&id).ok_or(RoomError::Unknown)?;
        if leader.part != Part::Singer {
            return Err(RoomError::Listening);
        }
        self.leader = Some(id);
        self.setup = setup;
        self.end_recording();
        self.song = None;
        let followers: Vec<SingerId> = self
            .singers
            .values()
            .filter(|s| s.part == Part::Singer && s.id != id)
            .map(|s| s.id)
            .collect();
        let buckets = followers.len().clamp(1, BUCKETS - 1);
        for (i, follower) in followers.iter().enumerate() {
            // A lone follower is right behind the leader, and the earliest buckets fill
            // first, so the last ones hear the most voices.
            let bucket = 1 + i % buckets;
            if let Some(s) = self.singers.get_mut(follower) {
                s.bucket = bucket;
                s.last_write_end = None;
            }
        }
        for s in self.singers.values_mut() {
            if s.id == id {
                s.bucket = 0;
                s.last_write_end = None;
            } else if s.part == Part::Listener {
                s.bucket = BUCKETS - 1;
            }
        }
        Ok(())
    }

    /// The leader starts the song at what they hear now: the timeline is cleared, and the
    /// backing track and metronome start there.
    pub fn start(&mut self, id: SingerId, now: Clock) -> Result<Clock, RoomError> {
        self.check_leader(id)?;
        self.seen(id, now)?;
        let start = now.saturating_sub(self.delay(id)?);
        let timeline = self
            .timeline
            .get_or_insert_with(|| Timeline::new(TIMELINE as usize, now));
        timeline.advance(now);
        timeline.clear();
        if let Some(m) = &mut self.monitor {
            m.advance(now);
            m.clear();
        }
        self.song = Some(Song {
            start,
            end: None,
            setup: self.setup.clone(),
            recording: self.recording,
            recorded_to: start,
        });
        Ok(start)
    }

    /// The leader ends the song where their voice ends (what they have sent so far);
    /// anyone else halts it at once, at what the leader hears now.
    pub fn stop(&mut self, id: SingerId, now: Clock) -> Result<Clock, RoomError> {
        let leader_delay = match self.leader {
            Some(l) => self.delay(l)?,
            None => self.delay_of_bucket(0),
        };
        if !self.singers.contains_key(&id) {
            return Err(RoomError::Unknown);
        }
        let by_leader = self.leader == Some(id);
        let leader_wrote = self
            .leader
            .and_then(|l| self.singers.get(&l))
            .and_then(|l| l.last_write_end);
        let song = self.song.as_mut().ok_or(RoomError::NoSong)?;
        let hears_now = now.saturating_sub(leader_delay);
        let end = match (by_leader, leader_wrote) {
            (true, Some(wrote)) => wrote.max(song.start),
            _ => hears_now.max(song.start),
        };
        song.end = Some(song.end.map_or(end, |e| e.min(end)));
        Ok(end)
    }

    pub fn set_console(&mut self, by: SingerId, console: Console) -> Result<(), RoomError> {
        self.check_leader(by)?;
        let fits = |v: f32| (0.0..=2.0).contains(&v);
        if !fits(console.backing_volume) || !fits(console.global_volume) {
            return Err(RoomError::Setup("volumes go from 0 to 2"));
        }
        self.console = console;
        Ok(())
    }

    /// The leader sets a singer's volume (0 to 2) and whether they are soloed.
    pub fn set_voice(
        &mut self,
        by: SingerId,
        id: SingerId,
        mic_volume: f32,
        soloed: bool,
    ) -> Result<(), RoomError> {
        self.check_leader(by)?;
        if !(0.0..=2.0).contains(&mic_volume) {
            return Err(RoomError::Setup("volumes go from 0 to 2"));
        }
        let s = self.singers.get_mut(&id).ok_or(RoomError::Unknown)?;
        s.mic_volume = mic_volume;
        s.soloed = soloed;
        Ok(())
    }

    /// Someone sent anything at all (a room with nobody heard from resets itself).
    pub fn seen(&mut self, id: SingerId, now: Clock) -> Result<(), RoomError> {
        let s = self.singers.get_mut(&id).ok_or(RoomError::Unknown)?;
        s.last_seen = s.last_seen.max(now);
        Ok(())
    }

    /// A lagging singer tries again.
    pub fn retry(&mut self, id: SingerId) -> Result<(), RoomError> {
        let s = self.singers.get_mut(&id).ok_or(RoomError::Unknown)?;
        s.lagging = false;
        s.late_strikes = 0;
        s.last_write_end = None;
        Ok(())
    }

    /// A singer's voice, `pcm` ending at timeline position `end`: the position of what
    /// they were hearing when they sang it (their read position minus their measured
    /// audio latency). Chunks must follow on from each other (the decoder is stateful);
    /// a break is refused, and the next chunk starts afresh.
    /// The singer's next chunk comes from a fresh encoder, so it need not follow on.
    pub fn restart_voice(&mut self, id: SingerId) {
        if let Some(s) = self.singers.get_mut(&id) {
            s.last_write_end = None;
        }
    }

    pub fn sing(
        &mut self,
        id: SingerId,
        end: Clock,
        pcm: &[f32],
        now: Clock,
    ) -> Result<Sung, RoomError> {
        let delay = self.delay(id)?;
        let is_leader = self.leader == Some(id);
        let singer = self.singers.get_mut(&id).ok_or(RoomError::Unknown)?;
        singer.last_seen = now;
        if singer.part == Part::Listener {
            return Err(RoomError::Listening);
        }
        if singer.lagging {
            return Err(RoomError::Lagging);
        }
        if end > now {
            return Err(RoomError::FromTheFuture);
        }
        let start = end.saturating_sub(pcm.len() as u64);
        if let Some(expected) = singer.last_write_end.take()
            && expected != start
        {
            return Err(RoomError::Discontinuous { expected });
        }
        singer.last_write_end = Some(end);
        // The next bucket starts hearing `start` at `start + delay + BUCKET_GAP`.
        let deadline = start + delay + BUCKET_GAP;
        singer.margin = deadline as i64 - now as i64;
        if now > deadline {
            singer.late_strikes += 1;
            if singer.late_strikes >= LATE_STRIKES {
                singer.lagging = true;
            }
            return Ok(Sung::Late);
        }
        singer.late_strikes = 0;
        let gain = singer.mic_volume * if is_leader { LEADER_BOOST } else { 1.0 };
        let (soloed, name) = (singer.soloed, singer.name.clone());
        let Some(song) = &self.song else {
            return Ok(Sung::Heard);
        };
        // Only the song is mixed: clip the chunk to it.
        let from = start.max(song.start);
        let to = end.min(song.end.unwrap_or(Clock::MAX));
        if from >= to {
            return Ok(Sung::Heard);
        }
        let voice = &pcm[(from - start) as usize..(to - start) as usize];
        let repeat = song.setup.repeat_len();
        let repeats = song.setup.rounds.map_or(0, |r| r.repeats as u64);
        let song_start = song.start;
        let recording = song.recording;
        let timeline = self
            .timeline
            .get_or_insert_with(|| Timeline::new(TIMELINE as usize, now));
        timeline.advance(now);
        timeline.add(from, voice, gain);
        if let Some(len) = repeat {
            // Each repeat hears the voice again, where that part of the timeline has been
            // reached (later parts would be cleared when the clock gets there).
            for k in 1..=repeats {
                timeline.add(from + k * len, voice, gain);
            }
        }
        if soloed {
            let monitor = self
                .monitor
                .get_or_insert_with(|| Timeline::new(TIMELINE as usize, now));
            monitor.advance(now);
            monitor.add(from, voice, gain);
        }
        if recording {
            self.recorded.push(Recorded::Stem {
                singer: id,
                name,
                at: from - song_start,
                samples: voice.to_vec(),
            });
        }
        Ok(Sung::Heard)
    }

    /// Writes to `out` what is heard over the `out.len()` samples ending at `end`. It
    /// depends only on the position and the feed, so everyone in a bucket shares it.
    pub fn mix(&mut self, end: Clock, out: &mut [f32], feed: Feed, now: Clock) {
        let start = end.saturating_sub(out.len() as u64);
        let console = self.console;
        let song = self.song.as_ref();
        let timeline = match feed {
            Feed::Room => self.timeline.as_mut(),
            Feed::Monitor => self.monitor.as_mut(),
        };
        if let Some(t) = timeline {
            t.advance(now);
        }
        let timeline = match feed {
            Feed::Room => self.timeline.as_ref(),
            Feed::Monitor => self.monitor.as_ref(),
        };
        let accompaniment = |i: usize| match (song, feed) {
            (Some(song), Feed::Room) => {
                let pos = start + i as u64;
                (backing(song, pos) + click(song, pos)) * console.backing_volume
            }
            _ => 0.0,
        };
        let voices = |sample: f32, n: u16, i: usize| console.shape(sample, n, accompaniment(i));
        match timeline {
            Some(t) => t.read(start, out, voices),
            None => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = voices(0.0, 0, i);
                }
            }
        }
    }

    /// Lets time pass: records the part of the song no one can add to any more (every
    /// bucket that sings has sent it), and resets the room when nobody is active.
    pub fn tick(&mut self, now: Clock) {
        if let Some(t) = &mut self.timeline {
            t.advance(now);
        }
        let active = self
            .singers
            .values()
            .any(|s| now.saturating_sub(s.last_seen) < INACTIVE);
        if !active {
            self.reset();
            return;
        }
        self.record(now);
    }

    /// A song cut short (a new lead, a reset) still finishes its recording.
    fn end_recording(&mut self) {
        if let Some(song) = &mut self.song
            && song.recording
        {
            let length = song.recorded_to - song.start;
            song.recording = false;
            self.recorded.push(Recorded::Finished { length });
        }
    }

    fn reset(&mut self) {
        self.end_recording();
        self.song = None;
        self.leader = None;
        self.timeline = None;
        self.monitor = None;
    }

    fn record(&mut self, now: Clock) {
        let deepest = self
            .singers
            .values()
            .filter(|s| s.part == Part::Singer)
            .map(|s| s.bucket)
            .max()
            .unwrap_or(0);
        let settled = now.saturating_sub(self.delay_of_bucket(deepest) + BUCKET_GAP);
        let Some(song) = &self.song else { return };
        if !song.recording {
            return;
        }
        let until = settled.min(song.end.unwrap_or(Clock::MAX));
        if until <= song.recorded_to {
            if song.end.is_some_and(|e| song.recorded_to >= e) {
                let length = song.recorded_to - song.start;
                if let Some(song) = &mut self.song {
                    song.recording = false;
                }
                self.recorded.push(Recorded::Finished { length });
            }
            return;
        }
        let (from, start) = (song.recorded_to, song.start);
        let mut samples = vec![0.0; (until - from) as usize];
        // The recording is the mix without the metronome, which is for the ears only.
        let console = self.console;
        if let (Some(t), Some(song)) = (&self.timeline, &self.song) {
            t.read(from, &mut samples, |sample, n, i| {
                let backing = backing(song, from + i as u64) * console.backing_volume;
                console.shape(sample, n, backing)
            });
        }
        self.recorded.push(Recorded::Mix {
            at: from - start,
            samples,
        });
        if let Some(song) = &mut self.song {
            song.recorded_to = until;
        }
    }

    /// What was recorded since the last call, oldest first.
    pub fn drain_recorded(&mut self) -> Vec<Recorded> {
        std::mem::take(&mut self.recorded)
    }
}

/// The backing track's sample at `pos`.
fn backing(song: &Song, pos: Clock) -> f32 {
    let Some(track) = &song.setup.backing else {
        return 0.0;
    };
    pos.checked_sub(song.start)
        .and_then(|i| track.get(i as usize))
        .copied()
        .unwrap_or(0.0)
}

/// The metronome at `pos`: a fading click on each beat, louder on the first beat of
/// each repeat.
fn click(song: &Song, pos: Clock) -> f32 {
    let Some(beat) = song.setup.beat() else {
        return 0.0;
    };
    if song.end.is_some_and(|e| pos >= e) {
        return 0.0;
    }
    let Some(since) = pos.checked_sub(song.start) else {
        return 0.0;
    };
    let into = since % beat;
    if into >= CLICK_SAMPLES {
        return 0.0;
    }
    let accent = match song.setup.repeat_len() {
        Some(len) if since % len < CLICK_SAMPLES => 0.5,
        _ => 0.3,
    };
    let t = into as f32 / SAMPLE_RATE as f32;
    let fade = 1.0 - into as f32 / CLICK_SAMPLES as f32;
    accent * fade * (std::f32::consts::TAU * 1000.0 * t).sin()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: usize = 2880;
    const LEADER: SingerId = 1;

    fn tone(level: f32) -> Vec<f32> {
        vec![level; FRAME]
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt()
    }

    /// A room with a leader and `followers` singers (ids 2…), the leader leading `setup`.
    fn room(followers: u64, setup: SongSetup) -> Room {
        let mut r = Room::new();
        r.join(LEADER, "Lead", Part::Singer, 0).unwrap();
        for id in 2..2 + followers {
            r.join(id, &format!("S{id}"), Part::Singer, 0).unwrap();
        }
        r.lead(LEADER, setup).unwrap();
        r
    }

    /// Each singer sends the frame they sang along to at `heard_end` (their read
    /// position), at the moment they would hear it plus `lag`.
    fn sing_at(r: &mut Room, id: SingerId, heard_end: Clock, level: f32, lag: Clock) -> Sung {
        let now = heard_end + r.delay(id).unwrap() + lag;
        r.sing(id, heard_end, &tone(level), now).unwrap()
    }

    #[test]
    fn the_leader_sits_alone_first_and_followers_spread_behind() {
        let r = room(7, SongSetup::default());
        assert_eq!(r.singer(LEADER).unwrap().bucket, 0);
        let mut per_bucket = [0; BUCKETS];
        for s in r.singers() {
            per_bucket[s.bucket] += 1;
        }
        assert_eq!(per_bucket, [1, 2, 2, 1, 1, 1]);
        let two = room(2, SongSetup::default());
        let buckets: Vec<usize> = two.singers().map(|s| s.bucket).collect();
        assert_eq!(buckets, [0, 1, 2], "a small choir fills the first buckets");
        for b in 1..BUCKETS {
            assert_eq!(r.delay_of_bucket(b) - r.delay_of_bucket(b - 1), BUCKET_GAP);
        }
    }

    #[test]
    fn a_listener_sits_last_and_sends_nothing() {
        let mut r = room(1, SongSetup::default());
        r.join(9, "Ear", Part::Listener, 0).unwrap();
        assert_eq!(r.singer(9).unwrap().bucket, BUCKETS - 1);
        assert_eq!(
            r.sing(9, 1000, &tone(0.1), seconds(30)),
            Err(RoomError::Listening)
        );
        assert_eq!(r.lead(9, SongSetup::default()), Err(RoomError::Listening));
    }

    #[test]
    fn later_buckets_hear_earlier_voices_in_time_and_not_the_reverse() {
        let mut r = room(1, SongSetup::default());
        let start = r.start(LEADER, seconds(100)).unwrap();
        let follower = 2;
        assert_eq!(r.singer(follower).unwrap().bucket, 1);
        // The leader sings 0.4 over a frame one second into the song; the follower sings
        // 0.2 over the same position of the song, three seconds later on the clock.
        let at = start + seconds(1) + FRAME as u64;
        assert_eq!(sing_at(&mut r, LEADER, at, 0.4, seconds(1)), Sung::Heard);
        let mut heard = vec![0.0; FRAME];
        // The follower's bucket reads `at` when it is delay(1) behind: only the leader
        // is there, at the leader's boost (0.4 × 2) scaled for one voice.
        r.mix(at, &mut heard, Feed::Room, at + r.delay_of_bucket(1));
        let one_voice = (3.0f32 / 3.0).sqrt();
        assert!(
            (heard[100] - 0.8 * one_voice).abs() < 1e-5,
            "{}",
            heard[100]
        );
        // Having heard it, the follower sings along.
        assert_eq!(sing_at(&mut r, follower, at, 0.2, seconds(1)), Sung::Heard);
        // A later bucket hears both, mixed for two voices.
        let two_voices = (3.0f32 / 4.0).sqrt();
        r.mix(at, &mut heard, Feed::Room, at + r.delay_of_bucket(2));
        assert!(
            (heard[100] - 1.0 * two_voices).abs() < 1e-5,
            "{}",
            heard[100]
        );
        // A frame the leader has not reached is silent for everyone earlier.
        let later = at + seconds(1);
        r.mix(later, &mut heard, Feed::Room, later + r.delay_of_bucket(1));
        assert_eq!(rms(&heard), 0.0);
    }

    #[test]
    fn a_voice_arriving_after_the_next_bucket_heard_it_is_late_then_lagging() {
        let mut r = room(1, SongSetup::default());
        let start = r.start(LEADER, seconds(100)).unwrap();
        let mut at = start + seconds(1);
        let late = BUCKET_GAP + 1;
        for strike in 1..=LATE_STRIKES {
            at += FRAME as u64;
            assert_eq!(sing_at(&mut r, 2, at, 0.3, late), Sung::Late);
            assert_eq!(r.singer(2).unwrap().lagging, strike == LATE_STRIKES);
        }
        assert!(r.singer(2).unwrap().margin < 0);
        at += FRAME as u64;
        let now = at + r.delay(2).unwrap();
        assert_eq!(r.sing(2, at, &tone(0.3), now), Err(RoomError::Lagging));
        // Nothing of theirs reached the mix.
        let mut heard = vec![0.0; FRAME];
        r.mix(at, &mut heard, Feed::Room, now + seconds(6));
        assert_eq!(rms(&heard), 0.0);
        r.retry(2).unwrap();
        at += FRAME as u64;
        assert_eq!(sing_at(&mut r, 2, at, 0.3, seconds(1)), Sung::Heard);
        assert!(r.singer(2).unwrap().margin > 0);
    }

    #[test]
    fn chunks_must_follow_on_and_never_come_from_the_future() {
        let mut r = room(0, SongSetup::default());
        let now = seconds(100);
        r.sing(LEADER, now - seconds(4), &tone(0.1), now).unwrap();
        let gap = now - seconds(4) + FRAME as u64 + 10;
        assert_eq!(
            r.sing(LEADER, gap, &tone(0.1), now),
            Err(RoomError::Discontinuous {
                expected: now - seconds(4)
            })
        );
        // After a break the next chunk starts afresh.
        r.sing(LEADER, gap, &tone(0.1), now).unwrap();
        // A chunk from a fresh encoder says so, and is taken at once.
        r.restart_voice(LEADER);
        let pressed = gap + 7 * FRAME as u64;
        assert_eq!(r.sing(LEADER, pressed, &tone(0.1), now), Ok(Sung::Heard));
        assert_eq!(
            r.sing(LEADER, now + 1, &tone(0.1), now),
            Err(RoomError::FromTheFuture)
        );
    }

    #[test]
    fn only_the_song_is_mixed_and_the_metronome_stays_out_of_the_recording() {
        let setup = SongSetup {
            bpm: Some(120),
            ..SongSetup::default()
        };
        let mut r = room(1, setup);
        r.recording = true;
        // Before the song starts, voices are not mixed.
        let early = seconds(50);
        sing_at(&mut r, 2, early, 0.4, seconds(1));
        let start = r.start(LEADER, seconds(100)).unwrap();
        let mut heard = vec![0.0; FRAME];
        r.mix(early, &mut heard, Feed::Room, seconds(100));
        assert_eq!(rms(&heard), 0.0);
        // The leader sings the song's first two seconds, frame by frame.
        let frames = (seconds(2) / FRAME as u64) as usize;
        let mut now = 0;
        for f in 1..=frames {
            let end = start + (f * FRAME) as u64;
            now = end + r.delay(LEADER).unwrap() + seconds(1);
            assert_eq!(r.sing(LEADER, end, &tone(0.25), now).unwrap(), Sung::Heard);
        }
        // The metronome is heard on each beat (a beat is 0.5 s at 120 bpm)…
        let mut beat = vec![0.0; FRAME];
        let beat_end = start + seconds(1) / 2 + FRAME as u64;
        r.mix(beat_end, &mut beat, Feed::Room, now);
        let mut between = vec![0.0; FRAME];
        let between_end = start + seconds(1) / 4 + FRAME as u64;
        r.mix(between_end, &mut between, Feed::Room, now);
        let off_voice = |x: &[f32]| x.iter().map(|s| (s - 0.5).abs()).fold(0.0, f32::max);
        assert!(off_voice(&beat) > 0.1, "the click is heard");
        assert!(
            off_voice(&between) < 1e-5,
            "nothing but the voice between beats"
        );
        let end = start + (frames * FRAME) as u64;
        r.stop(LEADER, now).unwrap();
        assert_eq!(r.song(), Some((start, Some(end))));
        // …but the recording, made once every bucket has sent its part, has none.
        for t in 0..30 {
            r.tick(now + seconds(t));
            r.singers
                .values_mut()
                .for_each(|s| s.last_seen = now + seconds(t));
        }
        let recorded = r.drain_recorded();
        let mut mix = Vec::new();
        for item in &recorded {
            if let Recorded::Mix { at, samples } = item {
                assert_eq!(*at as usize, mix.len(), "the mix comes in order");
                mix.extend_from_slice(samples);
            }
        }
        assert_eq!(mix.len() as u64, end - start);
        assert!(
            matches!(recorded.last(), Some(Recorded::Finished { length }) if *length == end - start)
        );
        let beat_at = seconds(1) / 2;
        let around_beat = &mix[beat_at as usize..beat_at as usize + CLICK_SAMPLES as usize];
        let expected = 0.5; // the leader's 0.25 with the boost, one voice
        assert!(around_beat.iter().all(|s| (s - expected).abs() < 1e-5));
        // The leader's stem is their voice as sung, aligned to the song.
        let stem: usize = recorded
            .iter()
            .filter_map(|r| match r {
                Recorded::Stem {
                    singer,
                    at,
                    samples,
                    ..
                } if *singer == LEADER => {
                    assert_eq!((*at as usize) % FRAME, 0);
                    Some(samples.len())
                }
                _ => None,
            })
            .sum();
        assert_eq!(stem as u64, end - start);
    }

    #[test]
    fn rounds_put_the_leader_far_enough_ahead_to_hear_every_repeat() {
        let setup = SongSetup {
            bpm: Some(120),
            rounds: Some(Rounds {
                beats_per_repeat: 8,
                repeats: 3,
            }),
            ..SongSetup::default()
        };
        let mut r = room(1, setup);
        let repeat = seconds(4);
        assert_eq!(r.delay(LEADER).unwrap(), 3 * repeat + BUCKET_GAP);
        let start = r.start(LEADER, seconds(200)).unwrap();
        let at = start + FRAME as u64;
        sing_at(&mut r, LEADER, at, 0.1, seconds(1));
        // The voice is heard again every repeat: the follower hears it four times.
        let listen_now = |pos: Clock, r: &Room| pos + r.delay(2).unwrap();
        let mut heard = vec![0.0; FRAME];
        for k in 0..=3u64 {
            let pos = at + k * repeat;
            r.mix(pos, &mut heard, Feed::Room, listen_now(pos, &r));
            assert!(
                (heard[FRAME / 2] - 0.2).abs() < 1e-5,
                "repeat {k}: {}",
                heard[FRAME / 2]
            );
        }
        let pos = at + 4 * repeat;
        r.mix(pos, &mut heard, Feed::Room, listen_now(pos, &r));
        assert_eq!(heard[FRAME / 2], 0.0);
    }

    #[test]
    fn the_console_shapes_the_mix_and_the_monitor_hears_only_solos() {
        let mut r = room(2, SongSetup::default());
        let start = r.start(LEADER, seconds(100)).unwrap();
        r.set_voice(LEADER, 2, 0.5, true).unwrap();
        assert_eq!(r.set_voice(2, 3, 1.0, false), Err(RoomError::NotLeader));
        r.set_console(
            LEADER,
            Console {
                auto_gain: false,
                backing_volume: 1.0,
                global_volume: 1.5,
            },
        )
        .unwrap();
        let at = start + seconds(2);
        sing_at(&mut r, 2, at, 0.2, seconds(1));
        sing_at(&mut r, 3, at, 0.2, seconds(1));
        let now = at + seconds(30);
        let mut heard = vec![0.0; FRAME];
        r.mix(at, &mut heard, Feed::Room, now);
        assert!((heard[0] - (0.1 + 0.2) * 1.5).abs() < 1e-5, "{}", heard[0]);
        r.mix(at, &mut heard, Feed::Monitor, now);
        assert!((heard[0] - 0.1 * 1.5).abs() < 1e-5, "{}", heard[0]);
    }

    #[test]
    fn the_backing_track_plays_from_the_song_start() {
        let backing: Arc<[f32]> = (0..seconds(2))
            .map(|i| if i < seconds(1) { 0.1 } else { 0.3 })
            .collect();
        let mut r = room(
            0,
            SongSetup {
                backing: Some(backing),
                ..SongSetup::default()
            },
        );
        let start = r.start(LEADER, seconds(100)).unwrap();
        let mut heard = vec![0.0; FRAME];
        let now = seconds(200);
        r.mix(start + FRAME as u64, &mut heard, Feed::Room, now);
        assert!((heard[0] - 0.1).abs() < 1e-6);
        r.mix(
            start + seconds(1) + FRAME as u64,
            &mut heard,
            Feed::Room,
            now,
        );
        assert!((heard[0] - 0.3).abs() < 1e-6);
        r.mix(start + seconds(3), &mut heard, Feed::Room, now);
        assert_eq!(heard[0], 0.0, "after its end");
    }

    #[test]
    fn stopping_halting_and_leadership() {
        let mut r = room(2, SongSetup::default());
        assert_eq!(r.start(2, seconds(100)), Err(RoomError::NotLeader));
        let start = r.start(LEADER, seconds(100)).unwrap();
        let wrote = start + seconds(5);
        r.sing(LEADER, wrote, &tone(0.1), wrote + seconds(4))
            .unwrap();
        // A follower halts at what the leader hears now.
        let now = seconds(120);
        assert_eq!(r.stop(2, now).unwrap(), now - r.delay(LEADER).unwrap());
        // The leader's own stop, later, cannot extend a halted song.
        r.stop(LEADER, seconds(130)).unwrap();
        assert_eq!(r.song().unwrap().1, Some(wrote));
        // Seizing the lead moves the old leader behind.
        r.lead(3, SongSetup::default()).unwrap();
        assert_eq!(r.leader(), Some(3));
        assert_eq!(r.singer(3).unwrap().bucket, 0);
        assert_ne!(r.singer(LEADER).unwrap().bucket, 0);
        assert_eq!(r.song(), None, "taking the lead stops the song");
    }

    #[test]
    fn removed_people_stay_out_and_reconnections_keep_their_place() {
        let mut r = room(2, SongSetup::default());
        let bucket = r.singer(3).unwrap().bucket;
        r.join(3, "S3 again", Part::Singer, seconds(10)).unwrap();
        assert_eq!(r.singer(3).unwrap().bucket, bucket);
        assert_eq!(r.remove(2, 3), Err(RoomError::NotLeader));
        r.remove(LEADER, 3).unwrap();
        assert!(r.singer(3).is_none());
        assert_eq!(
            r.join(3, "S3", Part::Singer, seconds(11)).err(),
            Some(RoomError::Removed)
        );
        r.leave(LEADER);
        assert_eq!(r.leader(), None);
    }

    #[test]
    fn a_room_with_nobody_active_resets_and_lets_go_of_its_buffers() {
        let mut r = room(1, SongSetup::default());
        r.start(LEADER, seconds(100)).unwrap();
        assert!(r.timeline.is_some());
        r.seen(LEADER, seconds(100)).unwrap();
        r.tick(seconds(100) + INACTIVE - 1);
        assert!(r.song().is_some());
        r.tick(seconds(100) + INACTIVE + 1);
        assert_eq!(r.song(), None);
        assert_eq!(r.leader(), None);
        assert!(r.timeline.is_none() && r.monitor.is_none());
    }

    #[test]
    fn setups_out_of_range_are_refused() {
        let mut r = room(0, SongSetup::default());
        let bad = |bpm, rounds| SongSetup {
            bpm,
            rounds,
            backing: None,
        };
        assert!(r.lead(LEADER, bad(Some(5), None)).is_err());
        let rounds = Some(Rounds {
            beats_per_repeat: 4,
            repeats: 2,
        });
        assert!(r.lead(LEADER, bad(None, rounds)).is_err());
        assert!(r.lead(LEADER, bad(Some(100), rounds)).is_ok());
        assert_eq!(r.move_to(LEADER, BUCKETS), Err(RoomError::NoSuchBucket));
    }
}
