//! Opening burn devices. The choice between them is the worker's; this only knows how to open each.

use burn::tensor::Device;

/// burn's pure-Rust CPU backend (flex), with autodiff for training.
pub fn cpu_device() -> Device {
    Device::flex()
}

/// Opens the WebGPU (or, natively, the best wgpu) device. On the web only the async path exists.
pub async fn webgpu_device() -> Result<Device, String> {
    Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| e.to_string())
}

/// Runs a tiny computation and reads it back: proves the device works end to end, not only that it opened.
pub async fn smoke_test(device: &Device) -> Result<(), String> {
    use burn::tensor::Tensor;
    let a = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], device);
    let sum: Vec<f32> = a
        .clone()
        .matmul(a)
        .sum()
        .into_data_async()
        .await
        .map_err(|e| e.to_string())?
        .try_into_vec_as::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    if (sum[0] - 54.0).abs() > 1e-3 {
        return Err(format!(
            "the device computed {} where 54 was expected",
            sum[0]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_device_computes() {
        let device = cpu_device();
        futures_lite_block_on(smoke_test(&device)).unwrap();
    }

    /// A minimal executor for a future that never waits on I/O (flex completes synchronously).
    fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut future = std::pin::pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }
}
