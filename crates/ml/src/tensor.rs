//! Tensor helpers every model and the training loop use: moving batches onto the device and reading
//! results back with the async calls (a synchronous readback panics on the web with WebGPU). A leaf
//! module: it names only burn, the dataset's batches and the errors.

use std::future::Future;

use burn::prelude::*;

use crate::error::{TrainError, device_error};
use atelier_core::dataset::Batch;

/// Reads a tensor back as a vector with the async call (a synchronous readback panics on the web with
/// WebGPU); a failed read is a device error.
pub async fn read_back<E: burn::tensor::Element, const D: usize, K: burn::tensor::kind::Basic>(
    tensor: Tensor<D, K>,
) -> Result<Vec<E>, TrainError> {
    tensor
        .into_data_async()
        .await
        .map_err(device_error)?
        .try_into_vec_as::<E>()
        .map_err(device_error)
}

/// The images of a batch as a tensor.
pub fn images_tensor(batch: &Batch, device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(batch.pixels.clone(), batch.nchw_shape()),
        device,
    )
}

/// A network's 2x2 max pooling: for inference on the CPU backend, [`max_pool_2x2`] (the quick recipe's CNN
/// scores 27% more images a second with it); for training and on WebGPU, burn's own pooling, whose
/// backward pass flex runs faster than the reductions' (training was 24% slower with them). Both give
/// the same values (BENCHMARKS.md, "Pooling").
pub fn pool_2x2(pool: &burn::nn::pool::MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    if !x.is_autodiff() && x.device() == Device::flex() {
        max_pool_2x2(x)
    } else {
        pool.forward(x)
    }
}

/// Max pooling over 2x2 windows with stride 2, dropping an odd last row or column, as burn's
/// `MaxPool2d([2, 2])` does: the same values and gradients (a test checks both), built from a reshape and
/// two max reductions.
///
/// # Shapes
/// - input: `[batch, channels, h, w]`
/// - output: `[batch, channels, h / 2, w / 2]`
pub fn max_pool_2x2(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let (h2, w2) = (h / 2, w / 2);
    let x = if h % 2 == 1 || w % 2 == 1 {
        x.slice([0..n, 0..c, 0..2 * h2, 0..2 * w2])
    } else {
        x
    };
    x.reshape([n * c * h2, 2, w2, 2]) // [rows of windows, 2, w2, 2]
        .max_dim(3)
        .max_dim(1)
        .reshape([n, c, h2, w2])
}

/// The labels of a batch as a tensor.
pub(crate) fn labels_tensor(batch: &Batch, device: &Device) -> Tensor<1, Int> {
    let labels: Vec<i64> = batch.labels.iter().map(|&l| l as i64).collect();
    Tensor::from_data(TensorData::new(labels, [batch.len()]), device)
}

/// Drives a future that never waits on anything external (the CPU backend, native hosts) to completion.
pub fn block_on<F: Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::pool::MaxPool2dConfig;

    /// The same values and the same input gradients as burn's `MaxPool2d([2, 2])`, on even and odd sides.
    #[test]
    fn max_pool_2x2_matches_burns_pooling_and_its_gradient() {
        let device = Device::flex().autodiff();
        let pool = MaxPool2dConfig::new([2, 2]).init();
        for [n, c, h, w] in [[2, 3, 8, 8], [1, 2, 7, 7], [2, 4, 28, 28], [1, 1, 5, 6]] {
            let len = n * c * h * w;
            // Distinct values (no ties), in a scrambled order.
            let values: Vec<f32> = (0..len)
                .map(|i| ((i * 7919) % len) as f32 / len as f32)
                .collect();
            let weights: Vec<f32> = (0..n * c * (h / 2) * (w / 2))
                .map(|i| ((i * 31) % 17) as f32 - 8.0)
                .collect();
            let run = |ours: bool| {
                let x =
                    Tensor::<4>::from_data(TensorData::new(values.clone(), [n, c, h, w]), &device)
                        .require_grad();
                let y = if ours {
                    max_pool_2x2(x.clone())
                } else {
                    pool.forward(x.clone())
                };
                let dims = y.dims();
                let weight =
                    Tensor::<4>::from_data(TensorData::new(weights.clone(), dims), &device);
                let grads = (y.clone() * weight).sum().backward();
                let grad: Vec<f32> = x
                    .grad(&grads)
                    .unwrap()
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .unwrap();
                let out: Vec<f32> = y.into_data().try_into_vec_as::<f32>().unwrap();
                (dims, out, grad)
            };
            let (burn_dims, burn_out, burn_grad) = run(false);
            let (dims, out, grad) = run(true);
            assert_eq!(dims, burn_dims, "{n}x{c}x{h}x{w}");
            assert_eq!(out, burn_out, "{n}x{c}x{h}x{w}");
            assert_eq!(grad, burn_grad, "{n}x{c}x{h}x{w}");
        }
    }
}
