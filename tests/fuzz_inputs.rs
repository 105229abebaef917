//! Bounded mutation fuzzing of everything that reads bytes from outside: IDX files (downloads or picked
//! files), model files (downloaded, then loaded back by anyone) and pictures for the preprocessing
//! pipeline. Each target starts from a valid input, applies seeded random mutations (byte flips, inserted
//! and removed runs, truncation, extension, header fields set to extremes) and checks that the reader
//! returns `Ok` or an error, never panics or loops. The seeds are fixed, so a failure reproduces.
//!
//! `ATELIER_FUZZ_ITERATIONS` (default 2,000 per target) sets the budget; `scripts/fuzz.sh` runs a longer
//! campaign and prints the executions.

use std::collections::BTreeMap;
use std::io::Write;

use atelier::data::idx::{parse_images, parse_labels};
use atelier::data::preprocess::{Steps, pipeline};
use atelier::data::rng::SplitMix64;
use atelier::ml::classical::forest::{BinnedData, Forest, ForestParams, grow_tree};
use atelier::ml::classical::knn::{Knn, KnnParams};
use atelier::ml::model::Trained;
use atelier::ml::train::block_on;
use burn::tensor::Device;

fn iterations() -> usize {
    std::env::var("ATELIER_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// One random mutation of `input`.
fn mutate(input: &[u8], rng: &mut SplitMix64) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.below(256) as u8;
            }
            2 => {
                let at = rng.below(out.len() + 1);
                let run: Vec<u8> = (0..1 + rng.below(16))
                    .map(|_| rng.below(256) as u8)
                    .collect();
                out.splice(at..at, run);
            }
            3 if !out.is_empty() => {
                let at = rng.below(out.len());
                let end = (at + 1 + rng.below(32)).min(out.len());
                out.drain(at..end);
            }
            4 => out.truncate(rng.below(out.len() + 1)),
            5 if out.len() >= 8 => {
                // A 32-bit field near the start (headers, counts) set to an extreme.
                let at = rng.below(out.len().min(64) - 3);
                let value = [0u32, 1, u32::MAX, 0x7fff_ffff, 1 << 20][rng.below(5)];
                out[at..at + 4].copy_from_slice(&value.to_be_bytes());
            }
            _ => out.extend((0..rng.below(64)).map(|_| rng.below(256) as u8)),
        }
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

#[test]
fn idx_parsers_never_panic_on_mutated_files() {
    let images = idx(0x803, &[3, 4, 4], &[7u8; 48]);
    let labels = idx(0x801, &[3], &[0, 1, 2]);
    let seeds = [images.clone(), gzip(&images), labels.clone(), gzip(&labels)];
    let mut rng = SplitMix64::new(1);
    let mut accepted = 0;
    for i in 0..iterations() {
        let input = mutate(&seeds[i % seeds.len()], &mut rng);
        accepted += usize::from(parse_images("fuzz", &input).is_ok());
        accepted += usize::from(parse_labels("fuzz", &input, 10).is_ok());
    }
    // Some mutations keep a file valid: the parser is exercised on both paths.
    assert!(accepted > 0);
}

#[test]
fn model_files_never_panic_when_damaged() {
    let device = Device::flex();
    let pixels: Vec<u8> = (0..60u32).map(|i| (i * 37 % 256) as u8).collect();
    let labels: Vec<u8> = (0..15).map(|i| (i % 3) as u8).collect();
    let data = BinnedData::new(&pixels, &labels, 4, 3, 16);
    let params = ForestParams {
        trees: 2,
        ..ForestParams::default()
    }
    .check(4)
    .unwrap();
    let mut forest = Forest::new(&data);
    forest.trees.push(grow_tree(&data, &params, 0));
    forest.trees.push(grow_tree(&data, &params, 1));
    let knn = Knn::fit(&KnnParams::default(), pixels, labels, 4, 3, &device).unwrap();
    let files: Vec<Vec<u8>> = [Trained::Forest(forest), Trained::Knn(knn)]
        .iter()
        .map(|m| block_on(m.to_file(3, &BTreeMap::new())).unwrap())
        .collect();
    let mut rng = SplitMix64::new(2);
    for i in 0..iterations() {
        let input = mutate(&files[i % files.len()], &mut rng);
        if let Ok(loaded) = Trained::from_file(&input, &device) {
            // A file that loads must also predict without panicking.
            let batch = atelier::data::dataset::Batch {
                pixels: vec![0.5; 4],
                labels: vec![0],
                rows: 2,
                cols: 2,
            };
            use atelier::ml::model::Classifier;
            let _ = block_on(loaded.model.probabilities(&batch));
        }
    }
}

#[test]
fn preprocessing_never_panics_on_odd_pictures() {
    let mut rng = SplitMix64::new(3);
    for _ in 0..iterations() / 4 {
        let (w, h) = (rng.below(120), rng.below(120));
        let len = if rng.below(5) == 0 {
            rng.below(w * h * 4 + 8)
        } else {
            w * h * 4
        };
        let rgba: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        let steps = Steps {
            invert_light_background: rng.below(2) == 0,
            crop: rng.below(2) == 0,
            pad_square: rng.below(2) == 0,
            normalise: rng.below(2) == 0,
        };
        if let Ok(stages) = pipeline(w, h, &rgba, steps, 28) {
            let last = &stages.last().unwrap().image;
            assert_eq!(last.pixels.len(), 784);
        }
    }
}
