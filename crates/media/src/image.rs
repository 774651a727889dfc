//! Pictures: cover art and profile pictures. This module owns reading the JPEG, PNG and
//! WebP files people upload and turning them into the square, metadata-free variants the
//! studios serve (e.g. 64, 300 and 1200 px in JPEG and WebP).
//!
//! Uploaded pictures are hostile until proven otherwise: a few hundred bytes can claim
//! to be 100 000 × 100 000 pixels. So every picture is sized from its header first and
//! refused with [`MediaError::Limit`] before any pixel buffer is allocated, and the
//! decoders run under an allocation budget ([`MAX_DECODE_BYTES`]).
//!
//! Phone photos are stored sideways with an EXIF orientation tag; we read it, report
//! upright dimensions, and turn the variants upright. Variants are re-encoded from
//! pixels, so no EXIF block (GPS position, camera serial) or any other metadata survives.
//! Colour profiles are dropped too: pixels are passed through as if they were sRGB.
//!
//! Transparent pictures keep their alpha channel in WebP and PNG variants; JPEG has no
//! alpha, so there they are flattened onto white, which is what a transparent logo
//! usually expects to sit on.

use std::io::Cursor;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::error::LimitErrorKind;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use crate::{MediaError, Result};

/// The largest upload we read, in bytes. A cover or a phone photo is well under this.
pub const MAX_INPUT_BYTES: usize = 40 * 1024 * 1024;
/// The most pixels a picture may have (64 megapixels), checked from the header.
pub const MAX_PIXELS: u64 = 64_000_000;
/// The longest side a picture may have, in pixels.
pub const MAX_SIDE: u32 = 30_000;
/// The most memory a decoder may allocate: a 64-megapixel picture at 8 bits per RGBA
/// channel, with some room for the decoder's own tables. 16-bit pictures of more than
/// about 40 megapixels go over it.
pub const MAX_DECODE_BYTES: u64 = 320 * 1024 * 1024;
/// The largest variant we make, in pixels per side.
pub const MAX_VARIANT_SIZE: u32 = 4096;
/// JPEG and lossy WebP quality: visually clean for photos and covers at a third of the
/// size of quality 95.
pub const QUALITY: u8 = 85;

/// A picture format we read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
}

impl ImageFormat {
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }

    fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Webp => "WebP",
        }
    }

    fn to_image(self) -> image::ImageFormat {
        match self {
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Webp => image::ImageFormat::WebP,
        }
    }
}

/// What [`probe_image`] learns from a picture's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: ImageFormat,
    /// Width as the picture is meant to be seen, after its EXIF orientation.
    pub width: u32,
    /// Height as the picture is meant to be seen, after its EXIF orientation.
    pub height: u32,
    /// The EXIF orientation (1 to 8; 1 when the file has none).
    pub orientation: u8,
}

/// One square rendition of a picture.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The size asked for, in pixels per side.
    pub size: u32,
    pub format: ImageFormat,
    pub mime: &'static str,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The source's short side was smaller than `size`, so this variant is only that
    /// big: we never upscale.
    pub capped: bool,
}

/// Reads a picture's format, upright size and orientation from its header, without
/// decoding its pixels.
pub fn probe_image(bytes: &[u8]) -> Result<ImageInfo> {
    Ok(open(bytes)?.info)
}

/// Makes a square variant of the picture for every size in `sizes` and every format in
/// `formats` (size-major order): the picture is cropped to its centre square, scaled
/// down with a Lanczos3 filter, turned upright and encoded without metadata. A size above
/// the picture's short side gives a variant of the short side, marked `capped`.
pub fn variants(bytes: &[u8], sizes: &[u32], formats: &[ImageFormat]) -> Result<Vec<Variant>> {
    if sizes.is_empty() {
        return Err(MediaError::setting("sizes", "ask for at least one size"));
    }
    if let Some(&bad) = sizes.iter().find(|&&s| s == 0 || s > MAX_VARIANT_SIZE) {
        return Err(MediaError::setting(
            "sizes",
            format!("{bad} px is not a variant size; use 1 to {MAX_VARIANT_SIZE}"),
        ));
    }
    if formats.is_empty() {
        return Err(MediaError::setting(
            "formats",
            "ask for at least one format",
        ));
    }

    let opened = open(bytes)?;
    let orientation = opened.orientation;
    let source = opened.decode()?;
    let (w, h) = (source.width(), source.height());
    let side = w.min(h);
    let (left, top) = ((w - side) / 2, (h - side) / 2);

    // Largest first, so each smaller square can be scaled from a larger one at least
    // twice its size instead of from the whole picture: the result looks the same and
    // costs a fraction. Sizes capped to the same pixel size are made once.
    let mut pixel_sizes: Vec<u32> = sizes.iter().map(|&s| s.min(side)).collect();
    pixel_sizes.sort_unstable_by(|a, b| b.cmp(a));
    pixel_sizes.dedup();
    let mut resizer = Resizer::new();
    let mut squares: Vec<(u32, DynamicImage)> = Vec::with_capacity(pixel_sizes.len());
    for px in pixel_sizes {
        let larger = squares
            .iter()
            .rev()
            .find(|(p, _)| *p >= px.saturating_mul(2));
        let square = match larger {
            Some((p, larger)) => scale(larger, &mut resizer, (0, 0, *p), px)?,
            None => {
                // Turned upright last: rotating the small square is cheaper than rotating
                // the whole picture, and the centre square of the turned picture is the
                // turned centre square.
                let mut square = scale(&source, &mut resizer, (left, top, side), px)?;
                square.apply_orientation(orientation);
                square
            }
        };
        squares.push((px, square));
    }
    drop(source);

    let mut encoded: Vec<(u32, ImageFormat, Vec<u8>)> = Vec::new();
    for (px, square) in &squares {
        for &format in formats {
            if !encoded.iter().any(|(p, f, _)| p == px && *f == format) {
                encoded.push((*px, format, encode(square, format)?));
            }
        }
    }
    let mut out = Vec::with_capacity(sizes.len() * formats.len());
    for &size in sizes {
        let px = size.min(side);
        for &format in formats {
            let (_, _, bytes) = encoded
                .iter()
                .find(|(p, f, _)| *p == px && *f == format)
                .expect("every size and format was encoded above");
            out.push(Variant {
                size,
                format,
                mime: format.mime(),
                bytes: bytes.clone(),
                width: px,
                height: px,
                capped: px < size,
            });
        }
    }
    Ok(out)
}

struct Opened<'a> {
    info: ImageInfo,
    orientation: Orientation,
    decoder: Box<dyn ImageDecoder + 'a>,
}

impl Opened<'_> {
    fn decode(self) -> Result<DynamicImage> {
        let format = self.info.format;
        DynamicImage::from_decoder(self.decoder).map_err(|e| image_error(format, e))
    }
}

/// Checks the size of the upload and of the picture its header describes, and leaves a
/// decoder ready to read the pixels under the allocation budget.
fn open(bytes: &[u8]) -> Result<Opened<'_>> {
    if bytes.is_empty() {
        return Err(MediaError::Empty(
            "the picture file has no bytes; choose the file again".into(),
        ));
    }
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(MediaError::Limit(format!(
            "the picture is {:.1} MB; the largest we accept is {} MB — export it smaller \
             or as a JPEG",
            bytes.len() as f64 / 1e6,
            MAX_INPUT_BYTES / (1024 * 1024)
        )));
    }
    let format = sniff(bytes)?;

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.to_image());
    // Our own size check below gives the better message; these limits are the decoders'
    // backstop, and the PNG decoder needs them before it reads the header.
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE * 4);
    limits.max_image_height = Some(MAX_SIDE * 4);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(|e| image_error(format, e))?;

    let (width, height) = decoder.dimensions();
    check_size(width, height)?;
    check_complete(format, bytes)?;
    // A damaged EXIF block costs the orientation, not the upload; damaged pixels are
    // still caught when decoding.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    // `ImageReader::decode` does this reservation itself; `into_decoder` does not.
    limits
        .reserve(decoder.total_bytes())
        .map_err(|e| image_error(format, e))?;
    decoder
        .set_limits(limits)
        .map_err(|e| image_error(format, e))?;

    let sideways = matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    let (width, height) = if sideways {
        (height, width)
    } else {
        (width, height)
    };
    Ok(Opened {
        info: ImageInfo {
            format,
            width,
            height,
            orientation: orientation.to_exif(),
        },
        orientation,
        decoder: Box::new(decoder),
    })
}

/// Tells the format from the first bytes, whatever the file was called.
fn sniff(bytes: &[u8]) -> Result<ImageFormat> {
    match image::guess_format(bytes) {
        Ok(image::ImageFormat::Jpeg) => Ok(ImageFormat::Jpeg),
        Ok(image::ImageFormat::Png) => Ok(ImageFormat::Png),
        Ok(image::ImageFormat::WebP) => Ok(ImageFormat::Webp),
        Ok(other) => Err(MediaError::Unsupported(
            match other.extensions_str().first() {
                Some(ext) => format!(
                    "{} pictures are not supported; save it as JPEG, PNG or WebP",
                    ext.to_uppercase()
                ),
                None => {
                    "this kind of picture is not supported; save it as JPEG, PNG or WebP".into()
                }
            },
        )),
        Err(_) => Err(MediaError::Unsupported(
            "this is not a JPEG, PNG or WebP picture, whatever its name says".into(),
        )),
    }
}

fn check_size(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt(format!(
            "the picture says it is {width} × {height} pixels; export it again"
        )));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS || width > MAX_SIDE || height > MAX_SIDE {
        return Err(MediaError::Limit(format!(
            "the picture is {width} × {height} pixels ({:.0} megapixels); the largest we \
             accept is {} megapixels and {MAX_SIDE} pixels a side — scale it down and \
             upload it again",
            pixels as f64 / 1e6,
            MAX_PIXELS / 1_000_000
        )));
    }
    Ok(())
}

/// Refuses a file cut off before its end, from its structure alone. The decoders can't
/// be asked: the JPEG one, like browsers, paints the missing part grey and succeeds, and
/// none of them reads that far when only probing.
fn check_complete(format: ImageFormat, bytes: &[u8]) -> Result<()> {
    let complete = match format {
        // After the first scan starts, an end-of-image marker must follow. Entropy-coded
        // data escapes 0xFF, so FF D9 appears there only as the real marker. Searched from
        // the end, because it usually is the end: phones append a video or more images
        // after it (motion photos, MPF), which is fine.
        ImageFormat::Jpeg => match jpeg_scan_start(bytes) {
            Some(scan) => bytes[scan..].windows(2).rev().any(|w| w == [0xff, 0xd9]),
            // The decoder has already read the headers; leave anything odder to it.
            None => true,
        },
        ImageFormat::Png => bytes.windows(4).rev().any(|w| w == b"IEND"),
        // The RIFF header states the length of everything after it.
        ImageFormat::Webp => bytes.get(4..8).is_some_and(|len| {
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes"));
            (bytes.len() - 8) as u64 >= u64::from(len)
        }),
    };
    if complete {
        Ok(())
    } else {
        Err(MediaError::Corrupt(format!(
            "the {} file ends before the picture does; the upload may have been cut off, \
             try again",
            format.name()
        )))
    }
}

/// The offset of the first start-of-scan marker, walking the marker segments.
fn jpeg_scan_start(bytes: &[u8]) -> Option<usize> {
    let mut i = 2;
    loop {
        if *bytes.get(i)? != 0xff {
            return None;
        }
        let marker = *bytes.get(i + 1)?;
        match marker {
            0xda => return Some(i),
            // Fill bytes before a marker.
            0xff => i += 1,
            // Markers without a length.
            0x01 | 0xd0..=0xd7 => i += 2,
            _ => {
                let len = u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]);
                i += 2 + usize::from(len);
            }
        }
    }
}

/// Crops `from` to the square `(left, top, side)` and scales it to `px` with a Lanczos3
/// filter (sharp, without the ringing of larger kernels).
fn scale(
    from: &DynamicImage,
    resizer: &mut Resizer,
    (left, top, side): (u32, u32, u32),
    px: u32,
) -> Result<DynamicImage> {
    if px == side {
        return Ok(from.crop_imm(left, top, side, side));
    }
    let from = normalise(from);
    let mut dst = DynamicImage::new(px, px, from.color());
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(left.into(), top.into(), side.into(), side.into());
    resizer
        .resize(from.as_ref(), &mut dst, &options)
        .map_err(|e| MediaError::Encode(format!("scaling the picture failed: {e}")))?;
    Ok(dst)
}

/// The resizer reads every pixel type `DynamicImage` has today without a copy; the enum
/// is non-exhaustive, so anything newer is converted to 8 bits first.
fn normalise(source: &DynamicImage) -> std::borrow::Cow<'_, DynamicImage> {
    use fast_image_resize::IntoImageView;
    if source.pixel_type().is_some() {
        std::borrow::Cow::Borrowed(source)
    } else if source.color().has_alpha() {
        std::borrow::Cow::Owned(DynamicImage::ImageRgba8(source.to_rgba8()))
    } else {
        std::borrow::Cow::Owned(DynamicImage::ImageRgb8(source.to_rgb8()))
    }
}

fn encode(square: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>> {
    let (w, h) = (square.width(), square.height());
    let failed = |e: &dyn std::fmt::Display| {
        MediaError::Encode(format!("writing the {} variant failed: {e}", format.name()))
    };
    match format {
        ImageFormat::Jpeg => {
            let rgb = if square.color().has_alpha() {
                on_white(square)
            } else {
                square.to_rgb8()
            };
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
                .encode_image(&rgb)
                .map_err(|e| failed(&e))?;
            Ok(out)
        }
        ImageFormat::Webp => {
            let memory = if square.color().has_alpha() {
                let rgba = square.to_rgba8();
                webp::Encoder::from_rgba(&rgba, w, h).encode_simple(false, f32::from(QUALITY))
            } else {
                let rgb = square.to_rgb8();
                webp::Encoder::from_rgb(&rgb, w, h).encode_simple(false, f32::from(QUALITY))
            }
            .map_err(|e| failed(&format!("{e:?}")))?;
            Ok(memory.to_vec())
        }
        ImageFormat::Png => {
            let pixels = if square.color().has_alpha() {
                DynamicImage::ImageRgba8(square.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(square.to_rgb8())
            };
            let mut out = Vec::new();
            pixels
                .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
                .map_err(|e| failed(&e))?;
            Ok(out)
        }
    }
}

/// Composites onto white: JPEG has no alpha, and dropping it would show whatever colour
/// the transparent pixels happen to hold (often black).
fn on_white(square: &DynamicImage) -> image::RgbImage {
    let rgba = square.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let a = u16::from(a);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

fn image_error(format: ImageFormat, e: ImageError) -> MediaError {
    let name = format.name();
    match e {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::InsufficientMemory => MediaError::Limit(format!(
                "decoding this {name} would need more than {} MB of memory; save it smaller \
                 or with 8 bits per channel",
                MAX_DECODE_BYTES / (1024 * 1024)
            )),
            _ => MediaError::Limit(format!(
                "this {name} is larger than we accept ({} megapixels, {MAX_SIDE} pixels a \
                 side); scale it down and upload it again",
                MAX_PIXELS / 1_000_000
            )),
        },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Corrupt(format!(
                "the {name} file ends before the picture does; the upload may have been cut \
                 off, try again"
            ))
        }
        ImageError::IoError(io) => MediaError::Io(io),
        ImageError::Unsupported(u) => MediaError::Unsupported(format!(
            "this {name} uses a feature we cannot read ({u}); save it again as a plain \
             {name}"
        )),
        ImageError::Decoding(d) => MediaError::Corrupt(format!(
            "the {name} data is damaged ({d}); the upload may have been cut off, or export \
             the picture again"
        )),
        ImageError::Parameter(p) => MediaError::Corrupt(format!(
            "the {name} data contradicts itself ({p}); export the picture again"
        )),
        ImageError::Encoding(e) => MediaError::Encode(e.to_string()),
    }
}
