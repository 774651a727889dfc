//! A room's audio on the server: each singer's Opus packets decoded once as they arrive
//! and added to the timeline, and each bucket's mix encoded once, however many people
//! sit in it, and handed to the transport to send to all of them. Nothing here
//! allocates per packet once a room is warm: decoding and mixing reuse their buffers.

use std::collections::HashMap;

use opus_pure::{Application, OpusDecoder, OpusEncoder, RateControl, Signal};

use crate::domain::{BUCKETS, Feed, Room, RoomError, SingerId, Sung};
use crate::protocol::{Frame, Kind, MAX_PACKET, MAX_PACKETS};
use crate::timeline::Clock;

/// Samples in one Opus packet both ways: 60 ms, as browsers send them.
pub const FRAME: usize = 2880;
/// The mix's bitrate: voices and a backing track, mono.
pub const MIX_BITRATE: i32 = 48_000;
/// Opus complexity of the mix (libopus's default, 10, is what the benchmark compares).
pub const MIX_COMPLEXITY: i32 = 10;
/// Frames a bucket may fall behind before its stream skips ahead (a stalled server
/// should not send seconds of old audio in a burst).
const MAX_BEHIND: usize = MAX_PACKETS;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MixError {
    #[error(transparent)]
    Room(#[from] RoomError),
    #[error("a voice frame was expected, not a mix frame")]
    NotVoice,
    #[error("packet {index} is not Opus this server can decode: {reason}")]
    Undecodable { index: usize, reason: String },
    #[error("packet {index} holds {samples} samples; voices are sent in packets of {FRAME}")]
    FrameSize { index: usize, samples: usize },
}

/// [`BucketAudio::bucket`] of the leader's monitor mix (the soloed voices alone).
pub const MONITOR: usize = BUCKETS;

/// One bucket's next stretch of mix, encoded, ready to send to everyone in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketAudio {
    /// The bucket, or [`MONITOR`] for the leader's monitor mix.
    pub bucket: usize,
    pub end: Clock,
    /// A whole binary frame ([`Kind::Mix`]).
    pub frame: Vec<u8>,
}

struct BucketStream {
    encoder: OpusEncoder,
    /// Where this bucket's stream continues; none before it starts (or after a skip).
    next: Option<Clock>,
}

pub struct Mixer {
    pub room: Room,
    decoders: HashMap<SingerId, OpusDecoder>,
    streams: Vec<Option<BucketStream>>,
    /// Each bucket's delay when someone listens to it ([`MONITOR`] last), as of the last
    /// tick.
    listening: [Option<Clock>; BUCKETS + 1],
    pcm: Vec<f32>,
    mix: Vec<f32>,
    packets: Vec<u8>,
}

impl Default for Mixer {
    fn default() -> Mixer {
        Mixer::new(Room::new())
    }
}

impl Mixer {
    pub fn new(room: Room) -> Mixer {
        Mixer {
            room,
            decoders: HashMap::new(),
            streams: (0..=BUCKETS).map(|_| None).collect(),
            listening: [None; BUCKETS + 1],
            pcm: Vec::with_capacity(FRAME * MAX_PACKETS),
            mix: vec![0.0; FRAME],
            packets: Vec::with_capacity(MAX_PACKETS * 200),
        }
    }

    /// A voice frame from `id`: decoded (with that singer's own decoder, which keeps
    /// state from packet to packet) and sung into the room.
    pub fn voice(&mut self, id: SingerId, frame: &Frame, now: Clock) -> Result<Sung, MixError> {
        if !frame.kind.is_voice() {
            return Err(MixError::NotVoice);
        }
        if self.room.singer(id).is_none() {
            return Err(RoomError::Unknown.into());
        }
        if frame.kind == Kind::Start {
            self.decoders.remove(&id);
            self.room.restart_voice(id);
        }
        let decoder = match self.decoders.entry(id) {
            std::collections::hash_map::Entry::Occupied(d) => d.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let d = OpusDecoder::new(48_000, 1).map_err(|e| MixError::Undecodable {
                    index: 0,
                    reason: e.to_string(),
                })?;
                v.insert(d)
            }
        };
        self.pcm.clear();
        for (index, packet) in frame.packets.iter().enumerate() {
            let at = self.pcm.len();
            self.pcm.resize(at + FRAME, 0.0);
            let samples = decoder
                .decode(packet, FRAME, &mut self.pcm[at..])
                .map_err(|e| MixError::Undecodable {
                    index,
                    reason: e.to_string(),
                })?;
            if samples != FRAME {
                return Err(MixError::FrameSize { index, samples });
            }
        }
        let sung = self.room.sing(id, frame.end, &self.pcm, now);
        if matches!(sung, Err(RoomError::Discontinuous { .. })) {
            // The client starts a fresh encoder after a break; so does this decoder.
            self.decoders.remove(&id);
        }
        Ok(sung?)
    }

    /// Someone left: their decoder goes with them.
    pub fn leave(&mut self, id: SingerId) {
        self.room.leave(id);
        self.decoders.remove(&id);
    }

    /// The leader removes someone; their decoder goes too.
    pub fn remove(&mut self, by: SingerId, id: SingerId) -> Result<(), RoomError> {
        self.room.remove(by, id)?;
        self.decoders.remove(&id);
        Ok(())
    }

    /// Lets time pass: for each bucket someone sits in, the mix they may now hear (up to
    /// `now - delay`), encoded once. The transport sends each to everyone in its bucket.
    pub fn tick(&mut self, now: Clock) -> Vec<BucketAudio> {
        self.room.tick(now);
        self.listening = [None; BUCKETS + 1];
        for s in self.room.singers() {
            self.listening[s.bucket] = Some(self.room.delay_of_bucket(s.bucket));
        }
        // The leader hears soloed voices once the latest of them has sung: one bucket
        // gap behind the deepest soloed singer.
        let soloed = self
            .room
            .singers()
            .filter(|s| s.soloed)
            .map(|s| s.bucket)
            .max();
        if let (Some(deepest), Some(_)) = (soloed, self.room.leader()) {
            self.listening[MONITOR] =
                Some(self.room.delay_of_bucket(deepest) + crate::domain::BUCKET_GAP);
        }
        for (bucket, delay) in self.listening.iter().enumerate() {
            if delay.is_none() {
                // Nobody listens: the encoder's memory is freed.
                self.streams[bucket] = None;
            }
        }
        self.due(now)
    }

    /// The mix every listened-to bucket may hear by `now`, encoded, with the buckets and
    /// delays as the last [`Mixer::tick`] found them. Called before a voice is added too,
    /// so a bucket's stream has always passed where that voice lands when it is its own
    /// (a singer never hears themself, however soon their audio arrives).
    pub fn due(&mut self, now: Clock) -> Vec<BucketAudio> {
        let mut out = Vec::new();
        for bucket in 0..=BUCKETS {
            let Some(delay) = self.listening[bucket] else {
                continue;
            };
            let hears = now.saturating_sub(delay);
            let until = hears - hears % FRAME as u64;
            if let Some(audio) = self.bucket_audio(bucket, until, now) {
                out.push(audio);
            }
        }
        out
    }

    fn bucket_audio(&mut self, bucket: usize, until: Clock, now: Clock) -> Option<BucketAudio> {
        let (feed, kind) = if bucket == MONITOR {
            (Feed::Monitor, Kind::Monitor)
        } else {
            (Feed::Room, Kind::Mix)
        };
        let stream = match &mut self.streams[bucket] {
            Some(s) => s,
            slot => slot.insert(BucketStream {
                encoder: mix_encoder(),
                next: None,
            }),
        };
        let behind = |next: Clock| until.saturating_sub(next) / FRAME as u64;
        let mut next = match stream.next {
            Some(next) if next <= until && behind(next) <= MAX_BEHIND as u64 => next,
            // First frame, or too far behind (or the delay changed): start afresh.
            _ => {
                let _ = stream.encoder.reset_state();
                until.saturating_sub(FRAME as u64)
            }
        };
        if next >= until {
            stream.next = Some(next);
            return None;
        }
        let mut lens = [0usize; MAX_PACKETS];
        let mut count = 0;
        self.packets.clear();
        let mut scratch = [0u8; MAX_PACKET];
        while next < until && count < MAX_PACKETS {
            let end = next + FRAME as u64;
            self.room.mix(end, &mut self.mix, feed, now);
            let len = stream
                .encoder
                .encode(&self.mix, FRAME, &mut scratch)
                .unwrap_or(0);
            self.packets.extend_from_slice(&scratch[..len]);
            lens[count] = len;
            count += 1;
            next = end;
        }
        stream.next = Some(next);
        let mut packets = Vec::with_capacity(count);
        let mut at = 0;
        for &len in &lens[..count] {
            packets.push(&self.packets[at..at + len]);
            at += len;
        }
        let mut frame = Vec::with_capacity(12 + self.packets.len() + 2 * count);
        Frame::write(kind, next, &packets, &mut frame);
        Some(BucketAudio {
            bucket,
            end: next,
            frame,
        })
    }
}

fn mix_encoder() -> OpusEncoder {
    let mut e = OpusEncoder::new(48_000, 1, Application::Audio)
        .expect("a mono 48 kHz encoder is always possible");
    e.bitrate_bps = MIX_BITRATE;
    e.complexity = MIX_COMPLEXITY;
    e.signal_type = Some(Signal::Music);
    e.rate_control = RateControl::ConstrainedVbr;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Part, SongSetup};
    use crate::timeline::seconds;

    /// A singer's browser: an encoder and the packets of a steady tone.
    struct Voice {
        encoder: OpusEncoder,
        phase: f32,
        freq: f32,
        level: f32,
    }

    impl Voice {
        fn new(freq: f32, level: f32) -> Voice {
            let mut encoder = OpusEncoder::new(48_000, 1, Application::Audio).unwrap();
            encoder.bitrate_bps = 64_000;
            Voice {
                encoder,
                phase: 0.0,
                freq,
                level,
            }
        }

        fn packets(&mut self, n: usize) -> Vec<Vec<u8>> {
            (0..n)
                .map(|_| {
                    let pcm: Vec<f32> = (0..FRAME)
                        .map(|_| {
                            self.phase = (self.phase + self.freq / 48_000.0).fract();
                            self.level * (std::f32::consts::TAU * self.phase).sin()
                        })
                        .collect();
                    let mut out = vec![0; MAX_PACKET];
                    let len = self.encoder.encode(&pcm, FRAME, &mut out).unwrap();
                    out.truncate(len);
                    out
                })
                .collect()
        }
    }

    fn voice_frame(packets: &[Vec<u8>], end: Clock) -> Vec<u8> {
        let refs: Vec<&[u8]> = packets.iter().map(|p| p.as_slice()).collect();
        let mut bytes = Vec::new();
        Frame::write(Kind::Voice, end, &refs, &mut bytes);
        bytes
    }

    /// Decodes a bucket's frames and returns the level of `freq` in their last four
    /// seconds (Goertzel).
    fn level_of(freq: f32, frames: &[Vec<u8>]) -> f32 {
        let mut decoder = OpusDecoder::new(48_000, 1).unwrap();
        let mut pcm = Vec::new();
        for bytes in frames {
            let frame = Frame::parse(bytes).unwrap();
            for p in frame.packets {
                let mut out = vec![0.0; FRAME];
                decoder.decode(p, FRAME, &mut out).unwrap();
                pcm.extend_from_slice(&out);
            }
        }
        let pcm = &pcm[pcm.len().saturating_sub(seconds(4) as usize)..]; // the last 4 s
        // In f64: the sums grow to the amplitude times half the length.
        let w = std::f64::consts::TAU * f64::from(freq) / 48_000.0;
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in pcm {
            let s = f64::from(x) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
        (2.0 * power.sqrt() / pcm.len() as f64) as f32
    }

    #[test]
    fn a_bucket_hears_the_voices_of_earlier_buckets_through_opus_once_encoded() {
        let mut m = Mixer::default();
        let (leader, follower, listener) = (1, 2, 3);
        let t0 = seconds(100);
        m.room.join(leader, "Lead", Part::Singer, t0).unwrap();
        m.room.join(follower, "Two", Part::Singer, t0).unwrap();
        m.room.join(listener, "Ear", Part::Listener, t0).unwrap();
        m.room.lead(leader, SongSetup::default()).unwrap();
        let start = m.room.start(leader, t0).unwrap();
        let mut lead_voice = Voice::new(440.0, 0.2);
        let mut follow_voice = Voice::new(660.0, 0.2);
        let batch = 10; // 600 ms
        let mut heard: HashMap<usize, Vec<Vec<u8>>> = HashMap::new();
        let mut now = t0;
        // Half a minute: each singer sends what they sang along to, one
        // batch at a time, a second after hearing it; the server ticks every 600 ms.
        while now < t0 + seconds(30) {
            now += (FRAME * batch) as u64;
            for (id, voice) in [(leader, &mut lead_voice), (follower, &mut follow_voice)] {
                let delay = m.room.delay(id).unwrap();
                let heard_until = now.saturating_sub(delay + seconds(1));
                let end = (heard_until / FRAME as u64) * FRAME as u64;
                if end < start + (FRAME * batch) as u64 {
                    continue;
                }
                let packets = voice.packets(batch);
                let bytes = voice_frame(&packets, end);
                let frame = Frame::parse(&bytes).unwrap();
                // Each singer's own frames follow on; the first starts their stream.
                let _ = m.voice(id, &frame, now);
            }
            for audio in m.tick(now) {
                heard.entry(audio.bucket).or_default().push(audio.frame);
            }
        }
        let bucket = |id| m.room.singer(id).unwrap().bucket;
        let last = &heard[&bucket(listener)];
        let lead_in_last = level_of(440.0, last);
        let follow_in_last = level_of(660.0, last);
        let follower_hears = &heard[&bucket(follower)];
        let lead_at_follower = level_of(440.0, follower_hears);
        let follow_at_follower = level_of(660.0, follower_hears);
        let leader_hears = &heard[&bucket(leader)];
        // The leader's 0.2 with the leader's boost, scaled for two voices.
        let expected = 0.4 * (3.0f32 / 4.0).sqrt();
        assert!(
            (lead_in_last - expected).abs() < 0.1 * expected,
            "the last bucket hears the leader at {lead_in_last}, not {expected}"
        );
        assert!(follow_in_last > 0.05, "and the follower: {follow_in_last}");
        assert!(
            lead_at_follower > 0.05,
            "the follower hears the leader: {lead_at_follower}"
        );
        assert!(
            follow_at_follower < 0.01,
            "but not themselves: {follow_at_follower}"
        );
        assert!(
            level_of(660.0, leader_hears) < 0.01 && level_of(440.0, leader_hears) < 0.01,
            "the leader hears nobody"
        );
    }

    #[test]
    fn a_start_frame_begins_a_fresh_run_where_a_plain_one_would_not_follow_on() {
        let mut m = Mixer::default();
        m.room.join(1, "A", Part::Singer, 0).unwrap();
        let now = seconds(100);
        let mut first = Voice::new(440.0, 0.2);
        let run = voice_frame(&first.packets(2), seconds(90));
        m.voice(1, &Frame::parse(&run).unwrap(), now).unwrap();
        // Push-to-talk pressed again a second later: a fresh encoder.
        let mut second = Voice::new(440.0, 0.2);
        let packets = second.packets(2);
        let plain = voice_frame(&packets, seconds(91));
        assert_eq!(
            m.voice(1, &Frame::parse(&plain).unwrap(), now),
            Err(RoomError::Discontinuous {
                expected: seconds(90)
            }
            .into())
        );
        let refs: Vec<&[u8]> = packets.iter().map(|p| p.as_slice()).collect();
        let mut start = Vec::new();
        Frame::write(Kind::Start, seconds(92), &refs, &mut start);
        assert_eq!(
            m.voice(1, &Frame::parse(&start).unwrap(), now),
            Ok(Sung::Heard)
        );
        let next = voice_frame(&second.packets(1), seconds(92) + FRAME as u64);
        assert_eq!(
            m.voice(1, &Frame::parse(&next).unwrap(), now),
            Ok(Sung::Heard)
        );
    }

    #[test]
    fn garbage_and_wrong_frames_are_refused_and_leaving_frees_the_decoder() {
        let mut m = Mixer::default();
        m.room.join(1, "A", Part::Singer, 0).unwrap();
        let mut bytes = Vec::new();
        Frame::write(Kind::Mix, seconds(10), &[b"x"], &mut bytes);
        let mix = Frame::parse(&bytes).unwrap();
        assert_eq!(m.voice(1, &mix, seconds(20)), Err(MixError::NotVoice));
        let mut twenty_ms = OpusEncoder::new(48_000, 1, Application::Audio).unwrap();
        let mut out = vec![0; MAX_PACKET];
        let len = twenty_ms.encode(&[0.0; 960], 960, &mut out).unwrap();
        out.truncate(len);
        let mut bytes = Vec::new();
        Frame::write(Kind::Voice, seconds(10), &[out.as_slice()], &mut bytes);
        let frame = Frame::parse(&bytes).unwrap();
        assert_eq!(
            m.voice(1, &frame, seconds(20)),
            Err(MixError::FrameSize {
                index: 0,
                samples: 960
            })
        );
        assert_eq!(m.decoders.len(), 1);
        m.leave(1);
        assert!(m.decoders.is_empty());
        assert_eq!(
            m.voice(1, &frame, seconds(20)),
            Err(RoomError::Unknown.into())
        );
    }
}
