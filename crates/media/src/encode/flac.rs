//! FLAC, the lossless archive format: what the `archive` preset keeps of every upload and
//! recording, so any later rendition can be made again from it.
//!
//! Encoded with `flacenc` (pure Rust) one 4096-frame block at a time through its
//! frame-level API, not its whole-stream one (which keeps every frame in memory). Blocks
//! are independent, so they are encoded in parallel: the encoder's own thread gathers
//! samples, keeps the MD5 and frame numbers in order and writes frames in order, while a
//! small pool of workers (one per core, at most [`MAX_WORKERS`]) turns blocks into frames,
//! at most two blocks per worker in flight. Memory stays constant; the bytes are the same
//! whatever the number of workers. The STREAMINFO block at the front is written first with
//! "unknown" total length, frame sizes and MD5, which the format allows; on a seekable
//! output it is rewritten at the end with the real values, as `flac` does.
//!
//! Settings: flacenc's defaults with an LPC order of at most 8, as the reference encoder
//! and ffmpeg use at their default level 5 (order 10 costs 7 % more time for 1 % smaller
//! speech files).

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flacenc::bitsink::MemSink;
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::config;
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};

use super::{Out, Output, check_block, check_spec, finished_error, to_int};
use crate::{AudioSpec, MediaError, PcmSink, Result};

/// Frames per FLAC block: the reference encoder's default from level 3 up.
const BLOCK: usize = 4096;
/// STREAMINFO stores the sample rate in 20 bits.
const MAX_RATE: u32 = (1 << 20) - 1;
/// Most LPC coefficients per subframe (level 5 of the reference encoder).
const LPC_ORDER: usize = 8;
/// Most worker threads one encoder starts.
pub const MAX_WORKERS: usize = 4;

pub struct FlacEncoder {
    out: Out,
    spec: AudioSpec,
    bits: u8,
    info: StreamInfo,
    /// Interleaved integer samples of the block being gathered.
    pending: Vec<i32>,
    /// The block as little-endian bytes, for the MD5 (one update per block).
    le_bytes: Vec<u8>,
    context: Context,
    frames: Frames,
    frame_sizes: Option<(usize, usize)>,
    finished: bool,
}

impl FlacEncoder {
    /// An encoder with one worker per core (at most [`MAX_WORKERS`]).
    pub fn new(out: Output, spec: AudioSpec, bits: u8) -> Result<FlacEncoder> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        FlacEncoder::with_workers(out, spec, bits, cores.min(MAX_WORKERS))
    }

    /// An encoder with `workers` threads; 0 or 1 encodes on the caller's thread.
    pub fn with_workers(
        out: Output,
        spec: AudioSpec,
        bits: u8,
        workers: usize,
    ) -> Result<FlacEncoder> {
        check_spec(spec)?;
        if bits != 16 && bits != 24 {
            return Err(MediaError::setting(
                "bits",
                format!("FLAC is written with 16 or 24 bits per sample, not {bits}"),
            ));
        }
        if spec.channels > 8 {
            return Err(MediaError::setting(
                "channels",
                format!("FLAC holds at most 8 channels, not {}", spec.channels),
            ));
        }
        if spec.sample_rate > MAX_RATE {
            return Err(MediaError::setting(
                "sample_rate",
                format!(
                    "FLAC holds sample rates up to {MAX_RATE} Hz, not {}",
                    spec.sample_rate
                ),
            ));
        }
        let channels = spec.channels as usize;
        let mut info = StreamInfo::new(spec.sample_rate as usize, channels, bits as usize)
            .map_err(verify_err)?;
        info.set_block_sizes(BLOCK, BLOCK).map_err(verify_err)?;
        // 0 means "unknown" for the frame sizes, total length and MD5 alike.
        info.set_frame_sizes(0, 0).map_err(verify_err)?;
        let mut config = config::Encoder::default();
        config.subframe_coding.qlpc.lpc_order = LPC_ORDER;
        let config = config.into_verified().map_err(|(_, e)| verify_err(e))?;
        let frames = if workers > 1 {
            Frames::Pool(Pool::start(workers, &config, &info, channels)?)
        } else {
            Frames::Inline(BlockEncoder::new(config, info.clone(), channels)?)
        };
        let mut enc = FlacEncoder {
            out: Out::new(out),
            spec,
            bits,
            info,
            pending: Vec::with_capacity(BLOCK * channels),
            le_bytes: Vec::with_capacity(BLOCK * channels * 3),
            context: Context::new(bits as usize, channels),
            frames,
            frame_sizes: None,
            finished: false,
        };
        let header = enc.header()?;
        enc.out.write_all(&header)?;
        Ok(enc)
    }

    /// `fLaC` and the STREAMINFO block as they stand now (always 42 bytes).
    fn header(&self) -> Result<Vec<u8>> {
        let stream = Stream::with_stream_info(self.info.clone());
        let mut sink = MemSink::<u8>::with_capacity(42 * 8);
        stream
            .write(&mut sink)
            .map_err(|e| MediaError::Encode(format!("FLAC header: {e}")))?;
        Ok(sink.into_inner())
    }

    /// Hands the gathered samples (a whole block, or the last, shorter one) on to be
    /// encoded, and writes whatever frames are ready.
    fn encode_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes_per_sample = self.bits as usize / 8;
        self.le_bytes.clear();
        for v in &self.pending {
            self.le_bytes
                .extend_from_slice(&v.to_le_bytes()[..bytes_per_sample]);
        }
        self.context
            .fill_le_bytes(&self.le_bytes, bytes_per_sample)
            .map_err(|e| MediaError::Encode(format!("FLAC: {e}")))?;
        let number = self.context.current_frame_number().unwrap_or(0);
        match &mut self.frames {
            Frames::Inline(encoder) => {
                let frame = encoder.encode(number, &self.pending)?;
                self.pending.clear();
                write_frame(&mut self.out, &mut self.frame_sizes, frame)?;
            }
            Frames::Pool(pool) => {
                let spare = pool.spare.pop().unwrap_or_default();
                let samples = std::mem::replace(&mut self.pending, spare);
                self.pending.clear();
                pool.submit(number, samples, &mut self.out, &mut self.frame_sizes)?;
            }
        }
        Ok(())
    }
}

fn verify_err(e: flacenc::error::VerifyError) -> MediaError {
    MediaError::Encode(format!("FLAC: {e}"))
}

fn write_frame(
    out: &mut Out,
    frame_sizes: &mut Option<(usize, usize)>,
    frame: &[u8],
) -> Result<()> {
    let size = frame.len();
    *frame_sizes = Some(match *frame_sizes {
        None => (size, size),
        Some((lo, hi)) => (lo.min(size), hi.max(size)),
    });
    out.write_all(frame)?;
    Ok(())
}

/// Where blocks become frames.
enum Frames {
    Inline(BlockEncoder),
    Pool(Pool),
}

/// What turns one block into one frame's bytes: flacenc's frame encoder with its buffers.
struct BlockEncoder {
    config: Verified<config::Encoder>,
    info: StreamInfo,
    framebuf: FrameBuf,
    sink: MemSink<u8>,
}

impl BlockEncoder {
    fn new(
        config: Verified<config::Encoder>,
        info: StreamInfo,
        channels: usize,
    ) -> Result<BlockEncoder> {
        Ok(BlockEncoder {
            config,
            info,
            framebuf: FrameBuf::with_size(channels, BLOCK).map_err(verify_err)?,
            sink: MemSink::with_capacity(BLOCK * channels * 4),
        })
    }

    /// The bytes of frame `number` holding `samples` (interleaved).
    fn encode(&mut self, number: usize, samples: &[i32]) -> Result<&[u8]> {
        self.framebuf
            .fill_interleaved(samples)
            .map_err(|e| MediaError::Encode(format!("FLAC: {e}")))?;
        let frame =
            flacenc::encode_fixed_size_frame(&self.config, &self.framebuf, number, &self.info)
                .map_err(|e| MediaError::Encode(format!("FLAC frame {number}: {e}")))?;
        self.sink.clear();
        frame
            .write(&mut self.sink)
            .map_err(|e| MediaError::Encode(format!("FLAC frame {number}: {e}")))?;
        Ok(self.sink.as_slice())
    }
}

/// A block for a worker, and what comes back.
struct Job {
    number: usize,
    samples: Vec<i32>,
}

struct Done {
    number: usize,
    frame: Result<Vec<u8>>,
    /// The job's sample buffer, handed back for reuse.
    samples: Vec<i32>,
}

/// Worker threads encoding blocks, and the frames that came back out of order.
struct Pool {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
    /// Most blocks handed out and not yet written.
    max_in_flight: usize,
    in_flight: usize,
    /// Frames that came back before the ones ahead of them.
    ready: BTreeMap<usize, Vec<u8>>,
    /// The next frame number to write.
    next: usize,
    spare: Vec<Vec<i32>>,
}

impl Pool {
    fn start(
        workers: usize,
        config: &Verified<config::Encoder>,
        info: &StreamInfo,
        channels: usize,
    ) -> Result<Pool> {
        let (jobs, queue) = sync_channel::<Job>(workers);
        let queue = Arc::new(Mutex::new(queue));
        let (done_tx, done) = channel();
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let encoder = BlockEncoder::new(config.clone(), info.clone(), channels)?;
            let queue = Arc::clone(&queue);
            let done_tx = done_tx.clone();
            let handle = std::thread::Builder::new()
                .name("flac-encode".into())
                .spawn(move || work(encoder, &queue, &done_tx))
                .map_err(|e| MediaError::Encode(format!("FLAC: cannot start a worker: {e}")))?;
            handles.push(handle);
        }
        Ok(Pool {
            jobs: Some(jobs),
            done,
            workers: handles,
            max_in_flight: 2 * workers,
            in_flight: 0,
            ready: BTreeMap::new(),
            next: 0,
            spare: Vec::new(),
        })
    }

    /// Hands a block out, first writing frames (waiting for them if too many blocks are
    /// out).
    fn submit(
        &mut self,
        number: usize,
        samples: Vec<i32>,
        out: &mut Out,
        frame_sizes: &mut Option<(usize, usize)>,
    ) -> Result<()> {
        while self.in_flight >= self.max_in_flight {
            self.collect(out, frame_sizes)?;
        }
        let jobs = self.jobs.as_ref().ok_or_else(finished_error)?;
        jobs.send(Job { number, samples })
            .map_err(|_| MediaError::Encode("FLAC: the encoding workers stopped".into()))?;
        self.in_flight += 1;
        // Write what is already back without waiting.
        while let Ok(done) = self.done.try_recv() {
            self.take(done, out, frame_sizes)?;
        }
        Ok(())
    }

    /// Waits for one frame to come back and writes every frame now in order.
    fn collect(&mut self, out: &mut Out, frame_sizes: &mut Option<(usize, usize)>) -> Result<()> {
        let done = self
            .done
            .recv()
            .map_err(|_| MediaError::Encode("FLAC: the encoding workers stopped".into()))?;
        self.take(done, out, frame_sizes)
    }

    fn take(
        &mut self,
        done: Done,
        out: &mut Out,
        frame_sizes: &mut Option<(usize, usize)>,
    ) -> Result<()> {
        self.in_flight -= 1;
        let mut samples = done.samples;
        samples.clear();
        self.spare.push(samples);
        self.ready.insert(done.number, done.frame?);
        while let Some(frame) = self.ready.remove(&self.next) {
            write_frame(out, frame_sizes, &frame)?;
            self.next += 1;
        }
        Ok(())
    }

    /// Writes every frame still out, then lets the workers go.
    fn finish(&mut self, out: &mut Out, frame_sizes: &mut Option<(usize, usize)>) -> Result<()> {
        self.jobs = None;
        while self.in_flight > 0 {
            self.collect(out, frame_sizes)?;
        }
        for worker in self.workers.drain(..) {
            worker
                .join()
                .map_err(|_| MediaError::Encode("FLAC: an encoding worker crashed".into()))?;
        }
        Ok(())
    }
}

/// A worker: encodes blocks until the queue closes (or nobody waits for frames).
fn work(mut encoder: BlockEncoder, queue: &Mutex<Receiver<Job>>, done: &Sender<Done>) {
    loop {
        let job = {
            let Ok(queue) = queue.lock() else { return };
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        // A panic inside flacenc becomes this frame's error, never a hung encoder.
        let frame = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            encoder.encode(job.number, &job.samples).map(<[u8]>::to_vec)
        }))
        .unwrap_or_else(|_| {
            Err(MediaError::Encode(format!(
                "FLAC frame {}: the encoder failed",
                job.number
            )))
        });
        let reply = Done {
            number: job.number,
            frame,
            samples: job.samples,
        };
        if done.send(reply).is_err() {
            return;
        }
    }
}

impl PcmSink for FlacEncoder {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        check_block(samples, self.spec.channels)?;
        let block_samples = BLOCK * self.spec.channels as usize;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (block_samples - self.pending.len()).min(rest.len());
            let bits = self.bits;
            self.pending
                .extend(rest[..take].iter().map(|&x| to_int(x, bits)));
            rest = &rest[take..];
            if self.pending.len() == block_samples {
                self.encode_pending()?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Err(finished_error());
        }
        self.finished = true;
        self.encode_pending()?;
        if let Frames::Pool(pool) = &mut self.frames {
            pool.finish(&mut self.out, &mut self.frame_sizes)?;
        }
        if self.out.is_seekable() {
            let (lo, hi) = self.frame_sizes.unwrap_or((0, 0));
            self.info.set_frame_sizes(lo, hi).map_err(verify_err)?;
            self.info.set_total_samples(self.context.total_samples());
            self.info.set_md5_digest(&self.context.md5_digest());
            let header = self.header()?;
            self.out.patch(0, &header)?;
        }
        self.out.flush()?;
        Ok(())
    }
}
