//! k-nearest neighbours with squared L2 distances as matrix products on the device:
//! `|q - t|^2 = |q|^2 - 2 q.t + |t|^2`, the training norms computed once, the training set in chunks (a
//! WebGPU storage buffer holds at most 128 MiB by default) and burn's top-k per chunk, merged on the CPU.

use burn::prelude::*;

use super::{ClassicalError, Reader, check_range};
use crate::error::TrainError;
use crate::tensor::read_back;

/// How the k neighbours vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KnnWeights {
    /// One vote each.
    Uniform,
    /// A vote of 1 / distance (an exact match wins outright).
    Distance,
}

/// Settings of KNN.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KnnParams {
    pub k: usize,
    pub weights: KnnWeights,
}

impl Default for KnnParams {
    fn default() -> Self {
        Self {
            k: 5,
            weights: KnnWeights::Distance,
        }
    }
}

impl KnnParams {
    /// Checks the settings against the number of training items.
    pub fn check(&self, train_items: usize) -> Result<KnnParams, ClassicalError> {
        check_range("k", self.k, 1, 100)?;
        if self.k > train_items {
            return Err(ClassicalError::Params(format!(
                "k is {} but there are only {train_items} training images",
                self.k
            )));
        }
        Ok(self.clone())
    }
}

/// Training rows per chunk on the device: 16,384 x 784 f32 is 51 MB.
const CHUNK_ROWS: usize = 16_384;

/// One chunk of the training set on the device.
#[derive(Debug, Clone)]
struct Chunk {
    /// `[rows, features]`, pixels in `[0, 1]`.
    points: Tensor<2>,
    /// `[1, rows]`: the squared norms.
    norms: Tensor<2>,
    offset: usize,
}

/// A fitted KNN: the training set itself.
#[derive(Debug, Clone)]
pub struct Knn {
    pub params: KnnParams,
    pub classes: usize,
    pub features: usize,
    /// The training pixels, kept for saving.
    pixels: Vec<u8>,
    labels: Vec<u8>,
    chunks: Vec<Chunk>,
}

impl Knn {
    /// Uploads the training set (`labels.len()` rows of `features` u8 pixels) to `device`.
    pub fn fit(
        params: &KnnParams,
        pixels: Vec<u8>,
        labels: Vec<u8>,
        features: usize,
        classes: usize,
        device: &Device,
    ) -> Result<Self, ClassicalError> {
        let params = params.check(labels.len())?;
        if pixels.len() != labels.len() * features {
            return Err(ClassicalError::Params(
                "pixels and labels disagree in count".into(),
            ));
        }
        let mut chunks = Vec::new();
        for (c, rows) in pixels.chunks(CHUNK_ROWS * features).enumerate() {
            let n = rows.len() / features;
            let values: Vec<f32> = rows.iter().map(|&p| p as f32 / 255.0).collect();
            let norms: Vec<f32> = values
                .chunks_exact(features)
                .map(|r| r.iter().map(|v| v * v).sum())
                .collect();
            chunks.push(Chunk {
                points: Tensor::from_data(TensorData::new(values, [n, features]), device),
                norms: Tensor::from_data(TensorData::new(norms, [1, n]), device),
                offset: c * CHUNK_ROWS,
            });
        }
        Ok(Self {
            params,
            classes,
            features,
            pixels,
            labels,
            chunks,
        })
    }

    /// Number of stored training items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when no training item is stored.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The k nearest training items of each query: (squared distance, training index), nearest first.
    /// `queries` is `[n, features]` row-major, pixels in `[0, 1]`.
    pub async fn neighbours(&self, queries: &[f32]) -> Result<Vec<Vec<(f32, usize)>>, TrainError> {
        if !queries.len().is_multiple_of(self.features) {
            return Err(TrainError::Config(format!(
                "the images have a size this KNN was not fitted on (it takes {} pixels)",
                self.features
            )));
        }
        let n = queries.len() / self.features;
        let k = self.params.k;
        let query_norms: Vec<f32> = queries
            .chunks_exact(self.features)
            .map(|r| r.iter().map(|v| v * v).sum())
            .collect();
        let mut best: Vec<Vec<(f32, usize)>> = vec![Vec::with_capacity(2 * k); n];
        let Some(first) = self.chunks.first() else {
            return Ok(best);
        };
        let device = first.points.device();
        let q = Tensor::<2>::from_data(
            TensorData::new(queries.to_vec(), [n, self.features]),
            &device,
        );
        for chunk in &self.chunks {
            let rows = chunk.norms.dims()[1];
            let kk = k.min(rows);
            // Larger is nearer: 2 q.t - |t|^2 = |q|^2 - distance^2.
            let score =
                q.clone().matmul(chunk.points.clone().transpose()) * 2.0 - chunk.norms.clone(); // [n, rows]
            let (values, indices) = score.topk_with_indices(kk, 1); // [n, kk]
            let values: Vec<f32> = read_back(values).await?;
            let indices: Vec<i64> = read_back(indices).await?;
            for (i, list) in best.iter_mut().enumerate() {
                for j in 0..kk {
                    let distance = (query_norms[i] - values[i * kk + j]).max(0.0);
                    list.push((distance, chunk.offset + indices[i * kk + j] as usize));
                }
            }
        }
        for list in &mut best {
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            list.truncate(k);
        }
        Ok(best)
    }

    /// Class probabilities, `[n, classes]` row-major: the neighbours' (weighted) votes, normalised.
    pub async fn predict_proba(&self, queries: &[f32]) -> Result<Vec<f32>, TrainError> {
        let neighbours = self.neighbours(queries).await?;
        let mut out = vec![0f32; neighbours.len() * self.classes];
        for (list, probs) in neighbours.iter().zip(out.chunks_exact_mut(self.classes)) {
            let exact: Vec<&(f32, usize)> = list.iter().filter(|(d, _)| *d <= 1e-9).collect();
            let voters: Vec<(f32, usize)> =
                if self.params.weights == KnnWeights::Distance && !exact.is_empty() {
                    exact.iter().map(|&&(_, i)| (1.0, i)).collect()
                } else {
                    list.iter()
                        .map(|&(d, i)| match self.params.weights {
                            KnnWeights::Uniform => (1.0, i),
                            KnnWeights::Distance => (1.0 / d.sqrt(), i),
                        })
                        .collect()
                };
            let total: f32 = voters.iter().map(|(w, _)| w).sum();
            for (w, i) in voters {
                probs[self.labels[i] as usize] += w / total.max(f32::MIN_POSITIVE);
            }
        }
        Ok(out)
    }

    /// The model as bytes: k, weights, classes, features, items, labels, pixels.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(20 + self.labels.len() + self.pixels.len());
        let weights = match self.params.weights {
            KnnWeights::Uniform => 0u32,
            KnnWeights::Distance => 1,
        };
        for v in [
            self.params.k as u32,
            weights,
            self.classes as u32,
            self.features as u32,
            self.labels.len() as u32,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.labels);
        out.extend_from_slice(&self.pixels);
        out
    }

    /// Reads [`Knn::to_bytes`] onto `device`.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self, ClassicalError> {
        let mut r = Reader::new(bytes);
        let k = r.count("k", 100)?;
        let weights = match r.u32()? {
            0 => KnnWeights::Uniform,
            1 => KnnWeights::Distance,
            w => return Err(ClassicalError::Damaged(format!("unknown weighting {w}"))),
        };
        let classes = r.count("the class count", 256)?;
        let features = r.count("the feature count", 1 << 20)?;
        let items = r.count("the item count", bytes.len())?;
        let labels = r.take(items)?.to_vec();
        let pixels = r
            .take(
                items
                    .checked_mul(features)
                    .ok_or_else(|| ClassicalError::Damaged("its sizes overflow".into()))?,
            )?
            .to_vec();
        r.finish()?;
        if labels.iter().any(|&l| l as usize >= classes) {
            return Err(ClassicalError::Damaged("a label is out of range".into()));
        }
        Self::fit(
            &KnnParams { k, weights },
            pixels,
            labels,
            features,
            classes,
            device,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::block_on;
    use atelier_core::rng::SplitMix64;

    #[test]
    fn neighbours_match_a_naive_scan_across_chunks() {
        let features = 6;
        let mut rng = SplitMix64::new(9);
        let n = CHUNK_ROWS + 50; // two chunks
        let pixels: Vec<u8> = (0..n * features).map(|_| rng.below(256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
        let params = KnnParams {
            k: 4,
            weights: KnnWeights::Uniform,
        };
        let device = Device::flex();
        let knn = Knn::fit(&params, pixels.clone(), labels, features, 3, &device).unwrap();
        let queries: Vec<f32> = (0..3 * features)
            .map(|_| rng.below(256) as f32 / 255.0)
            .collect();
        let got = block_on(knn.neighbours(&queries)).unwrap();
        for (q, found) in queries.chunks(features).zip(&got) {
            let mut naive: Vec<(f32, usize)> = pixels
                .chunks(features)
                .enumerate()
                .map(|(i, t)| {
                    let d: f32 = t
                        .iter()
                        .zip(q)
                        .map(|(&a, b)| (a as f32 / 255.0 - b).powi(2))
                        .sum();
                    (d, i)
                })
                .collect();
            naive.sort_by(|a, b| a.0.total_cmp(&b.0));
            let want: Vec<usize> = naive[..4].iter().map(|x| x.1).collect();
            let have: Vec<usize> = found.iter().map(|x| x.1).collect();
            assert_eq!(have, want);
            for (a, b) in found.iter().zip(&naive) {
                assert!((a.0 - b.0).abs() < 1e-3, "{} vs {}", a.0, b.0);
            }
        }
    }

    #[test]
    fn votes_roundtrip_and_checks() {
        // Class 0 near 0, class 1 near 255.
        let pixels = vec![0, 0, 10, 10, 250, 250, 255, 255, 240, 240];
        let labels = vec![0, 0, 1, 1, 1];
        let device = Device::flex();
        let knn = Knn::fit(
            &KnnParams {
                k: 3,
                weights: KnnWeights::Uniform,
            },
            pixels,
            labels,
            2,
            2,
            &device,
        )
        .unwrap();
        let probs = block_on(knn.predict_proba(&[0.02, 0.02, 0.99, 0.99])).unwrap();
        assert!((probs[0] - 2.0 / 3.0).abs() < 1e-5);
        assert!((probs[3] - 1.0).abs() < 1e-5);
        let back = Knn::from_bytes(&knn.to_bytes(), &device).unwrap();
        assert_eq!(back.to_bytes(), knn.to_bytes());
        assert!(Knn::from_bytes(&knn.to_bytes()[..10], &device).is_err());
        assert!(
            KnnParams {
                k: 9,
                ..KnnParams::default()
            }
            .check(5)
            .is_err()
        );
        // Distance weights: an exact match decides.
        let knn = Knn::from_bytes(
            &[
                &[3u8, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0][..],
                &[0, 1, 1],
                &[0, 200, 210],
            ]
            .concat(),
            &device,
        )
        .unwrap();
        let probs = block_on(knn.predict_proba(&[0.0])).unwrap();
        assert_eq!(probs, vec![1.0, 0.0]);
    }
}
