//! Backend detection: asks the browser for a WebGPU adapter, opens burn's device on it, or falls back to
//! the CPU backend, and says why.

use burn::tensor::Device;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use atelier_core::protocol::{AdapterInfo, BackendInfo, BackendKind, BackendPreference};
use atelier_ml::backend;

fn string_field(object: &JsValue, name: &str) -> String {
    Reflect::get(object, &name.into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

thread_local! {
    /// wgpu's handle of the WebGPU device in use, while it is the one training runs on.
    static GPU: std::cell::RefCell<Option<burn::tensor::wgpu::wgpu::Device>> =
        const { std::cell::RefCell::new(None) };
}

/// Destroys the WebGPU device in use, as a driver reset or an unplugged GPU would: the lost-device path
/// (`?lose_device_after=N` in the URL, for tests). False when no WebGPU device is in use.
pub fn lose_device() -> bool {
    GPU.with(|g| g.borrow_mut().take()).is_some_and(|device| {
        device.destroy();
        true
    })
}

/// Forgets the WebGPU device after it was lost.
pub fn forget_device() {
    GPU.with(|g| g.borrow_mut().take());
}

/// Images per probe step: small, so the probe costs a few seconds even on software WebGPU.
const PROBE_BATCH: usize = 16;
/// Timed probe steps per backend (after one warm-up).
const PROBE_STEPS: usize = 2;

/// `navigator.gpu.requestAdapter()` through reflection: the typed WebGPU bindings of web-sys need an
/// unstable cfg that would rebuild every crate.
async fn request_adapter() -> Result<Option<AdapterInfo>, String> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into())
        .map_err(|_| "no navigator".to_string())?;
    let gpu = Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Ok(None);
    }
    let request: Function = Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("navigator.gpu has no requestAdapter")?;
    let promise: Promise = request
        .call0(&gpu)
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Ok(None);
    }
    let info = Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    Ok(Some(AdapterInfo {
        vendor: string_field(&info, "vendor"),
        architecture: string_field(&info, "architecture"),
        device: string_field(&info, "device"),
        description: string_field(&info, "description"),
    }))
}

/// Finds the backend to use for a preference. Returns the device with what the user should know.
pub async fn detect(preference: BackendPreference) -> (BackendInfo, Device) {
    let adapter = request_adapter().await;
    let use_cpu = |adapter: Option<AdapterInfo>, reason: String| {
        (
            BackendInfo {
                kind: BackendKind::Cpu,
                adapter,
                reason,
            },
            backend::cpu_device(),
        )
    };
    let adapter = match adapter {
        Ok(Some(adapter)) => adapter,
        Ok(None) => {
            return use_cpu(
                None,
                "This browser offers no WebGPU adapter, so Atelier computes on the CPU backend. \
                 For GPU speed use a browser with WebGPU enabled (Chrome, Edge, or Firefox 141+)."
                    .into(),
            );
        }
        Err(e) => {
            return use_cpu(
                None,
                format!("Asking for a WebGPU adapter failed ({e}); using the CPU backend."),
            );
        }
    };
    if preference == BackendPreference::Cpu {
        return use_cpu(
            Some(adapter),
            "The CPU backend was asked for (?backend=cpu).".into(),
        );
    }
    let (device, handle) = match backend::webgpu_device_with_handle().await {
        Ok(opened) => opened,
        Err(e) => {
            return use_cpu(
                Some(adapter),
                format!(
                    "A WebGPU adapter is there but burn could not open it ({e}); using the CPU backend."
                ),
            );
        }
    };
    if let Err(e) = backend::smoke_test(&device).await {
        return use_cpu(
            Some(adapter),
            format!("WebGPU opened but failed a test computation ({e}); using the CPU backend."),
        );
    }
    if preference == BackendPreference::WebGpu {
        GPU.with(|g| *g.borrow_mut() = Some(handle));
        let reason = "WebGPU was asked for (?backend=webgpu).".to_string();
        return (
            BackendInfo {
                kind: BackendKind::WebGpu,
                adapter: Some(adapter),
                reason,
            },
            device,
        );
    }
    // Auto: measure instead of assuming. A software WebGPU (no GPU in the machine) loses to the CPU.
    let now = crate::clock::now_ms;
    let cpu_device = backend::cpu_device();
    let gpu_ms = backend::probe_step_ms(&device, PROBE_BATCH, PROBE_STEPS, &now).await;
    let cpu_ms = backend::probe_step_ms(&cpu_device, PROBE_BATCH, PROBE_STEPS, &now).await;
    match (gpu_ms, cpu_ms) {
        (Ok(gpu), Ok(cpu)) if gpu <= cpu => {
            GPU.with(|g| *g.borrow_mut() = Some(handle));
            let reason = format!(
                "Auto chose WebGPU: a training step took {gpu:.0} ms on it and {cpu:.0} ms on the CPU backend."
            );
            (
                BackendInfo {
                    kind: BackendKind::WebGpu,
                    adapter: Some(adapter),
                    reason,
                },
                device,
            )
        }
        (Ok(gpu), Ok(cpu)) => use_cpu(
            Some(adapter),
            format!(
                "Auto chose the CPU backend: a training step took {cpu:.0} ms on it and {gpu:.0} ms on WebGPU \
                 (a software or slow GPU). Add ?backend=webgpu to use WebGPU anyway."
            ),
        ),
        (Err(e), _) => use_cpu(
            Some(adapter),
            format!("WebGPU failed a training probe ({e}); using the CPU backend."),
        ),
        (Ok(_), Err(e)) => {
            GPU.with(|g| *g.borrow_mut() = Some(handle));
            let reason = format!("The CPU backend failed a training probe ({e}); using WebGPU.");
            (
                BackendInfo {
                    kind: BackendKind::WebGpu,
                    adapter: Some(adapter),
                    reason,
                },
                device,
            )
        }
    }
}
