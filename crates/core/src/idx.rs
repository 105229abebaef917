//! The IDX file format of MNIST and its relatives, optionally gzip-compressed.
//!
//! Layout (<http://yann.lecun.com/exdb/mnist/>): a big-endian magic number `0x0000 TT DD` where `TT = 0x08`
//! means unsigned bytes and `DD` is the number of dimensions, then `DD` big-endian u32 sizes, then the data.

use std::io::Read;

use super::DataError;

/// The data type code for unsigned bytes, the only one these datasets use.
const TYPE_U8: u32 = 0x08;
/// Magic number of an image file: unsigned bytes, 3 dimensions (count, rows, cols).
pub const IMAGES_MAGIC: u32 = (TYPE_U8 << 8) | 3;
/// Magic number of a label file: unsigned bytes, 1 dimension (count).
pub const LABELS_MAGIC: u32 = (TYPE_U8 << 8) | 1;
/// The two bytes every gzip stream starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Refuse to inflate past this: the largest dataset of this family (EMNIST byclass train) is ~550 MB.
const MAX_INFLATED_BYTES: u64 = 1 << 30;

/// Images as one contiguous buffer of `count * channels * rows * cols` bytes: image after image, each
/// channel after channel (planar, as CIFAR stores them and convolutions take them), each row-major. IDX
/// files have one channel; the colour datasets three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Bytes per image: `channels * rows * cols`.
    pub fn image_len(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// Pixels of one image.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.image_len();
        &self.pixels[index * size..(index + 1) * size]
    }
}

/// Labels, one byte per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxLabels {
    pub labels: Vec<u8>,
}

/// Decompresses `bytes` when they are gzip, else returns them as they are (plain IDX files work too).
pub fn maybe_gunzip(file: &str, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::with_capacity(bytes.len() * 2);
    let decoder = flate2::read::GzDecoder::new(bytes);
    decoder
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::BadGzip {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
    if out.len() as u64 > MAX_INFLATED_BYTES {
        return Err(DataError::BadGzip {
            file: file.to_string(),
            reason: format!("it inflates to more than {MAX_INFLATED_BYTES} bytes"),
        });
    }
    Ok(out)
}

/// Reads the header: checks the magic number and returns the dimension sizes and the header length.
fn header(file: &str, bytes: &[u8], magic: u32) -> Result<(Vec<u32>, usize), DataError> {
    let dims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * dims;
    if bytes.len() < 4 {
        return Err(DataError::Truncated {
            file: file.into(),
            expected: header_len as u64,
            got: bytes.len() as u64,
        });
    }
    let got = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if got != magic {
        return Err(DataError::WrongMagic {
            file: file.into(),
            expected: magic,
            got,
        });
    }
    if bytes.len() < header_len {
        return Err(DataError::Truncated {
            file: file.into(),
            expected: header_len as u64,
            got: bytes.len() as u64,
        });
    }
    let sizes = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((sizes, header_len))
}

/// Checks that the body is exactly `expected` bytes long.
fn check_length(
    file: &str,
    body: &[u8],
    header_len: usize,
    expected: u64,
) -> Result<(), DataError> {
    let got = body.len() as u64;
    let total = expected.saturating_add(header_len as u64);
    if got < expected {
        return Err(DataError::Truncated {
            file: file.into(),
            expected: total,
            got: got + header_len as u64,
        });
    }
    if got > expected {
        return Err(DataError::TrailingBytes {
            file: file.into(),
            extra: got - expected,
        });
    }
    Ok(())
}

/// Parses an image file (gzip or plain).
pub fn parse_images(file: &str, raw: &[u8]) -> Result<IdxImages, DataError> {
    let bytes = maybe_gunzip(file, raw)?;
    let (dims, header_len) = header(file, &bytes, IMAGES_MAGIC)?;
    let (count, rows, cols) = (dims[0] as usize, dims[1] as usize, dims[2] as usize);
    if rows == 0 || cols == 0 {
        return Err(DataError::BadDimensions {
            file: file.into(),
            dims,
            reason: "an image side is zero".into(),
        });
    }
    if count == 0 {
        return Err(DataError::BadDimensions {
            file: file.into(),
            dims,
            reason: "the file holds no images".into(),
        });
    }
    // Three 32-bit sizes can multiply past 64 bits: a wrapped product could match a short body.
    let Some(expected) = (count as u64)
        .checked_mul(rows as u64)
        .and_then(|n| n.checked_mul(cols as u64))
    else {
        return Err(DataError::BadDimensions {
            file: file.into(),
            dims,
            reason: "its sizes multiply past any file's length".into(),
        });
    };
    let body = &bytes[header_len..];
    check_length(file, body, header_len, expected)?;
    Ok(IdxImages {
        count,
        channels: 1,
        rows,
        cols,
        pixels: body.to_vec(),
    })
}

/// Parses a label file (gzip or plain) and checks every label is below `classes`.
pub fn parse_labels(file: &str, raw: &[u8], classes: usize) -> Result<IdxLabels, DataError> {
    let bytes = maybe_gunzip(file, raw)?;
    let (dims, header_len) = header(file, &bytes, LABELS_MAGIC)?;
    let count = dims[0] as usize;
    if count == 0 {
        return Err(DataError::BadDimensions {
            file: file.into(),
            dims,
            reason: "the file holds no labels".into(),
        });
    }
    let body = &bytes[header_len..];
    check_length(file, body, header_len, count as u64)?;
    if let Some((index, &label)) = body
        .iter()
        .enumerate()
        .find(|&(_, &l)| l as usize >= classes)
    {
        return Err(DataError::LabelOutOfRange {
            file: file.into(),
            label,
            index,
            classes,
        });
    }
    Ok(IdxLabels {
        labels: body.to_vec(),
    })
}

/// Writes IDX bytes: the inverse of the parsers, used by tests and by anyone exporting a subset.
pub fn encode(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&magic.to_be_bytes());
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn images_file(count: u32) -> Vec<u8> {
        let data: Vec<u8> = (0..count * 4).map(|i| (i * 7 % 256) as u8).collect();
        encode(IMAGES_MAGIC, &[count, 2, 2], &data)
    }

    #[test]
    fn parses_plain_and_gzip_images_identically() {
        let plain = images_file(3);
        let a = parse_images("x", &plain).unwrap();
        let b = parse_images("x", &gzip(&plain)).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.count, a.rows, a.cols), (3, 2, 2));
        assert_eq!(a.image(1), &[28, 35, 42, 49]);
    }

    #[test]
    fn parses_labels_and_checks_range() {
        let file = encode(LABELS_MAGIC, &[4], &[0, 9, 3, 1]);
        assert_eq!(
            parse_labels("l", &file, 10).unwrap().labels,
            vec![0, 9, 3, 1]
        );
        let err = parse_labels("l", &file, 5).unwrap_err();
        assert_eq!(
            err,
            DataError::LabelOutOfRange {
                file: "l".into(),
                label: 9,
                index: 1,
                classes: 5
            }
        );
    }

    #[test]
    fn wrong_magic_is_reported_with_both_numbers() {
        // A label file handed to the image parser.
        let file = encode(LABELS_MAGIC, &[4], &[0, 1, 2, 3]);
        let err = parse_images("train-images", &file).unwrap_err();
        assert_eq!(
            err,
            DataError::WrongMagic {
                file: "train-images".into(),
                expected: 0x803,
                got: 0x801
            }
        );
        assert!(err.to_string().contains("train-images"));
    }

    #[test]
    fn truncated_header_and_body_are_reported() {
        let file = images_file(3);
        let err = parse_images("t", &file[..2]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected: 16,
                    got: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_images("t", &file[..10]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected: 16,
                    got: 10,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_images("t", &file[..20]).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    expected: 28,
                    got: 20,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("expected 28 bytes, got 20"));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut file = images_file(3);
        file.push(0);
        let err = parse_images("t", &file).unwrap_err();
        assert_eq!(
            err,
            DataError::TrailingBytes {
                file: "t".into(),
                extra: 1
            }
        );
    }

    #[test]
    fn corrupt_gzip_is_reported() {
        let mut gz = gzip(&images_file(50));
        let mid = gz.len() / 2;
        gz.truncate(mid);
        let err = parse_images("train-images.gz", &gz).unwrap_err();
        assert!(matches!(err, DataError::BadGzip { .. }), "{err:?}");
        let mut gz = gzip(&images_file(50));
        for b in gz.iter_mut().skip(12).take(20) {
            *b ^= 0x5a;
        }
        assert!(matches!(
            parse_images("f", &gz).unwrap_err(),
            DataError::BadGzip { .. }
        ));
    }

    #[test]
    fn sizes_multiplying_past_64_bits_are_rejected() {
        // Found by cargo-fuzz: 0x6b1d1d1d x 0x1d1d1d1d x 0x1d1d1d1d wraps a u64; a wrapped product could
        // match a short body and the images would then be read past it.
        let (count, side) = (0x6b1d_1d1d_u32, 0x1d1d_1d1d_u32);
        let bytes = encode(IMAGES_MAGIC, &[count, side, side], &[0; 64]);
        let err = parse_images("huge", &bytes).unwrap_err();
        assert!(matches!(err, DataError::BadDimensions { .. }), "{err}");
        // 2^31 x 2^31 x 4 = 2^64 wraps to exactly 0, the length of an empty body.
        let bytes = encode(IMAGES_MAGIC, &[1 << 31, 1 << 31, 4], &[]);
        assert!(matches!(
            parse_images("wraps", &bytes).unwrap_err(),
            DataError::BadDimensions { .. }
        ));
    }

    #[test]
    fn zero_dimensions_are_rejected() {
        let file = encode(IMAGES_MAGIC, &[2, 0, 28], &[]);
        assert!(matches!(
            parse_images("z", &file).unwrap_err(),
            DataError::BadDimensions { .. }
        ));
        let file = encode(LABELS_MAGIC, &[0], &[]);
        assert!(matches!(
            parse_labels("z", &file, 10).unwrap_err(),
            DataError::BadDimensions { .. }
        ));
    }
}
