//! "Network features + classical model" (the report's future work): a trained network's penultimate
//! activations replace the pixels, quantised per feature to 0..=255 so that every classical model (the
//! forest bins bytes) fits them exactly as it fits images. The features form a dataset of `1 x dim`
//! "images" with the same split as the pixels.

use burn::prelude::*;

use super::{ClassicalError, Reader};
use crate::classifier::Classifier;
use crate::error::TrainError;
use crate::host::TrainHost;
use crate::nn::Network;
use crate::tensor::{images_tensor, read_back};
use atelier_core::dataset::{Batch, Dataset, LabelledImages, Part};
use atelier_core::idx::IdxImages;

/// Per-feature affine quantisation to bytes: `round((v - low) * scale)`, clamped to 0..=255.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiser {
    low: Vec<f32>,
    scale: Vec<f32>,
}

impl Quantiser {
    /// Fits the range of each feature of `values` (`[n, dim]` row-major).
    pub fn fit(values: &[f32], dim: usize) -> Self {
        let mut low = vec![f32::INFINITY; dim];
        let mut high = vec![f32::NEG_INFINITY; dim];
        for row in values.chunks_exact(dim) {
            for (f, &v) in row.iter().enumerate() {
                low[f] = low[f].min(v);
                high[f] = high[f].max(v);
            }
        }
        let scale = low
            .iter()
            .zip(&high)
            .map(|(&l, &h)| if h > l { 255.0 / (h - l) } else { 0.0 })
            .collect();
        let low = low
            .into_iter()
            .map(|l| if l.is_finite() { l } else { 0.0 })
            .collect();
        Self { low, scale }
    }

    /// Number of features.
    pub fn dim(&self) -> usize {
        self.low.len()
    }

    /// Bytes of `values` (`[n, dim]` row-major).
    pub fn apply(&self, values: &[f32]) -> Vec<u8> {
        values
            .chunks_exact(self.dim())
            .flat_map(|row| {
                row.iter()
                    .zip(self.low.iter().zip(&self.scale))
                    .map(|(&v, (&l, &s))| ((v - l) * s).round().clamp(0.0, 255.0) as u8)
            })
            .collect()
    }

    /// dim (u32), then low and scale (f32 each).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = (self.dim() as u32).to_le_bytes().to_vec();
        for v in self.low.iter().chain(&self.scale) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Reads [`Quantiser::to_bytes`] from a reader.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, ClassicalError> {
        let dim = r.count("the feature count", 1 << 16)?;
        let mut values = Vec::with_capacity(2 * dim);
        for _ in 0..2 * dim {
            let v = f32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"));
            if !v.is_finite() {
                return Err(ClassicalError::Damaged(
                    "a quantiser value is not finite".into(),
                ));
            }
            values.push(v);
        }
        let scale = values.split_off(dim);
        Ok(Self { low: values, scale })
    }
}

/// The penultimate activations of `network` for a batch, `[n, dim]` row-major.
pub async fn embed_batch(network: &Network, batch: &Batch) -> Result<Vec<f32>, TrainError> {
    let device = network
        .devices()
        .first()
        .cloned()
        .ok_or_else(|| TrainError::Device("the network has no device".into()))?;
    read_back(network.embed(images_tensor(batch, &device))).await
}

/// Features of every image of one labelled set (the training file or the test file).
async fn embed_set(
    network: &Network,
    set: &LabelledImages,
    host: &impl TrainHost,
) -> Result<(Vec<f32>, usize), TrainError> {
    let (channels, rows, cols) = (set.images.channels, set.images.rows, set.images.cols);
    let mut values = Vec::new();
    let mut dim = 0;
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(256) {
        let mut pixels = Vec::with_capacity(chunk.len() * set.images.image_len());
        for &i in chunk {
            pixels.extend(
                set.images
                    .image(i)
                    .iter()
                    .map(|&p| atelier_core::dataset::normalise(p)),
            );
        }
        let batch = Batch {
            pixels,
            labels: chunk.iter().map(|&i| set.labels[i]).collect(),
            channels,
            rows,
            cols,
        };
        let out = embed_batch(network, &batch).await?;
        dim = out.len() / chunk.len().max(1);
        values.extend(out);
        host.pause().await;
    }
    Ok((values, dim))
}

/// The dataset of a network's quantised features (same labels and split), and the quantiser fitted on
/// the training part.
pub async fn feature_dataset(
    network: &Network,
    dataset: &Dataset,
    host: &impl TrainHost,
) -> Result<(Dataset, Quantiser), TrainError> {
    let (train_values, dim) = embed_set(network, &dataset.train_file, host).await?;
    let (test_values, _) = embed_set(network, &dataset.test, host).await?;
    // Fit the ranges on the training part only: validation and test stay unseen.
    let mut train_only = Vec::with_capacity(dataset.len(Part::Train) * dim);
    for &i in &dataset.split.train {
        train_only.extend_from_slice(&train_values[i * dim..(i + 1) * dim]);
    }
    let quantiser = Quantiser::fit(&train_only, dim);
    let set = |values: &[f32], labels: &[u8]| LabelledImages {
        images: IdxImages {
            count: labels.len(),
            channels: 1,
            rows: 1,
            cols: dim,
            pixels: quantiser.apply(values),
        },
        labels: labels.to_vec(),
    };
    let features = Dataset {
        class_names: dataset.class_names.clone(),
        train_file: set(&train_values, &dataset.train_file.labels),
        test: set(&test_values, &dataset.test.labels),
        split: dataset.split.clone(),
    };
    Ok((features, quantiser))
}

/// A classical model (the head, any trained model: `model::Trained` in the registry) on a network's
/// features.
#[derive(Debug)]
pub struct Hybrid<H> {
    pub base: Network,
    /// The base network's shape options (its image shape among them), saved with it.
    pub base_options: crate::nn::ModelOptions,
    pub quantiser: Quantiser,
    pub head: Box<H>,
}

impl<H: Classifier> Classifier for Hybrid<H> {
    async fn probabilities(&self, batch: &Batch) -> Result<Vec<f32>, TrainError> {
        let values = embed_batch(&self.base, batch).await?;
        let bytes = self.quantiser.apply(&values);
        let features = Batch {
            pixels: bytes
                .iter()
                .map(|&b| atelier_core::dataset::normalise(b))
                .collect(),
            labels: batch.labels.clone(),
            channels: 1,
            rows: 1,
            cols: self.quantiser.dim(),
        };
        // Boxed: the head may be a registry entry whose probabilities call this one (a recursive async call needs a known size).
        Box::pin(self.head.probabilities(&features)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiser_spans_the_training_range_and_roundtrips() {
        let values = [0.0f32, 5.0, 1.0, 5.0, 2.0, 5.0];
        let q = Quantiser::fit(&values, 2);
        assert_eq!(q.apply(&values), vec![0, 0, 128, 0, 255, 0]);
        assert_eq!(q.apply(&[3.0, 7.0]), vec![255, 0]);
        let bytes = q.to_bytes();
        let back = Quantiser::read(&mut Reader::new(&bytes)).unwrap();
        assert_eq!(back, q);
        assert!(Quantiser::read(&mut Reader::new(&bytes[..7])).is_err());
    }
}
