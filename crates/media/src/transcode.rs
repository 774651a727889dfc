//! One decode, many outputs: the pipeline behind `tutti media transcode` and the studios'
//! processing jobs. The source is decoded once on the calling thread; each output (and
//! the analyser) runs on its own thread behind a small bounded queue, doing its own
//! remix, resample and encode. Outputs therefore encode in parallel, a slow one holds the
//! decoder back instead of piling up blocks, and memory stays constant whatever the length.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use serde::Serialize;

use crate::analyse::{Analyser, Analysis, AnalysisSettings};
use crate::encode::{Output, encoder_for};
use crate::pcm::{AudioSpec, PcmSink, PcmSource};
use crate::presets::Preset;
use crate::resample::convert;
use crate::{MediaError, Result};

/// Blocks in flight per output: enough to smooth out encoder bursts, little memory.
const QUEUE_BLOCKS: usize = 8;

/// One output of a transcode.
pub struct Target {
    pub preset: Preset,
    pub output: Output,
}

/// What a transcode produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source: AudioSpec,
    pub frames: u64,
    pub duration_seconds: f64,
    /// The spec each output was encoded in, in the order given.
    pub outputs: Vec<(String, AudioSpec)>,
    pub analysis: Option<Analysis>,
}

/// Decodes `source` once and feeds every target and, when asked, the analyser.
/// `progress` is called with the frames decoded so far after each block.
pub fn transcode(
    source: &mut dyn PcmSource,
    targets: Vec<Target>,
    analyse: Option<AnalysisSettings>,
    progress: &mut dyn FnMut(u64),
) -> Result<Report> {
    transcode_also(source, targets, analyse, Vec::new(), progress)
}

/// [`transcode`] that also feeds `also`, sinks of the caller's own taking the source's
/// spec (per-sentence measurements, say), each on its own thread like the outputs, so a
/// job that needs more than encodes still decodes once.
pub fn transcode_also(
    source: &mut dyn PcmSource,
    targets: Vec<Target>,
    analyse: Option<AnalysisSettings>,
    also: Vec<Box<dyn PcmSink>>,
    progress: &mut dyn FnMut(u64),
) -> Result<Report> {
    let spec = source.spec();
    let mut specs = Vec::new();
    let mut sinks: Vec<Box<dyn PcmSink>> = also;
    for target in targets {
        let out_spec = target.preset.output_spec(spec);
        let encoder = encoder_for(&target.preset, out_spec, target.output)?;
        sinks.push(convert(spec, out_spec, encoder)?);
        specs.push((target.preset.name.to_string(), out_spec));
    }
    let analyser = analyse.map(|s| Analyser::new(spec, s)).transpose()?;

    std::thread::scope(|scope| {
        let mut senders: Vec<SyncSender<Arc<[f32]>>> = Vec::new();
        let mut workers = Vec::new();
        for sink in sinks {
            let (tx, rx) = sync_channel(QUEUE_BLOCKS);
            senders.push(tx);
            workers.push(scope.spawn(move || drain(rx, sink).map(|_| None)));
        }
        if let Some(analyser) = analyser {
            let (tx, rx) = sync_channel(QUEUE_BLOCKS);
            senders.push(tx);
            workers.push(scope.spawn(move || {
                let mut analyser = analyser;
                drain_into(rx, &mut analyser)?;
                Ok(Some(analyser.report()))
            }));
        }

        let mut frames = 0u64;
        let mut decode_error = None;
        loop {
            let block = match source.read() {
                Ok(Some(block)) => block,
                Ok(None) => break,
                Err(e) => {
                    decode_error = Some(e);
                    break;
                }
            };
            frames += (block.len() / spec.channels as usize) as u64;
            let shared: Arc<[f32]> = Arc::from(block);
            // A closed queue means that output failed; its thread reports why below.
            if senders.iter().any(|tx| tx.send(shared.clone()).is_err()) {
                break;
            }
            progress(frames);
        }
        drop(senders);

        let mut analysis = None;
        let mut first_error = decode_error;
        for worker in workers {
            match worker.join() {
                Ok(Ok(Some(report))) => analysis = Some(report),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error
                        .get_or_insert(MediaError::Encode("an output thread crashed".into()));
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(Report {
            source: spec,
            frames,
            duration_seconds: spec.seconds(frames),
            outputs: specs,
            analysis,
        })
    })
}

fn drain(rx: Receiver<Arc<[f32]>>, mut sink: Box<dyn PcmSink>) -> Result<()> {
    drain_into(rx, sink.as_mut())
}

fn drain_into(rx: Receiver<Arc<[f32]>>, sink: &mut dyn PcmSink) -> Result<()> {
    // Returning early drops `rx`, which tells the decoder to stop.
    for block in rx {
        sink.write(&block)?;
    }
    sink.finish()
}
