//! Archives users bring their data in: `.tar` (POSIX ustar), gzip, and `.zip` (stored or deflated
//! entries). Each refuses an archive that would expand past a limit, and names the archive in every
//! message.

use std::io::Read;

use crate::DataError;

/// The most an archive may expand to: CIFAR's archives hold ~180 MB, and a dataset here is kept in the
/// page's memory.
pub const MAX_ARCHIVE_BYTES: u64 = 512 << 20;

/// The files of a `.tar` archive (POSIX ustar, as `tar` writes it): (path, bytes) of each regular file.
/// Refuses an archive that ends inside a file.
pub fn untar(archive: &str, bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, DataError> {
    let mut files = Vec::new();
    let mut at = 0;
    let truncated = |at: usize| DataError::Truncated {
        file: archive.into(),
        expected: at as u64 + 512,
        got: bytes.len() as u64,
    };
    while at + 512 <= bytes.len() {
        let header = &bytes[at..at + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let text = |range: std::ops::Range<usize>| {
            let field = &header[range];
            let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
            String::from_utf8_lossy(&field[..end]).trim().to_string()
        };
        let size = u64::from_str_radix(&text(124..136), 8).map_err(|_| {
            DataError::InvalidOption(format!(
                "{archive} is not a tar archive (entry at byte {at} has no size); pick the .tar.gz as downloaded"
            ))
        })? as usize;
        let prefix = text(345..500);
        let name = text(0..100);
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = header[156];
        let start = at + 512;
        let end = start.checked_add(size).ok_or_else(|| truncated(at))?;
        if end > bytes.len() {
            return Err(truncated(end));
        }
        if kind == b'0' || kind == 0 {
            files.push((path, bytes[start..end].to_vec()));
        }
        at = start + size.div_ceil(512) * 512;
    }
    Ok(files)
}

/// Inflates a gzip stream, refusing one that grows past `limit` bytes.
pub fn gunzip_limited(file: &str, bytes: &[u8], limit: u64) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::BadGzip {
            file: file.into(),
            reason: e.to_string(),
        })?;
    if out.len() as u64 > limit {
        return Err(DataError::InvalidOption(format!(
            "{file} expands past {} MB, more than a dataset here may take; pick the binary CIFAR archive",
            limit >> 20
        )));
    }
    Ok(out)
}

/// The last segment of a path as a folder picker, an archive or a URL gives it: the file's own name.
pub fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Little-endian integers at an offset, or None past the end.
fn le(bytes: &[u8], at: usize, len: usize) -> Option<u64> {
    let field = bytes.get(at..at.checked_add(len)?)?;
    Some(field.iter().rev().fold(0u64, |v, &b| (v << 8) | b as u64))
}

/// The files of a `.zip` archive (PKWARE's APPNOTE: the central directory at the end lists every entry;
/// each entry's data follows its local header, stored or deflated): (path, bytes) of each file, folders
/// left out. Refuses ZIP64 and encrypted archives, other compression methods, and archives whose entries
/// expand past `limit` bytes in all (checked against what actually inflates, not only what the directory
/// claims).
pub fn unzip(archive: &str, bytes: &[u8], limit: u64) -> Result<Vec<(String, Vec<u8>)>, DataError> {
    let bad = |reason: &str| {
        DataError::InvalidOption(format!(
            "{archive} is not a zip archive this page can read ({reason}); make it again with a standard zip tool"
        ))
    };
    // The end-of-central-directory record: 22 bytes plus a comment of up to 65,535.
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let end = (search_from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| le(bytes, i, 4) == Some(0x0605_4b50))
        .ok_or_else(|| bad("no central directory at its end"))?;
    let entries = le(bytes, end + 10, 2).unwrap_or(0) as usize;
    let mut at = le(bytes, end + 16, 4).unwrap_or(u64::MAX) as usize;
    if entries == 0xffff || at == 0xffff_ffff {
        return Err(bad("ZIP64, for archives past 4 GB"));
    }
    let mut files = Vec::with_capacity(entries);
    let mut total = 0u64;
    for _ in 0..entries {
        if le(bytes, at, 4) != Some(0x0201_4b50) {
            return Err(bad("a damaged central directory"));
        }
        let field = |offset: usize, len: usize| {
            le(bytes, at + offset, len).ok_or_else(|| bad("a cut-off entry"))
        };
        let flags = field(8, 2)?;
        let method = field(10, 2)?;
        let compressed = field(20, 4)? as usize;
        let size = field(24, 4)?;
        let (name_len, extra_len, comment_len) = (
            field(28, 2)? as usize,
            field(30, 2)? as usize,
            field(32, 2)? as usize,
        );
        let local = field(42, 4)? as usize;
        let name_bytes = bytes
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("a cut-off entry"))?;
        let name = String::from_utf8_lossy(name_bytes).replace('\\', "/");
        at += 46 + name_len + extra_len + comment_len;
        if name.ends_with('/') {
            continue;
        }
        if flags & 1 == 1 {
            return Err(bad("it is encrypted"));
        }
        if le(bytes, local, 4) != Some(0x0403_4b50) {
            return Err(bad("an entry's header is missing"));
        }
        let start = local
            + 30
            + le(bytes, local + 26, 2).unwrap_or(0) as usize
            + le(bytes, local + 28, 2).unwrap_or(0) as usize;
        let data = bytes
            .get(start..start.saturating_add(compressed))
            .ok_or_else(|| DataError::Truncated {
                file: archive.into(),
                expected: (start + compressed) as u64,
                got: bytes.len() as u64,
            })?;
        let room = limit.saturating_sub(total);
        if size > room {
            return Err(too_big(archive, limit));
        }
        let content = match method {
            0 => data.to_vec(),
            8 => {
                let mut out = Vec::with_capacity(size as usize);
                flate2::read::DeflateDecoder::new(data)
                    .take(room + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| bad(&format!("{name} does not inflate: {e}")))?;
                out
            }
            other => return Err(bad(&format!("{name} uses compression method {other}"))),
        };
        total += content.len() as u64;
        if total > limit {
            return Err(too_big(archive, limit));
        }
        files.push((name, content));
    }
    Ok(files)
}

fn too_big(archive: &str, limit: u64) -> DataError {
    DataError::InvalidOption(format!(
        "{archive} expands past {} MB, more than a dataset here may take; import fewer or smaller images",
        limit >> 20
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A zip archive of the files, as a standard tool writes it: each entry deflated (or stored when
    /// `stored`), then the central directory and its end record.
    pub fn zip(files: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut directory = Vec::new();
        for (name, content) in files {
            let data = if stored {
                content.to_vec()
            } else {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut e, content).unwrap();
                e.finish().unwrap()
            };
            let method: u16 = if stored { 0 } else { 8 };
            let offset = out.len() as u32;
            let mut header = Vec::new();
            header.extend(0x0403_4b50u32.to_le_bytes());
            header.extend([20, 0, 0, 0]);
            header.extend(method.to_le_bytes());
            header.extend([0; 8]); // time, date, crc (not checked)
            header.extend((data.len() as u32).to_le_bytes());
            header.extend((content.len() as u32).to_le_bytes());
            header.extend((name.len() as u16).to_le_bytes());
            header.extend(0u16.to_le_bytes());
            out.extend(&header);
            out.extend(name.as_bytes());
            out.extend(&data);
            let mut entry = Vec::new();
            entry.extend(0x0201_4b50u32.to_le_bytes());
            entry.extend([20, 0, 20, 0, 0, 0]);
            entry.extend(method.to_le_bytes());
            entry.extend([0; 8]);
            entry.extend((data.len() as u32).to_le_bytes());
            entry.extend((content.len() as u32).to_le_bytes());
            entry.extend((name.len() as u16).to_le_bytes());
            entry.extend([0; 12]);
            entry.extend(offset.to_le_bytes());
            entry.extend(name.as_bytes());
            directory.extend(entry);
        }
        let start = out.len() as u32;
        out.extend(&directory);
        out.extend(0x0605_4b50u32.to_le_bytes());
        out.extend([0; 4]);
        out.extend((files.len() as u16).to_le_bytes());
        out.extend((files.len() as u16).to_le_bytes());
        out.extend((directory.len() as u32).to_le_bytes());
        out.extend(start.to_le_bytes());
        out.extend([0, 0]);
        out
    }

    #[test]
    fn zip_entries_come_back_stored_or_deflated() {
        let big = vec![7u8; 5000];
        for stored in [false, true] {
            let archive = zip(&[("cats/a.png", b"abc"), ("dogs/b.png", &big)], stored);
            let files = unzip("pets.zip", &archive, 1 << 20).unwrap();
            assert_eq!(files.len(), 2);
            assert_eq!(files[0], ("cats/a.png".to_string(), b"abc".to_vec()));
            assert_eq!(files[1].1, big);
        }
    }

    #[test]
    fn damaged_and_oversized_zips_are_refused_with_the_name() {
        let archive = zip(
            &[("a/x.png", &[1u8; 4000]), ("b/y.png", &[2u8; 4000])],
            false,
        );
        let err = unzip("pets.zip", &archive, 6000).unwrap_err().to_string();
        assert!(err.contains("pets.zip expands past"), "{err}");
        let err = unzip("pets.zip", &archive[..archive.len() - 30], 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(err.contains("pets.zip"), "{err}");
        let err = unzip("notes.zip", b"hello", 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no central directory"), "{err}");
        // A directory that lies about an entry's size is caught by what actually inflates.
        let mut liar = zip(&[("a/x.png", &[1u8; 4000])], false);
        let entry = liar.len() - 22 - 46 - 7;
        liar[entry + 24..entry + 28].copy_from_slice(&10u32.to_le_bytes());
        let err = unzip("liar.zip", &liar, 100).unwrap_err().to_string();
        assert!(err.contains("expands past"), "{err}");
    }
}
