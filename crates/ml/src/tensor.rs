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
