//! The file formats a report is written in, small enough to own: Base64 (RFC 4648), PNG (RGB, 8 bits) and
//! ZIP (deflated entries, no encryption, no ZIP64). Compression is flate2's.

use std::io::Write;

use flate2::Compression;
use flate2::write::{DeflateEncoder, ZlibEncoder};

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard Base64 (padding optional, whitespace skipped); None on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// CRC-32 (IEEE 802.3, as PNG and ZIP use it).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A PNG of `width x height` RGB pixels (`rgb.len() == width * height * 3`).
pub fn png_rgb(rgb: &[u8], width: usize, height: usize) -> Vec<u8> {
    assert_eq!(
        rgb.len(),
        width * height * 3,
        "RGB pixels of the stated size"
    );
    let mut raw = Vec::with_capacity((width * 3 + 1) * height);
    for row in rgb.chunks(width * 3).take(height) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(&raw).expect("writing to memory");
    let idat = z.finish().expect("writing to memory");
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&(width as u32).to_be_bytes());
    header.extend_from_slice(&(height as u32).to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, adaptive filters, no interlace
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A PNG of RGBA pixels with the alpha dropped (the report's figures are opaque).
pub fn png_rgba(rgba: &[u8], width: usize, height: usize) -> Vec<u8> {
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    png_rgb(&rgb, width, height)
}

/// The width and height a PNG's header states; None when it is not a PNG.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    (png.len() >= 24 && png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR").then(
        || {
            let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
            (be(16), be(20))
        },
    )
}

/// A ZIP archive of (path, content) entries, each deflated, dated 2026-01-01 (a fixed date keeps the
/// same report byte-identical).
pub fn zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    const TIME: u16 = 0;
    const DATE: u16 = ((2026 - 1980) << 9) | (1 << 5) | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, content) in entries {
        let mut d = DeflateEncoder::new(Vec::new(), Compression::default());
        d.write_all(content).expect("writing to memory");
        let packed = d.finish().expect("writing to memory");
        let crc = crc32(content);
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
            v.extend_from_slice(&0x0800u16.to_le_bytes()); // flags: names in UTF-8
            v.extend_from_slice(&8u16.to_le_bytes()); // deflate
            v.extend_from_slice(&TIME.to_le_bytes());
            v.extend_from_slice(&DATE.to_le_bytes());
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&(packed.len() as u32).to_le_bytes());
            v.extend_from_slice(&(content.len() as u32).to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&packed);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        common(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let (start, size) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // this disk, disk with the directory
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::{DeflateDecoder, ZlibDecoder};
    use std::io::Read;

    #[test]
    fn base64_matches_the_rfc_vectors_and_round_trips() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
            assert_eq!(base64_decode(coded).unwrap(), plain.as_bytes());
        }
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64(&bytes)).unwrap(), bytes);
        assert_eq!(base64_decode("Zm9v!"), None);
    }

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_png_has_valid_chunks_and_holds_the_pixels() {
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8 * 10).collect();
        let png = png_rgb(&rgb, 3, 2);
        assert_eq!(png_size(&png), Some((3, 2)));
        // Walk the chunks: each CRC right, IEND last.
        let mut at = 8;
        let mut kinds = Vec::new();
        let mut idat = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let body = &png[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc32(body), crc);
            kinds.push(String::from_utf8(body[..4].to_vec()).unwrap());
            if &body[..4] == b"IDAT" {
                idat.extend_from_slice(&body[4..]);
            }
            at += 12 + len;
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        let mut raw = Vec::new();
        ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).unwrap();
        assert_eq!(raw.len(), 2 * (1 + 9));
        assert_eq!(&raw[1..10], &rgb[..9]);
        assert_eq!(&raw[11..], &rgb[9..]);
        assert_eq!(png_rgba(&[1, 2, 3, 255], 1, 1), png_rgb(&[1, 2, 3], 1, 1));
        assert_eq!(png_size(b"not a png at all, no header"), None);
    }

    #[test]
    fn a_zip_lists_every_entry_with_its_content() {
        let entries = vec![
            ("report.md".to_string(), b"# Study\n".repeat(50)),
            ("figures/a.png".to_string(), png_rgb(&[9; 12], 2, 2)),
        ];
        let archive = zip(&entries);
        // The end record points at a directory of two entries; each local header leads to its data.
        let end = archive.len() - 22;
        assert_eq!(&archive[end..end + 4], &0x0605_4b50u32.to_le_bytes());
        let count = u16::from_le_bytes([archive[end + 10], archive[end + 11]]);
        assert_eq!(count, 2);
        // The central directory: one record per entry, each pointing at its local header.
        let le32 = |i: usize| u32::from_le_bytes(archive[i..i + 4].try_into().unwrap()) as usize;
        let le16 = |i: usize| u16::from_le_bytes([archive[i], archive[i + 1]]) as usize;
        let (mut at, end_of_directory) = (le32(end + 16), le32(end + 16) + le32(end + 12));
        assert_eq!(end_of_directory, end);
        for (name, _) in &entries {
            assert_eq!(le32(at), 0x0201_4b50, "a central record");
            let name_len = le16(at + 28);
            assert_eq!(&archive[at + 46..at + 46 + name_len], name.as_bytes());
            assert_eq!(le32(le32(at + 42)), 0x0403_4b50, "points at a local header");
            at += 46 + name_len + le16(at + 30) + le16(at + 32);
        }
        assert_eq!(at, end);
        let mut at = 0;
        for (name, content) in &entries {
            assert_eq!(&archive[at..at + 4], &0x0403_4b50u32.to_le_bytes());
            let u16_at = |i: usize| u16::from_le_bytes([archive[i], archive[i + 1]]) as usize;
            let u32_at = |i: usize| u32::from_le_bytes(archive[i..i + 4].try_into().unwrap());
            let (packed, name_len) = (u32_at(at + 18) as usize, u16_at(at + 26));
            assert_eq!(&archive[at + 30..at + 30 + name_len], name.as_bytes());
            let data = &archive[at + 30 + name_len..at + 30 + name_len + packed];
            let mut unpacked = Vec::new();
            DeflateDecoder::new(data)
                .read_to_end(&mut unpacked)
                .unwrap();
            assert_eq!(&unpacked, content);
            assert_eq!(u32_at(at + 14), crc32(content));
            at += 30 + name_len + packed;
        }
    }
}
