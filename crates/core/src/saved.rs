//! The user's datasets as the browser keeps them between visits: a small description for the list, and
//! the images and labels compressed (gzip) in one record.
//!
//! Layout: `ATDS`, format version (u32, little-endian), the description's JSON length (u32) and JSON, then
//! the gzip stream of the training pixels, the training labels, the test pixels and the test labels.

use std::io::{Read, Write};

use crate::DataError;
use crate::dataset::{Dataset, LabelledImages};
use crate::idx::IdxImages;

const MAGIC: &[u8; 4] = b"ATDS";
const VERSION: u32 = 1;
/// The `?data=` prefix of a saved dataset: `saved:<id>`.
pub const PREFIX: &str = "saved:";

/// What the list of saved datasets shows, and what reading one back checks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedDataset {
    /// Unique within this browser.
    pub id: String,
    /// The folder's, archive's or set's name.
    pub name: String,
    pub class_names: Vec<String>,
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    /// Images in the training file (before the validation split) and in the test file.
    pub train: usize,
    pub test: usize,
    /// Bytes stored (compressed).
    pub bytes: usize,
    /// Milliseconds since the Unix epoch.
    pub created_ms: f64,
}

impl SavedDataset {
    /// The description of a dataset about to be saved (`bytes` is filled in by [`encode`]).
    pub fn describe(id: &str, name: &str, dataset: &Dataset, created_ms: f64) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            class_names: dataset.class_names.clone(),
            channels: dataset.channels(),
            rows: dataset.rows(),
            cols: dataset.cols(),
            train: dataset.train_file.len(),
            test: dataset.test.len(),
            bytes: 0,
            created_ms,
        }
    }
}

/// The record of a dataset; the description comes back with `bytes` set.
pub fn encode(description: &SavedDataset, dataset: &Dataset) -> (SavedDataset, Vec<u8>) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for set in [&dataset.train_file, &dataset.test] {
        gz.write_all(&set.images.pixels).expect("writing to memory");
        gz.write_all(&set.labels).expect("writing to memory");
    }
    let body = gz.finish().expect("writing to memory");
    // The stored size includes the description, whose length depends on the size written in it: a few
    // rounds settle it.
    let mut saved = description.clone();
    let mut json = serde_json::to_vec(&saved).expect("plain data");
    for _ in 0..4 {
        saved.bytes = 12 + json.len() + body.len();
        json = serde_json::to_vec(&saved).expect("plain data");
    }
    let mut out = Vec::with_capacity(12 + json.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&body);
    (saved, out)
}

/// Reads a record back and makes the split; a damaged record is an error that says so.
pub fn decode(
    bytes: &[u8],
    validation_per_mille: u32,
    seed: u64,
) -> Result<(SavedDataset, Dataset), DataError> {
    let damaged = |why: &str| {
        DataError::InvalidOption(format!(
            "the saved dataset is damaged ({why}); delete it and import the pictures again"
        ))
    };
    if bytes.len() < 12 || &bytes[..4] != MAGIC {
        return Err(damaged("not a saved dataset"));
    }
    let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(damaged(&format!("format version {version}")));
    }
    let json_len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let json = bytes
        .get(12..12 + json_len)
        .ok_or_else(|| damaged("cut short"))?;
    let description: SavedDataset =
        serde_json::from_slice(json).map_err(|e| damaged(&e.to_string()))?;
    let image_len = description.channels * description.rows * description.cols;
    let expected = (description.train + description.test) * (image_len + 1);
    let mut body = Vec::with_capacity(expected);
    flate2::read::GzDecoder::new(&bytes[12 + json_len..])
        .take(expected as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| damaged(&e.to_string()))?;
    if body.len() != expected {
        return Err(damaged(&format!(
            "{} bytes of images where {expected} were saved",
            body.len()
        )));
    }
    let mut at = 0;
    let mut part = |count: usize| {
        let pixels = body[at..at + count * image_len].to_vec();
        at += count * image_len;
        let labels = body[at..at + count].to_vec();
        at += count;
        LabelledImages {
            images: IdxImages {
                count,
                channels: description.channels,
                rows: description.rows,
                cols: description.cols,
                pixels,
            },
            labels,
        }
    };
    let train = part(description.train);
    let test = part(description.test);
    let dataset = Dataset::from_parts(
        description.class_names.clone(),
        train,
        test,
        validation_per_mille,
        seed,
    )?;
    Ok((description, dataset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_dataset_comes_back_whole_and_damage_is_refused() {
        let gray = crate::fixtures::synthetic_28(3, 20, 5, 4);
        let colour = crate::colour::colour_dataset(&gray);
        let description = SavedDataset::describe("d1", "shapes", &colour, 1.7e12);
        let (saved, bytes) = encode(&description, &colour);
        assert_eq!(saved.bytes, bytes.len());
        let raw = colour.train_file.images.pixels.len() + colour.test.images.pixels.len();
        assert!(bytes.len() < raw, "compressed: {} of {raw}", bytes.len());
        let (back, dataset) = decode(&bytes, 100, 42).unwrap();
        assert_eq!(back, saved);
        assert_eq!((back.channels, back.train, back.test), (3, 60, 15));
        assert_eq!(dataset.train_file, colour.train_file);
        assert_eq!(dataset.test, colour.test);
        assert_eq!(dataset.class_names, colour.class_names);
        for cut in [3, 20, bytes.len() - 10] {
            let err = decode(&bytes[..cut], 100, 42).unwrap_err().to_string();
            assert!(err.contains("damaged"), "{cut}: {err}");
        }
        let mut other = bytes.clone();
        other[4] = 9;
        assert!(
            decode(&other, 100, 42)
                .unwrap_err()
                .to_string()
                .contains("version 9")
        );
    }
}
