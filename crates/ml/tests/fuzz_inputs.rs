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

use atelier_core::dataset::{Batch, Part};
use atelier_core::fixtures::synthetic_28;
use atelier_core::idx::{parse_images, parse_labels};
use atelier_core::preprocess::{Steps, colour_pipeline, pipeline};
use atelier_core::rng::SplitMix64;
use atelier_ml::classical::fit::{self, FitSpec};
use atelier_ml::classical::forest::{BinnedData, Forest, ForestParams, grow_tree};
use atelier_ml::classical::knn::{Knn, KnnParams};
use atelier_ml::classifier::Classifier;
use atelier_ml::host::NativeHost;
use atelier_ml::model::Trained;
use atelier_ml::nn::{Architecture, ModelOptions};
use atelier_ml::tensor::block_on;
use burn::module::Module;
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

/// Damages a model file in many seeded ways; each damaged file must be refused with an error or load
/// into a model that predicts one row of class scores per image, never panic. Returns how many damaged
/// files loaded.
fn damage_and_load(file: &[u8], batch: &Batch, seed: u64, rounds: usize) -> usize {
    let device = Device::flex();
    let mut rng = SplitMix64::new(seed);
    let mut loaded_count = 0;
    for _ in 0..rounds {
        let input = mutate(file, &mut rng);
        if let Ok(loaded) = Trained::from_file(&input, &device) {
            loaded_count += 1;
            // A file that loads must also predict: a row of scores per image.
            let rows = block_on(loaded.model.probabilities(batch))
                .unwrap_or_else(|e| panic!("a damaged file loaded but cannot predict: {e}"));
            assert_eq!(
                rows.len(),
                loaded.classes * batch.len(),
                "a damaged file predicts other classes than it declares"
            );
        }
    }
    loaded_count
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
    let tiny = Batch {
        pixels: vec![0.5; 4],
        labels: vec![0],
        channels: 1,
        rows: 2,
        cols: 2,
    };
    let rounds = iterations();
    for (name, model, seed) in [
        ("forest", Trained::Forest(forest), 2),
        ("knn", Trained::Knn(knn), 3),
    ] {
        let file = block_on(model.to_file(3, &BTreeMap::new())).unwrap();
        // The undamaged file loads: the loop below can tell a load from a refusal.
        assert!(Trained::from_file(&file, &device).is_ok(), "{name}");
        let loaded = damage_and_load(&file, &tiny, seed, rounds);
        // Most damage is noticed; some (a flipped bit in a leaf share) still loads, and must predict.
        assert!(loaded < rounds, "{name}: every damaged file loaded");
        println!("# {name}: {loaded} of {rounds} damaged files loaded, each predicted");
    }
}

#[test]
fn network_and_hybrid_files_never_panic_when_damaged() {
    let device = Device::flex();
    let dataset = synthetic_28(3, 8, 2, 11);
    let options = ModelOptions {
        inputs: 784,
        ..ModelOptions::default()
    };
    let network = Architecture::Cnn.init(3, &options, &device);
    let mut host = NativeHost::default();
    let spec = FitSpec::Knn {
        params: KnnParams::default(),
        train_size: None,
        seed: 1,
    };
    let hybrid = block_on(fit::fit_on_features(
        &spec, &network, &options, &dataset, &device, &mut host,
    ))
    .unwrap()
    .model;
    let batch = dataset.batch(Part::Test, &[0, 1]);
    // A network's file is mostly weights: fewer rounds, each a whole CNN to load.
    let rounds = (iterations() / 10).max(20);
    for (name, model, seed) in [
        (
            "cnn",
            Trained::Network {
                network: network.valid(),
                options,
            },
            4,
        ),
        ("hybrid", hybrid, 5),
    ] {
        let file = block_on(model.to_file(3, &BTreeMap::new())).unwrap();
        assert!(Trained::from_file(&file, &device).is_ok(), "{name}");
        let loaded = damage_and_load(&file, &batch, seed, rounds);
        assert!(loaded < rounds, "{name}: every damaged file loaded");
        println!("# {name}: {loaded} of {rounds} damaged files loaded, each predicted");
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
            gray: true,
            invert_light_background: rng.below(2) == 0,
            crop: rng.below(2) == 0,
            pad_square: rng.below(2) == 0,
            normalise: rng.below(2) == 0,
        };
        if let Ok(stages) = pipeline(w, h, &rgba, steps, 28) {
            let last = &stages.last().unwrap().image;
            assert_eq!(last.pixels.len(), 784);
        }
        if let Ok(stages) = colour_pipeline(w, h, &rgba, steps.crop, 32, 24) {
            let last = &stages.last().unwrap().image;
            assert_eq!(last.pixels.len(), 3 * 32 * 24);
        }
    }
}
