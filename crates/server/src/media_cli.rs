//! `tutti media …`: the media engine from the shell, for operators who want to look at a
//! file, convert one, or check what a processing job would make of it. Needs no settings
//! or database; progress bars go to stderr and only when it is a terminal.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use tutti_media::analyse::{AnalysisSettings, analyse};
use tutti_media::decode::Decoder;
use tutti_media::encode::Output;
use tutti_media::pcm::{PcmSink, PcmSource};
use tutti_media::presets::{PRESETS, Preset};
use tutti_media::probe::probe_path;
use tutti_media::transcode::{Target, transcode};
use tutti_media::waveform::{PeaksBuilder, Rgba, Style, render_png, render_svg};

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Show what a file is: container, codec, rate, channels, exact duration, tags.
    Probe {
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Encode with named presets; repeat `--preset P -o OUT` for several outputs from one decode.
    Transcode {
        file: PathBuf,
        /// A preset name (see `tutti media presets`), once per output.
        #[arg(long = "preset", required = true, value_name = "NAME")]
        presets: Vec<String>,
        /// Where each output goes, in the order of the presets.
        #[arg(short = 'o', long = "output", required = true, value_name = "FILE")]
        outputs: Vec<PathBuf>,
        /// Also measure loudness and quality in the same pass, printed as JSON.
        #[arg(long)]
        analyse: bool,
    },
    /// Measure loudness (EBU R128), peaks, clipping, silence and speech activity, as JSON.
    Analyse { file: PathBuf },
    /// Draw the waveform: PNG or SVG by the output's extension, or JSON peaks for `.json`.
    Waveform {
        file: PathBuf,
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        #[arg(long, default_value_t = 1200)]
        width: u32,
        #[arg(long, default_value_t = 200)]
        height: u32,
        /// Colour of the wave, e.g. `#1b5fd6`.
        #[arg(long, default_value = "#1b5fd6")]
        colour: String,
    },
    /// List the encoding presets the studios share.
    Presets,
}

pub async fn run(command: MediaCommand) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || run_blocking(command))
        .await
        .context("the media task crashed")?
}

fn run_blocking(command: MediaCommand) -> anyhow::Result<()> {
    match command {
        MediaCommand::Probe { file, json } => {
            let info =
                probe_path(&file).with_context(|| format!("cannot read {}", file.display()))?;
            if json {
                writeln!(
                    std::io::stdout(),
                    "{}",
                    serde_json::to_string_pretty(&info)?
                )?;
            } else {
                writeln!(std::io::stdout(), "file:      {}", file.display())?;
                writeln!(
                    std::io::stdout(),
                    "format:    {} / {}",
                    info.container,
                    info.codec
                )?;
                writeln!(
                    std::io::stdout(),
                    "audio:     {} Hz, {} channel(s){}",
                    info.sample_rate,
                    info.channels,
                    info.bits_per_sample
                        .map(|b| format!(", {b}-bit"))
                        .unwrap_or_default()
                )?;
                writeln!(
                    std::io::stdout(),
                    "duration:  {:.3} s ({} frames, {})",
                    info.duration_seconds,
                    info.frames,
                    if info.duration_source == "header" {
                        "as the header says"
                    } else {
                        "counted by decoding"
                    }
                )?;
                if info.truncated {
                    writeln!(
                        std::io::stdout(),
                        "warning:   the file is cut off; the duration covers what decodes"
                    )?;
                }
                let t = &info.tags;
                for (label, value) in [
                    ("title", &t.title),
                    ("artist", &t.artist),
                    ("album", &t.album),
                    ("album artist", &t.album_artist),
                ] {
                    if let Some(v) = value {
                        writeln!(std::io::stdout(), "{label:<10} {v}")?;
                    }
                }
                if let Some(n) = t.track_number {
                    writeln!(std::io::stdout(), "track:     {n}")?;
                }
                if let Some(y) = t.year {
                    writeln!(std::io::stdout(), "year:      {y}")?;
                }
                if let Some(cover) = &info.cover {
                    writeln!(
                        std::io::stdout(),
                        "cover:     {} bytes ({})",
                        cover.bytes,
                        cover.mime.as_deref().unwrap_or("unknown type")
                    )?;
                }
            }
            if info.truncated {
                bail!(
                    "{} is cut off: it holds less than its header says or ends mid-packet",
                    file.display()
                );
            }
            Ok(())
        }
        MediaCommand::Transcode {
            file,
            presets,
            outputs,
            analyse,
        } => {
            if presets.len() != outputs.len() {
                bail!(
                    "give one -o OUTPUT for each --preset ({} presets, {} outputs)",
                    presets.len(),
                    outputs.len()
                );
            }
            // Every preset and output name is checked before anything is read or written.
            let chosen = presets
                .iter()
                .zip(&outputs)
                .map(|(name, path)| {
                    let preset = Preset::by_name(name)?;
                    check_output_name(preset, path)?;
                    Ok(preset)
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut decoder = open(&file)?;
            let mut targets = Vec::new();
            for (preset, path) in chosen.into_iter().zip(&outputs) {
                // `archive` keeps a 16-bit master at 16 bits instead of padding it to 24.
                let bits = decoder
                    .bits_per_sample()
                    .and_then(|b| u16::try_from(b).ok());
                let preset = preset.with_source_depth(bits);
                let out = File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                targets.push(Target {
                    preset,
                    output: Output::seekable(BufWriter::with_capacity(1 << 16, out)),
                });
            }
            let bar = progress(&decoder);
            let report = transcode(
                &mut decoder,
                targets,
                analyse.then(AnalysisSettings::default),
                &mut |frames| bar.set_position(frames),
            )?;
            bar.finish_and_clear();
            for ((name, spec), path) in report.outputs.iter().zip(&outputs) {
                eprintln!(
                    "{name}: {} ({} Hz, {} ch)",
                    path.display(),
                    spec.sample_rate,
                    spec.channels
                );
            }
            eprintln!("{:.2} s of audio", report.duration_seconds);
            if let Some(analysis) = &report.analysis {
                writeln!(
                    std::io::stdout(),
                    "{}",
                    serde_json::to_string_pretty(analysis)?
                )?;
            }
            Ok(())
        }
        MediaCommand::Analyse { file } => {
            let mut decoder = open(&file)?;
            let bar = progress(&decoder);
            let mut source = Progress {
                inner: &mut decoder,
                bar: &bar,
                frames: 0,
            };
            let analysis = analyse(&mut source, AnalysisSettings::default())?;
            bar.finish_and_clear();
            writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string_pretty(&analysis)?
            )?;
            Ok(())
        }
        MediaCommand::Waveform {
            file,
            output,
            width,
            height,
            colour,
        } => {
            let frames = match open(&file)?.total_frames() {
                Some(n) => n,
                None => probe_path(&file)?.frames,
            };
            let mut decoder = open(&file)?;
            let bar = progress(&decoder);
            let mut peaks =
                PeaksBuilder::with_buckets(decoder.spec(), frames, width.max(1) as usize)?;
            let channels = decoder.spec().channels as usize;
            let mut done = 0u64;
            while let Some(block) = decoder.read()? {
                done += (block.len() / channels) as u64;
                peaks.write(block)?;
                bar.set_position(done);
            }
            peaks.finish()?;
            bar.finish_and_clear();
            let peaks = peaks.peaks();
            let style = Style {
                width,
                height,
                colour: Rgba::parse(&colour)?,
                ..Style::default()
            };
            let ext = output
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            let bytes = match ext.as_str() {
                "png" => render_png(&peaks, &style)?,
                "svg" => render_svg(&peaks, &style)?.into_bytes(),
                "json" => serde_json::to_vec(&peaks)?,
                other => bail!(
                    "cannot write a waveform as {other:?}; name the output .png, .svg or .json"
                ),
            };
            std::fs::write(&output, bytes)
                .with_context(|| format!("cannot write {}", output.display()))?;
            Ok(())
        }
        MediaCommand::Presets => {
            for preset in PRESETS {
                writeln!(std::io::stdout(), "{:<16} {}", preset.name, preset.summary)?;
            }
            Ok(())
        }
    }
}

/// Other common names for a preset's extension: an Ogg Opus file is often called `.ogg`.
const ALSO_NAMED: &[(&str, &str)] = &[
    ("opus", "ogg"),
    ("opus", "oga"),
    ("webm", "weba"),
    ("wav", "wave"),
];

/// Whether files of `preset` may be named `*.ext` (`ext` in lower case).
fn goes_by(preset: &Preset, ext: &str) -> bool {
    let own = preset.extension();
    own == ext || ALSO_NAMED.contains(&(own, ext))
}

/// Refuses an output whose name says another format than its preset makes (`-o x.flac`
/// with an MP3 preset), naming the fix both ways: the right output name, or presets that
/// make what the name says. A name without an extension (`/dev/null`, a pipe) is taken
/// as it is.
fn check_output_name(preset: &Preset, path: &Path) -> anyhow::Result<()> {
    let Some(ext) = path.extension() else {
        return Ok(());
    };
    let ext = ext.to_string_lossy().to_ascii_lowercase();
    if goes_by(preset, &ext) {
        return Ok(());
    }
    let renamed = path.with_extension(preset.extension());
    let matching: Vec<&str> = PRESETS
        .iter()
        .filter(|p| goes_by(p, &ext))
        .map(|p| p.name)
        .collect();
    let other = if matching.is_empty() {
        format!(" (no preset makes .{ext} files)")
    } else {
        format!(
            ", or choose a preset that makes .{ext} files: {}",
            matching.join(", ")
        )
    };
    bail!(
        "{}: the preset {} makes .{} files, not .{ext}: name the output {}{other}",
        path.display(),
        preset.name,
        preset.extension(),
        renamed.display(),
    )
}

fn open(file: &Path) -> anyhow::Result<Decoder> {
    Decoder::open_path(file).with_context(|| format!("cannot read {}", file.display()))
}

fn progress(decoder: &Decoder) -> ProgressBar {
    let bar = match decoder.total_frames() {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::no_length(),
    };
    let rate = decoder.spec().sample_rate as f64;
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}% {msg} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(match decoder.total_frames() {
        Some(total) => format!("of {:.0} s", total as f64 / rate),
        None => String::new(),
    });
    bar
}

/// Moves a progress bar as a source is read.
struct Progress<'a> {
    inner: &'a mut Decoder,
    bar: &'a ProgressBar,
    frames: u64,
}

impl PcmSource for Progress<'_> {
    fn spec(&self) -> tutti_media::AudioSpec {
        self.inner.spec()
    }

    fn read(&mut self) -> tutti_media::Result<Option<&[f32]>> {
        let channels = self.inner.spec().channels as usize;
        let block = self.inner.read()?;
        if let Some(b) = &block {
            self.frames += (b.len() / channels) as u64;
            self.bar.set_position(self.frames);
        }
        Ok(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(preset: &str, output: &str) -> Result<(), String> {
        check_output_name(Preset::by_name(preset).unwrap(), Path::new(output))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_output_named_for_another_format_is_refused_with_both_fixes() {
        let err = check("music-download", "out/x.flac").unwrap_err();
        assert_eq!(
            err,
            "out/x.flac: the preset music-download makes .mp3 files, not .flac: name the \
             output out/x.mp3, or choose a preset that makes .flac files: archive, flac-16, \
             flac-24"
        );
        let err = check("archive", "x.aac").unwrap_err();
        assert!(
            err.ends_with("name the output x.flac (no preset makes .aac files)"),
            "{err}"
        );
    }

    #[test]
    fn outputs_named_for_their_format_or_not_at_all_pass() {
        for (preset, output) in [
            ("music-download", "x.mp3"),
            ("music-download", "X.MP3"),
            ("music-stream", "x.opus"),
            ("music-stream", "x.ogg"),
            ("speech-light-webm", "x.webm"),
            ("wav-16", "x.wav"),
            ("archive", "x.flac"),
            ("mp3-128", "/dev/null"),
        ] {
            assert_eq!(check(preset, output), Ok(()), "{preset} -o {output}");
        }
        assert!(check("music-stream", "x.webm").is_err(), "Ogg is not WebM");
    }
}
