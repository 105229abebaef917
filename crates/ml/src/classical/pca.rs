//! Principal components, for the RBF SVM: its random Fourier features are drawn in the top-`k` principal
//! subspace of the training images instead of all pixels. The RBF kernel then measures distances in that
//! subspace (where nearly all the variance is), and the projection per image costs `pixels x k + k x D`
//! multiply-adds instead of `pixels x D`, so the same time buys several times more random features.
//!
//! The covariance is one matrix product on the device; its top eigenvectors come from subspace iteration
//! with a few extra columns (Halko, Martinsson and Tropp, "Finding structure with randomness", 2011), in
//! plain f64 on the CPU: the matrix is only `pixels x pixels`.

use burn::prelude::*;

use crate::error::TrainError;
use crate::tensor::read_back;
use atelier_core::dataset::{Dataset, Part};
use atelier_core::rng::SplitMix64;

/// Images used to estimate the covariance: plenty for 784 dimensions, and a bounded cost.
pub const SAMPLE: usize = 10_000;
/// Extra columns carried through the iteration: they make the top `k` converge faster.
const OVERSAMPLE: usize = 16;
const ITERATIONS: usize = 12;

/// A mean and an orthonormal basis of the top-`k` principal subspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    pub dims: usize,
    pub k: usize,
    /// `[dims]`.
    pub mean: Vec<f32>,
    /// `[dims, k]`, row-major, orthonormal columns in decreasing order of variance.
    pub basis: Vec<f32>,
    /// The variance along each column of `basis`.
    pub variances: Vec<f64>,
}

/// Fits the top-`k` components on (up to [`SAMPLE`] evenly spaced) training images at `positions`.
pub async fn fit(
    dataset: &Dataset,
    positions: &[usize],
    k: usize,
    device: &Device,
    seed: u64,
) -> Result<Pca, TrainError> {
    let dims = dataset.image_len();
    let step = positions.len().div_ceil(SAMPLE).max(1);
    let sample: Vec<usize> = positions.iter().step_by(step).copied().collect();
    let n = sample.len();
    if n < 2 || k == 0 || k >= dims {
        return Err(TrainError::Config(format!(
            "principal components need 2+ images and 0 < k < {dims}; got {n} images and k = {k}"
        )));
    }
    let batch = dataset.batch(Part::Train, &sample);
    let x = Tensor::<2>::from_data(TensorData::new(batch.pixels, [n, dims]), device);
    let mean = x.clone().mean_dim(0); // [1, dims]
    let centred = x - mean.clone();
    let covariance = centred.clone().transpose().matmul(centred) / (n - 1) as f64;
    let covariance: Vec<f32> = read_back(covariance).await?;
    let mean: Vec<f32> = read_back(mean).await?;
    let covariance: Vec<f64> = covariance.into_iter().map(f64::from).collect();
    let (basis, variances) = top_eigenvectors(&covariance, dims, k, seed);
    Ok(Pca {
        dims,
        k,
        mean,
        basis: basis.into_iter().map(|v| v as f32).collect(),
        variances,
    })
}

/// The top-`k` eigenvectors (`[dims, k]` row-major) and eigenvalues of a symmetric positive
/// semi-definite `dims x dims` matrix, by subspace iteration then Rayleigh-Ritz on the small projected
/// matrix (Jacobi).
pub fn top_eigenvectors(matrix: &[f64], dims: usize, k: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(matrix.len(), dims * dims);
    let width = (k + OVERSAMPLE).min(dims);
    let mut rng = SplitMix64::new(seed ^ 0x7063_615f_7365_6564);
    let mut q: Vec<f64> = (0..dims * width).map(|_| rng.normal()).collect();
    orthonormalise(&mut q, dims, width);
    for _ in 0..ITERATIONS {
        q = multiply(matrix, &q, dims, width);
        orthonormalise(&mut q, dims, width);
    }
    // Rayleigh-Ritz: B = Q^T A Q (width x width), eigenvectors of B rotate Q onto the eigenvectors.
    let aq = multiply(matrix, &q, dims, width);
    let mut b = vec![0.0; width * width];
    for i in 0..width {
        for j in 0..width {
            b[i * width + j] = (0..dims)
                .map(|r| q[r * width + i] * aq[r * width + j])
                .sum();
        }
    }
    let (values, vectors) = jacobi_eigen(&mut b, width);
    let mut order: Vec<usize> = (0..width).collect();
    order.sort_by(|&a, &c| values[c].total_cmp(&values[a]));
    let mut basis = vec![0.0; dims * k];
    for (col, &e) in order.iter().take(k).enumerate() {
        for r in 0..dims {
            basis[r * k + col] = (0..width)
                .map(|i| q[r * width + i] * vectors[i * width + e])
                .sum();
        }
    }
    let variances = order.iter().take(k).map(|&e| values[e].max(0.0)).collect();
    (basis, variances)
}

/// `matrix (dims x dims) x q (dims x width)`.
fn multiply(matrix: &[f64], q: &[f64], dims: usize, width: usize) -> Vec<f64> {
    let mut out = vec![0.0; dims * width];
    for r in 0..dims {
        let row = &matrix[r * dims..(r + 1) * dims];
        let target = &mut out[r * width..(r + 1) * width];
        for (c, &a) in row.iter().enumerate() {
            if a != 0.0 {
                for (t, &v) in target.iter_mut().zip(&q[c * width..(c + 1) * width]) {
                    *t += a * v;
                }
            }
        }
    }
    out
}

/// Modified Gram-Schmidt on the columns of a `dims x width` row-major matrix. A column that collapses
/// (dependent on the earlier ones) is left at zero.
fn orthonormalise(q: &mut [f64], dims: usize, width: usize) {
    for j in 0..width {
        for i in 0..j {
            let dot: f64 = (0..dims).map(|r| q[r * width + i] * q[r * width + j]).sum();
            for r in 0..dims {
                q[r * width + j] -= dot * q[r * width + i];
            }
        }
        let norm = (0..dims)
            .map(|r| q[r * width + j].powi(2))
            .sum::<f64>()
            .sqrt();
        let scale = if norm > 1e-300 { 1.0 / norm } else { 0.0 };
        for r in 0..dims {
            q[r * width + j] *= scale;
        }
    }
}

/// Eigenvalues and eigenvectors (columns of a row-major `n x n` matrix) of a small symmetric matrix by
/// cyclic Jacobi rotations. `a` is destroyed.
fn jacobi_eigen(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..60 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        let scale: f64 = (0..n)
            .map(|i| a[i * n + i].powi(2))
            .sum::<f64>()
            .max(1e-300);
        if off <= 1e-22 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symmetric matrix with known eigenvalues: a random rotation of a diagonal.
    fn known(dims: usize, values: &[f64], seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = SplitMix64::new(seed);
        let mut r: Vec<f64> = (0..dims * dims).map(|_| rng.normal()).collect();
        orthonormalise(&mut r, dims, dims);
        let mut m = vec![0.0; dims * dims];
        for i in 0..dims {
            for j in 0..dims {
                m[i * dims + j] = (0..dims)
                    .map(|e| r[i * dims + e] * values[e] * r[j * dims + e])
                    .sum();
            }
        }
        (m, r)
    }

    #[test]
    fn finds_the_top_eigenvalues_and_vectors_of_a_known_matrix() {
        let dims = 60;
        let values: Vec<f64> = (0..dims).map(|i| 100.0 * 0.85f64.powi(i as i32)).collect();
        let (m, r) = known(dims, &values, 3);
        let k = 8;
        let (basis, found) = top_eigenvectors(&m, dims, k, 1);
        for (e, value) in found.iter().enumerate() {
            assert!(
                (value - values[e]).abs() < 1e-6 * values[0],
                "eigenvalue {e}: {value} vs {}",
                values[e]
            );
            // The same direction up to sign.
            let dot: f64 = (0..dims).map(|i| basis[i * k + e] * r[i * dims + e]).sum();
            assert!(
                (dot.abs() - 1.0).abs() < 1e-6,
                "eigenvector {e}: |cos| {dot}"
            );
        }
        // Orthonormal columns.
        for a in 0..k {
            for b in 0..k {
                let dot: f64 = (0..dims).map(|i| basis[i * k + a] * basis[i * k + b]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-9, "columns {a}, {b}: {dot}");
            }
        }
    }

    #[test]
    fn fits_the_mean_and_the_direction_of_most_variance_of_images() {
        let dataset = atelier_core::fixtures::synthetic_28(2, 200, 4, 9);
        let positions: Vec<usize> = (0..dataset.len(Part::Train)).collect();
        let pca =
            crate::tensor::block_on(fit(&dataset, &positions, 5, &Device::flex(), 1)).unwrap();
        assert_eq!(
            (pca.dims, pca.k, pca.mean.len(), pca.basis.len()),
            (784, 5, 784, 784 * 5)
        );
        assert!(pca.variances.windows(2).all(|w| w[0] >= w[1]));
        // The mean matches the images' mean.
        let batch = dataset.batch(Part::Train, &positions);
        let n = positions.len();
        for p in [0, 300, 783] {
            let m: f32 = (0..n).map(|i| batch.pixels[i * 784 + p]).sum::<f32>() / n as f32;
            assert!(
                (m - pca.mean[p]).abs() < 1e-4,
                "pixel {p}: {m} vs {}",
                pca.mean[p]
            );
        }
        // The variance along the first component is the largest a unit direction can have: at least the
        // variance along any pixel axis.
        let axis_max = (0..784)
            .map(|p| {
                (0..n)
                    .map(|i| (batch.pixels[i * 784 + p] - pca.mean[p]).powi(2) as f64)
                    .sum::<f64>()
                    / (n - 1) as f64
            })
            .fold(0.0, f64::max);
        assert!(
            pca.variances[0] >= axis_max * 0.999,
            "{} < {axis_max}",
            pca.variances[0]
        );
    }

    #[test]
    fn bad_sizes_are_refused() {
        let dataset = atelier_core::fixtures::synthetic_28(2, 10, 2, 1);
        let positions: Vec<usize> = (0..dataset.len(Part::Train)).collect();
        for k in [0, 784, 1000] {
            assert!(matches!(
                crate::tensor::block_on(fit(&dataset, &positions, k, &Device::flex(), 1)),
                Err(TrainError::Config(_))
            ));
        }
    }
}
