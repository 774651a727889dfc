//! Cover-art and profile-picture variants: orientation, alpha, sizes, stripped metadata,
//! and hostile uploads. Every fixture is generated here, so nothing binary is checked in.

use std::time::{Duration, Instant};

use image::{DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};
use tutti_media::MediaError;
use tutti_media::image::{ImageFormat, MAX_INPUT_BYTES, probe_image, variants};

const RED: [u8; 3] = [220, 20, 20];
const GREEN: [u8; 3] = [20, 200, 20];
const BLUE: [u8; 3] = [20, 20, 220];
const WHITE: [u8; 3] = [255, 255, 255];

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(img)
        .unwrap();
    out
}

fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn webp_lossless(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .encode(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// Adds an EXIF APP1 segment right after SOI, the way a phone camera writes one: a
/// big-endian TIFF header and one IFD holding the Orientation tag (0x0112, SHORT), plus a
/// camera-model string standing in for the private data that must not leak.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let model = b"SecretPhone\0";
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
    tiff.extend_from_slice(&2u16.to_be_bytes()); // two entries
    // Orientation: SHORT, count 1, value left-aligned in the 4-byte field.
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    // Model: ASCII, stored after the IFD (8 + 2 + 2*12 + 4 = 38).
    tiff.extend_from_slice(&[0x01, 0x10, 0, 2]);
    tiff.extend_from_slice(&(model.len() as u32).to_be_bytes());
    tiff.extend_from_slice(&38u32.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    tiff.extend_from_slice(model);

    let mut app1 = vec![0xff, 0xe1];
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);

    assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The marker segments before the first scan, e.g. 0xE1 for APP1 (EXIF).
fn jpeg_markers(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xff, 0xd8], "not a JPEG");
    let mut markers = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xff {
        let marker = jpeg[i + 1];
        markers.push(marker);
        if marker == 0xda {
            break;
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        i += 2 + len;
    }
    markers
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A square in four coloured quadrants: red, green / blue, white.
fn quadrants(side: u32) -> RgbImage {
    RgbImage::from_fn(side, side, |x, y| {
        Rgb(match (x < side / 2, y < side / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        })
    })
}

/// Noise, so a JPEG of it has plenty of scan data to cut into.
fn noise(w: u32, h: u32) -> RgbImage {
    let mut state = 0x2545_f491_u32;
    RgbImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        Rgb([a, b, c])
    })
}

fn close(actual: [u8; 3], expected: [u8; 3]) -> bool {
    actual
        .iter()
        .zip(expected)
        .all(|(&a, e)| a.abs_diff(e) <= 40)
}

fn pixel(bytes: &[u8], x: u32, y: u32) -> [u8; 3] {
    let img = image::load_from_memory(bytes).unwrap().to_rgb8();
    img.get_pixel(x, y).0
}

#[test]
fn probe_reads_format_and_size_of_each_format() {
    let img = noise(40, 30);
    for (bytes, format) in [
        (jpeg(&img), ImageFormat::Jpeg),
        (png(&DynamicImage::ImageRgb8(img.clone())), ImageFormat::Png),
        (webp_lossless(&img), ImageFormat::Webp),
    ] {
        let info = probe_image(&bytes).unwrap();
        assert_eq!(info.format, format);
        assert_eq!((info.width, info.height, info.orientation), (40, 30, 1));
    }
}

#[test]
fn exif_orientation_is_applied_and_stripped() {
    // Orientation 6: the camera was turned clockwise, so the picture must turn 90°
    // clockwise to be upright; stored 64 × 32 is seen as 32 × 64.
    let sideways = with_exif_orientation(&jpeg(&noise(64, 32)), 6);
    let info = probe_image(&sideways).unwrap();
    assert_eq!((info.width, info.height, info.orientation), (32, 64, 6));

    let source = with_exif_orientation(&jpeg(&quadrants(64)), 6);
    assert!(jpeg_markers(&source).contains(&0xe1));
    assert!(contains(&source, b"SecretPhone"));

    let out = variants(&source, &[32], &[ImageFormat::Jpeg, ImageFormat::Webp]).unwrap();
    assert_eq!(out.len(), 2);
    for v in &out {
        // Turned clockwise, the stored bottom-left (blue) comes to the top left and the
        // stored top-left (red) to the top right.
        assert!(close(pixel(&v.bytes, 2, 2), BLUE), "{:?}", v.format);
        assert!(close(pixel(&v.bytes, 29, 2), RED), "{:?}", v.format);
        assert!(close(pixel(&v.bytes, 2, 29), WHITE), "{:?}", v.format);
        assert!(close(pixel(&v.bytes, 29, 29), GREEN), "{:?}", v.format);
        assert!(!contains(&v.bytes, b"Exif") && !contains(&v.bytes, b"EXIF"));
        assert!(!contains(&v.bytes, b"SecretPhone"));
    }
    let markers = jpeg_markers(&out[0].bytes);
    assert!(!markers.contains(&0xe1), "APP1 in output: {markers:x?}");

    // 180°: the white quadrant comes to the top left.
    let upside_down = with_exif_orientation(&jpeg(&quadrants(64)), 3);
    let out = variants(&upside_down, &[32], &[ImageFormat::Jpeg]).unwrap();
    assert!(close(pixel(&out[0].bytes, 2, 2), WHITE));
}

#[test]
fn transparency_becomes_white_in_jpeg_and_stays_in_webp() {
    // Transparent pixels hold black, which is what shows if alpha is simply dropped.
    let logo = RgbaImage::from_fn(100, 100, |x, _| {
        if x < 50 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([20, 20, 220, 255])
        }
    });
    let source = png(&DynamicImage::ImageRgba8(logo));
    let out = variants(&source, &[50], &[ImageFormat::Jpeg, ImageFormat::Webp]).unwrap();

    assert!(close(pixel(&out[0].bytes, 5, 25), WHITE));
    assert!(close(pixel(&out[0].bytes, 45, 25), BLUE));

    let webp = image::load_from_memory(&out[1].bytes).unwrap().to_rgba8();
    assert!(
        webp.get_pixel(5, 25).0[3] < 10,
        "transparent part lost its alpha"
    );
    assert!(webp.get_pixel(45, 25).0[3] > 245);
}

#[test]
fn variants_are_square_centre_crops_and_never_upscaled() {
    // A wide picture with a red centre square between green bands.
    let wide = RgbImage::from_fn(500, 300, |x, _| {
        Rgb(if (100..400).contains(&x) { RED } else { GREEN })
    });
    let source = jpeg(&wide);
    let out = variants(
        &source,
        &[64, 300, 1200],
        &[ImageFormat::Jpeg, ImageFormat::Webp],
    )
    .unwrap();

    let summary: Vec<_> = out
        .iter()
        .map(|v| (v.size, v.format, v.width, v.capped))
        .collect();
    assert_eq!(
        summary,
        [
            (64, ImageFormat::Jpeg, 64, false),
            (64, ImageFormat::Webp, 64, false),
            (300, ImageFormat::Jpeg, 300, false),
            (300, ImageFormat::Webp, 300, false),
            (1200, ImageFormat::Jpeg, 300, true),
            (1200, ImageFormat::Webp, 300, true),
        ]
    );
    for v in &out {
        assert_eq!(v.mime, v.format.mime());
        let info = probe_image(&v.bytes).unwrap();
        assert_eq!(info.format, v.format);
        assert_eq!((info.width, info.height), (v.width, v.height));
        // The green bands are cropped away.
        let edge = v.width - 1;
        assert!(close(pixel(&v.bytes, 0, 0), RED), "{}", v.size);
        assert!(close(pixel(&v.bytes, edge, edge), RED), "{}", v.size);
    }
    // Lossy WebP ("VP8 " chunk), not lossless ("VP8L").
    assert!(contains(&out[1].bytes, b"VP8 "));
}

#[test]
fn png_variants_are_offered_too() {
    let source = webp_lossless(&quadrants(80));
    let out = variants(&source, &[40], &[ImageFormat::Png]).unwrap();
    assert_eq!(out[0].mime, "image/png");
    assert!(close(pixel(&out[0].bytes, 2, 2), RED));
}

#[test]
fn bad_settings_name_the_field() {
    let source = jpeg(&quadrants(16));
    for (sizes, formats, field) in [
        (&[][..], &[ImageFormat::Jpeg][..], "sizes"),
        (&[0][..], &[ImageFormat::Jpeg][..], "sizes"),
        (&[100_000][..], &[ImageFormat::Jpeg][..], "sizes"),
        (&[64][..], &[][..], "formats"),
    ] {
        match variants(&source, sizes, formats) {
            Err(MediaError::Setting { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{sizes:?} {formats:?}: {other:?}"),
        }
    }
}

#[test]
fn empty_input_is_empty() {
    assert!(matches!(probe_image(&[]), Err(MediaError::Empty(_))));
    assert!(matches!(
        variants(&[], &[64], &[ImageFormat::Jpeg]),
        Err(MediaError::Empty(_))
    ));
}

#[test]
fn text_named_png_is_unsupported() {
    let text = b"Hello! This is a shopping list, saved as cover.png by mistake.\n";
    let err = probe_image(text).unwrap_err();
    assert!(matches!(err, MediaError::Unsupported(_)), "{err:?}");
    assert!(err.to_string().contains("JPEG, PNG or WebP"), "{err}");
}

#[test]
fn other_picture_formats_are_unsupported_by_name() {
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    let err = probe_image(gif).unwrap_err();
    assert!(matches!(err, MediaError::Unsupported(_)), "{err:?}");
    assert!(err.to_string().contains("GIF"), "{err}");
}

#[test]
fn truncated_jpeg_is_corrupt() {
    let whole = jpeg(&noise(256, 256));
    // Cut inside the headers: even probing fails.
    let err = probe_image(&whole[..100]).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt(_)), "{err:?}");
    // Cut inside the pixel data, which the decoder alone would paint grey.
    assert_truncation_is_corrupt(&whole);
}

#[test]
fn truncated_png_and_webp_are_corrupt() {
    assert_truncation_is_corrupt(&png(&DynamicImage::ImageRgb8(noise(128, 128))));
    assert_truncation_is_corrupt(&webp_lossless(&noise(128, 128)));
}

fn assert_truncation_is_corrupt(whole: &[u8]) {
    let half = &whole[..whole.len() / 2];
    let err = probe_image(half).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("cut off"), "{err}");
    let err = variants(half, &[64], &[ImageFormat::Jpeg]).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt(_)), "{err:?}");
}

#[test]
fn data_after_the_jpeg_end_is_accepted() {
    // Motion photos append a video after the picture's end-of-image marker.
    let mut motion = jpeg(&quadrants(64));
    motion.extend_from_slice(b"\0\0\0\x18ftypmp42 and then a video without an end marker");
    let out = variants(&motion, &[32], &[ImageFormat::Jpeg]).unwrap();
    assert!(close(pixel(&out[0].bytes, 2, 2), RED));
}

/// A PNG whose header claims `width` × `height` RGBA pixels, followed by a few bytes of
/// deflate data: the shape of a decompression bomb.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA, deflate, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn assert_limit_quickly(bytes: &[u8], mention: &str) {
    let start = Instant::now();
    let err = probe_image(bytes).unwrap_err();
    assert!(matches!(err, MediaError::Limit(_)), "{err:?}");
    assert!(err.to_string().contains(mention), "{err}");
    let err = variants(bytes, &[64], &[ImageFormat::Jpeg]).unwrap_err();
    assert!(matches!(err, MediaError::Limit(_)), "{err:?}");
    // Allocating 40 GB of pixels would take far longer than this, or abort.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn png_claiming_ten_gigapixels_is_refused_from_its_header() {
    let bomb = png_claiming(100_000, 100_000);
    assert!(bomb.len() < 100);
    assert_limit_quickly(&bomb, "100000 × 100000");
}

#[test]
fn png_over_the_pixel_limit_but_within_side_limits_is_refused() {
    // 9000 × 9000 = 81 megapixels: each side is fine, the area is not.
    assert_limit_quickly(&png_claiming(9_000, 9_000), "81 megapixels");
}

#[test]
fn jpeg_claiming_huge_dimensions_is_refused() {
    let mut bytes = jpeg(&quadrants(16));
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("baseline JPEG has SOF0");
    // SOF0: marker, length (2), precision (1), height (2), width (2).
    bytes[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
    assert_limit_quickly(&bytes, "60000 × 60000");
}

#[test]
fn oversized_upload_is_refused_before_reading() {
    let mut big = jpeg(&quadrants(16));
    big.resize(MAX_INPUT_BYTES + 1, 0);
    assert_limit_quickly(&big, "MB");
}

mod mangled {
    use super::*;
    use proptest::prelude::*;

    fn sources() -> Vec<Vec<u8>> {
        let img = noise(48, 40);
        vec![
            with_exif_orientation(&jpeg(&img), 6),
            png(&DynamicImage::ImageRgb8(img.clone())),
            webp_lossless(&img),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Damaged uploads give an error or a picture, never a panic.
        #[test]
        fn damaged_pictures_never_panic(
            which in 0usize..3,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = sources().swap_remove(which);
            for (at, value) in flips {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            let len = cut.index(bytes.len()) + 1;
            let bytes = &bytes[..len];
            let _ = probe_image(bytes);
            let _ = variants(bytes, &[16], &[ImageFormat::Jpeg, ImageFormat::Webp]);
        }
    }
}
