//! Waveform peaks and pictures: what a player or an editor draws before the audio has
//! loaded, and what a review page shows for a take.
//!
//! A [`PeaksBuilder`] is a [`PcmSink`] that mixes the stream to mono and keeps the lowest
//! and highest sample of each bucket of frames. The browser gets them as JSON
//! ([`Peaks`]); [`render_png`] and [`render_svg`] draw them. Memory is bounded by the
//! number of buckets, whatever the stream's length: when a stream runs past its cap, pairs
//! of buckets are merged and the bucket length doubles.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::{AudioSpec, MediaError, PcmSink, Result};

/// Most buckets a builder keeps when no count was asked for (about 25 minutes at 48 kHz
/// and 256 frames per bucket before it first halves the resolution).
pub const DEFAULT_MAX_PEAKS: usize = 1 << 18;
/// Largest picture we draw, in pixels on either side.
pub const MAX_PICTURE_SIDE: u32 = 16_384;

/// Min/max pairs of the mono mix, one per `frames_per_peak` frames (the last bucket may
/// be shorter). Serialises as
/// `{"sample_rate":48000,"channels":1,"frames_per_peak":480,"peaks":[[-0.5,0.5],…]}`;
/// `channels` is always 1, since the peaks are of the mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peaks {
    pub sample_rate: u32,
    pub channels: u16,
    pub frames_per_peak: u64,
    pub peaks: Vec<[f32; 2]>,
}

/// Builds [`Peaks`] from a stream; see the module documentation.
pub struct PeaksBuilder {
    spec: AudioSpec,
    frames_per_peak: u64,
    max_peaks: usize,
    filled: u64,
    low: f32,
    high: f32,
    peaks: Vec<[f32; 2]>,
}

impl PeaksBuilder {
    /// About `buckets` pairs over a stream of `total_frames` frames. A stream that turns
    /// out longer than announced still stays within twice `buckets`.
    pub fn with_buckets(spec: AudioSpec, total_frames: u64, buckets: usize) -> Result<Self> {
        if !(1..=DEFAULT_MAX_PEAKS).contains(&buckets) {
            return Err(MediaError::setting(
                "buckets",
                format!("{buckets} is outside 1..={DEFAULT_MAX_PEAKS}"),
            ));
        }
        let frames_per_peak = total_frames.div_ceil(buckets as u64).max(1);
        Ok(PeaksBuilder::new(spec, frames_per_peak, buckets * 2))
    }

    /// One pair per `frames_per_peak` frames, for streams of unknown length; at most
    /// `max_peaks` pairs are kept.
    pub fn with_frames_per_peak(
        spec: AudioSpec,
        frames_per_peak: u64,
        max_peaks: usize,
    ) -> Result<Self> {
        if frames_per_peak == 0 {
            return Err(MediaError::setting(
                "frames_per_peak",
                "a bucket needs at least one frame",
            ));
        }
        if max_peaks < 2 {
            return Err(MediaError::setting("max_peaks", "keep at least 2 peaks"));
        }
        Ok(PeaksBuilder::new(spec, frames_per_peak, max_peaks))
    }

    fn new(spec: AudioSpec, frames_per_peak: u64, max_peaks: usize) -> Self {
        PeaksBuilder {
            spec,
            frames_per_peak,
            max_peaks: max_peaks + max_peaks % 2,
            filled: 0,
            low: f32::INFINITY,
            high: f32::NEG_INFINITY,
            peaks: Vec::new(),
        }
    }

    /// The peaks so far, the partly filled last bucket included.
    pub fn peaks(&self) -> Peaks {
        let mut peaks = self.peaks.clone();
        if self.filled > 0 {
            peaks.push(rounded(self.low, self.high));
        }
        Peaks {
            sample_rate: self.spec.sample_rate,
            channels: 1,
            frames_per_peak: self.frames_per_peak,
            peaks,
        }
    }

    fn close_bucket(&mut self) {
        self.peaks.push(rounded(self.low, self.high));
        self.filled = 0;
        self.low = f32::INFINITY;
        self.high = f32::NEG_INFINITY;
        if self.peaks.len() >= self.max_peaks {
            let half = self.peaks.len() / 2;
            for i in 0..half {
                let (a, b) = (self.peaks[2 * i], self.peaks[2 * i + 1]);
                self.peaks[i] = [a[0].min(b[0]), a[1].max(b[1])];
            }
            self.peaks.truncate(half);
            self.frames_per_peak *= 2;
        }
    }
}

/// Four decimals are finer than any screen and keep the JSON short.
fn rounded(low: f32, high: f32) -> [f32; 2] {
    let round = |x: f32| (x * 10_000.0).round() / 10_000.0;
    [round(low), round(high)]
}

impl PcmSink for PeaksBuilder {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        let channels = self.spec.channels as usize;
        if !samples.len().is_multiple_of(channels) {
            return Err(MediaError::Corrupt(format!(
                "a block of {} samples does not hold whole frames of {channels} channels",
                samples.len()
            )));
        }
        let scale = 1.0 / channels as f32;
        for frame in samples.chunks_exact(channels) {
            let mono = frame.iter().sum::<f32>() * scale;
            self.low = self.low.min(mono);
            self.high = self.high.max(mono);
            self.filled += 1;
            if self.filled == self.frames_per_peak {
                self.close_bucket();
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// An sRGB colour with alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    pub const TRANSPARENT: Rgba = Rgba([0, 0, 0, 0]);

    /// `#rrggbb` or `#rrggbbaa`.
    pub fn parse(text: &str) -> Result<Rgba> {
        let bad = || {
            MediaError::setting(
                "colour",
                format!("`{text}` is not a colour like #1a73e8 or #1a73e880"),
            )
        };
        let hex = text.strip_prefix('#').ok_or_else(bad)?;
        if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut rgba = [0, 0, 0, 255];
        for (i, byte) in rgba.iter_mut().enumerate().take(hex.len() / 2) {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Rgba(rgba))
    }
}

/// Size and colours of a waveform picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Style {
    pub width: u32,
    pub height: u32,
    pub colour: Rgba,
    pub background: Rgba,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            width: 1800,
            height: 280,
            colour: Rgba([0x1a, 0x73, 0xe8, 0xff]),
            background: Rgba::TRANSPARENT,
        }
    }
}

impl Style {
    fn check(&self) -> Result<()> {
        for (field, side) in [("width", self.width), ("height", self.height)] {
            if !(1..=MAX_PICTURE_SIDE).contains(&side) {
                return Err(MediaError::setting(
                    field,
                    format!("{side} px is outside 1..={MAX_PICTURE_SIDE} px"),
                ));
            }
        }
        Ok(())
    }
}

/// The lowest and highest value under each of `width` columns; columns past the end of a
/// short peak list repeat its buckets, so the picture always fills the width.
fn columns(peaks: &Peaks, width: u32) -> impl Iterator<Item = [f32; 2]> + '_ {
    let n = peaks.peaks.len();
    let width = width as usize;
    (0..width).filter_map(move |x| {
        if n == 0 {
            return None;
        }
        let from = x * n / width;
        let to = ((x + 1) * n / width).max(from + 1);
        let slice = &peaks.peaks[from..to.min(n)];
        let low = slice.iter().map(|p| p[0]).fold(f32::INFINITY, f32::min);
        let high = slice.iter().map(|p| p[1]).fold(f32::NEG_INFINITY, f32::max);
        Some([low.clamp(-1.0, 1.0), high.clamp(-1.0, 1.0)])
    })
}

/// Pixel row of a sample value: +1 at the top, −1 at the bottom.
fn row(value: f32, height: u32) -> f32 {
    (1.0 - value) / 2.0 * (height - 1) as f32
}

/// Draws the peaks as a PNG: one vertical bar per pixel column, at least one pixel
/// tall, so silence shows as a centre line.
pub fn render_png(peaks: &Peaks, style: &Style) -> Result<Vec<u8>> {
    style.check()?;
    let (width, height) = (style.width, style.height);
    let mut pixels = style.background.0.repeat((width * height) as usize);
    for (x, [low, high]) in columns(peaks, width).enumerate() {
        let top = row(high, height).round() as u32;
        let bottom = row(low, height).round() as u32;
        for y in top..=bottom.max(top) {
            let at = (y * width + x as u32) as usize * 4;
            pixels[at..at + 4].copy_from_slice(&style.colour.0);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let fail = |e: png::EncodingError| MediaError::Encode(format!("PNG: {e}"));
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(&pixels).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

/// Draws the peaks as an SVG with one filled path: along the highs left to right, back
/// along the lows. It scales to any size (`preserveAspectRatio="none"`).
pub fn render_svg(peaks: &Peaks, style: &Style) -> Result<String> {
    style.check()?;
    let (width, height) = (style.width, style.height);
    let mut svg = String::new();
    let [r, g, b, a] = style.colour.0;
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" preserveAspectRatio="none">"#
    );
    if style.background.0[3] > 0 {
        let [br, bg, bb, ba] = style.background.0;
        let _ = write!(
            svg,
            r##"<rect width="100%" height="100%" fill="#{br:02x}{bg:02x}{bb:02x}" fill-opacity="{:.3}"/>"##,
            ba as f32 / 255.0
        );
    }
    let columns: Vec<[f32; 2]> = columns(peaks, width).collect();
    let mut d = String::with_capacity(columns.len() * 24);
    // A pixel-wide bar per column, as in the PNG: the outline runs along the left and
    // right edge of each column, and a flat signal still gets a one-pixel line.
    for (x, &[_, high]) in columns.iter().enumerate() {
        let y = row(high, height) - 0.5;
        let cmd = if x == 0 { 'M' } else { 'L' };
        let _ = write!(d, "{cmd}{x} {y:.1}L{} {y:.1}", x + 1);
    }
    for (x, &[low, _]) in columns.iter().enumerate().rev() {
        let y = row(low, height) + 0.5;
        let _ = write!(d, "L{} {y:.1}L{x} {y:.1}", x + 1);
    }
    if !d.is_empty() {
        d.push('Z');
    }
    let _ = write!(
        svg,
        r##"<path fill="#{r:02x}{g:02x}{b:02x}" fill-opacity="{:.3}" d="{d}"/></svg>"##,
        a as f32 / 255.0
    );
    Ok(svg)
}
