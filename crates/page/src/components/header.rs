//! The top bar: product name, compute backend and dataset status.

use yew::prelude::*;

use crate::state::DatasetStatus;
use atelier_core::protocol::{BackendInfo, BackendKind};

/// Props of [`Header`].
#[derive(Properties, PartialEq)]
pub struct HeaderProps {
    pub backend: Option<BackendInfo>,
    pub status: DatasetStatus,
}

/// The `backend-name` text: what computes, and on which adapter.
pub fn backend_label(backend: &BackendInfo) -> String {
    let adapter = backend.adapter.as_ref().map(|a| {
        let parts: Vec<&str> = [
            a.vendor.as_str(),
            a.architecture.as_str(),
            a.device.as_str(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
        if parts.is_empty() {
            "unnamed adapter".to_string()
        } else {
            parts.join(" ")
        }
    });
    match (&backend.kind, adapter) {
        (BackendKind::WebGpu, Some(adapter)) => format!("WebGPU ({adapter})"),
        (BackendKind::WebGpu, None) => "WebGPU".into(),
        (BackendKind::Cpu, Some(adapter)) => format!("CPU (flex); WebGPU adapter: {adapter}"),
        (BackendKind::Cpu, None) => "CPU (flex); no WebGPU".into(),
    }
}

/// The top bar.
#[function_component(Header)]
pub fn header(props: &HeaderProps) -> Html {
    let (backend_text, backend_reason) = match &props.backend {
        Some(b) => (backend_label(b), b.reason.clone()),
        None => (
            "detecting…".to_string(),
            "Asking the browser for a WebGPU adapter.".to_string(),
        ),
    };
    html! {
        <header class="topbar">
            <h1>{ "Atelier" }</h1>
            <span class="tagline">{ "machine learning in your browser" }</span>
            <div class="badges">
                <span class="badge" title={backend_reason.clone()}>
                    { "Backend: " }<span data-testid="backend-name">{ backend_text }</span>
                </span>
                <span class="badge">
                    { "Data: " }<span data-testid="dataset-status">{ props.status.label() }</span>
                </span>
            </div>
            <p class="backend-reason" data-testid="backend-reason">{ backend_reason }</p>
        </header>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::protocol::AdapterInfo;

    #[test]
    fn labels_name_the_adapter() {
        let adapter = AdapterInfo {
            vendor: "google".into(),
            architecture: "swiftshader".into(),
            ..Default::default()
        };
        let gpu = BackendInfo {
            kind: BackendKind::WebGpu,
            adapter: Some(adapter.clone()),
            reason: String::new(),
        };
        assert_eq!(backend_label(&gpu), "WebGPU (google swiftshader)");
        let cpu = BackendInfo {
            kind: BackendKind::Cpu,
            adapter: None,
            reason: String::new(),
        };
        assert_eq!(backend_label(&cpu), "CPU (flex); no WebGPU");
    }
}
