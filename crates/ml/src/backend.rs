//! Opening burn devices. The choice between them is the worker's; this only knows how to open each.

use burn::tensor::Device;

/// burn's pure-Rust CPU backend (flex), with autodiff for training.
pub fn cpu_device() -> Device {
    Device::flex()
}

/// Opens the WebGPU (or, natively, the best wgpu) device, with wgpu's own handle of it: what can destroy
/// it, as a driver reset would (the lost-device test). On the web only the async path exists.
pub async fn webgpu_device_with_handle()
-> Result<(Device, burn::tensor::wgpu::wgpu::Device), String> {
    open_webgpu()
        .await
        .map(|(device, handle, _)| (device, handle))
}

/// Opens the WebGPU (or, natively, the best wgpu) device and says what wgpu says of the adapter it chose:
/// name, graphics API and driver (the bench records which GPU, or which software renderer, a figure came
/// from).
pub async fn webgpu_device_described() -> Result<(Device, String), String> {
    open_webgpu().await.map(|(device, _, info)| {
        let driver = format!("{} {}", info.driver, info.driver_info);
        let driver = driver.trim();
        (
            device,
            format!("{} ({:?}, driver {driver})", info.name, info.backend),
        )
    })
}

async fn open_webgpu() -> Result<
    (
        Device,
        burn::tensor::wgpu::wgpu::Device,
        burn::tensor::wgpu::wgpu::AdapterInfo,
    ),
    String,
> {
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| e.to_string())?;
    let info = setup.adapter.get_info();
    // A GPU gets the convolutions' weight gradients as matrix products; an adapter on the CPU keeps
    // burn's direct kernel, which is faster there (see `gpu_conv`).
    let on_cpu = info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu;
    crate::gpu_conv::set_weight_gradient_as_products(!on_cpu);
    Ok((device, setup.device, info))
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

/// Median milliseconds of one training step (forward, backward, Adam, loss readback) of the reference CNN
/// on a batch of `batch` images, after one warm-up step. How `auto` picks the faster backend: on a machine
/// without a GPU, WebGPU runs in software and can be 30x slower than the CPU (shared/burn-notes.md).
pub async fn probe_step_ms(
    device: &Device,
    batch: usize,
    steps: usize,
    now: &dyn Fn() -> f64,
) -> Result<f64, String> {
    use burn::module::Module;
    use burn::nn::loss::CrossEntropyLossConfig;
    use burn::optim::{AdamConfig, GradientsParams};
    use burn::tensor::{Int, Tensor, TensorData};

    use super::nn::{Architecture, ModelOptions};

    let device = device.clone().autodiff();
    let mut model = Architecture::RefCnn.init(10, &ModelOptions::default(), &device);
    let mut optimizer = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let images: Vec<f32> = (0..batch * 784)
        .map(|i| ((i * 31) % 256) as f32 / 255.0)
        .collect();
    let labels: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
    let mut times = Vec::with_capacity(steps);
    for step in 0..=steps {
        let start = now();
        let x =
            Tensor::<4>::from_data(TensorData::new(images.clone(), [batch, 1, 28, 28]), &device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels.clone(), [batch]), &device);
        let loss = loss_fn.forward(model.forward(x), y);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-3, model, grads);
        loss.into_data_async().await.map_err(|e| format!("{e:?}"))?;
        if step > 0 {
            times.push(now() - start);
        }
    }
    let _ = model.num_params();
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::block_on;

    #[test]
    fn cpu_device_computes() {
        let device = cpu_device();
        block_on(smoke_test(&device)).unwrap();
    }

    #[test]
    fn probe_measures_a_positive_step_time() {
        let origin = std::time::Instant::now();
        let now = move || origin.elapsed().as_secs_f64() * 1000.0;
        let ms = block_on(probe_step_ms(&cpu_device(), 8, 2, &now)).unwrap();
        assert!(ms > 0.0 && ms < 10_000.0, "{ms}");
    }
}
