//! Explanations: Grad-CAM of a test image for a network, and the test images' pixels for galleries.

use std::cell::RefCell;

use crate::state::WorkerState;
use atelier_core::dataset::Part;
use atelier_core::protocol::{Explanation, FromWorker, ReportMaterial};

/// Pixels of test images.
pub fn test_images(state: &RefCell<WorkerState>, indices: &[usize]) -> FromWorker {
    {
        let s = state.borrow();
        let Some(dataset) = s.dataset.as_ref() else {
            return FromWorker::Error {
                message: "no dataset is loaded yet".into(),
            };
        };
        let valid: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| i < dataset.len(Part::Test))
            .collect();
        let (images, labels) = valid
            .iter()
            .map(|&i| dataset.item(Part::Test, i))
            .map(|(p, l)| (p.to_vec(), l))
            .unzip();
        FromWorker::TestImages {
            channels: dataset.channels(),
            rows: dataset.rows(),
            cols: dataset.cols(),
            indices: valid,
            labels,
            images,
        }
    }
}

/// Grad-CAM of a test image for a model.
pub async fn explain(
    state: &RefCell<WorkerState>,
    model_id: &str,
    test_index: usize,
    class: Option<usize>,
    layer: Option<usize>,
) -> FromWorker {
    let found = {
        let s = state.borrow();
        let model = s.model(model_id).map(|m| {
            (
                m.model.clone(),
                m.report.name.clone(),
                m.report.per_class.len(),
            )
        });
        (model, s.dataset.clone())
    };
    let (Some((model, model_name, classes)), Some(dataset)) = found else {
        return FromWorker::Error {
            message: "that model or the dataset is not loaded".into(),
        };
    };
    if let Some(reason) = model.misfit(classes, &dataset) {
        return FromWorker::Error {
            message: format!("{model_name} {reason}; Grad-CAM cannot run on it"),
        };
    }
    let Some(network) = model
        .network()
        .filter(|n| n.architecture().is_convolutional())
    else {
        return FromWorker::Error {
            message: format!(
                "Grad-CAM explains networks with convolutions (CNN, ResNet, Reference CNN); {model_name} has none"
            ),
        };
    };
    if test_index >= dataset.len(Part::Test) {
        return FromWorker::Error {
            message: format!("there is no test image {test_index}"),
        };
    }
    let (image, truth) = dataset.item(Part::Test, test_index);
    let image = image.to_vec();
    let pixels = dataset.batch(Part::Test, &[test_index]).pixels;
    match atelier_ml::gradcam::grad_cam(
        network,
        &pixels,
        [dataset.channels(), dataset.rows(), dataset.cols()],
        class,
        layer,
    )
    .await
    {
        Ok(cam) => FromWorker::Explanation(Box::new(Explanation {
            model_id: model_id.to_string(),
            model_name,
            test_index,
            truth,
            class: cam.class,
            probabilities: cam.probabilities,
            channels: dataset.channels(),
            rows: dataset.rows(),
            cols: dataset.cols(),
            image,
            heatmap: cam.heatmap,
            layer: cam.layer,
            layers: cam.layers,
        })),
        Err(e) => FromWorker::Error {
            message: format!("Grad-CAM failed: {e}"),
        },
    }
}

/// Explanations at most in one report (each is a Grad-CAM pass; the report asks for about a dozen).
pub const REPORT_EXPLANATIONS: usize = 48;
/// Test images at most in one report.
pub const REPORT_IMAGES: usize = 256;

/// What a report needs: Grad-CAM of (model, test image) pairs and the pixels of test images. A pair that
/// cannot be explained becomes a sentence in `problems`, so one odd model never spoils the report.
pub async fn report_material(
    state: &RefCell<WorkerState>,
    explain_pairs: &[(String, usize)],
    indices: &[usize],
) -> FromWorker {
    let asked = &indices[..indices.len().min(REPORT_IMAGES)];
    let (channels, rows, cols, images, problems) = match test_images(state, asked) {
        FromWorker::TestImages {
            channels,
            rows,
            cols,
            indices,
            images,
            ..
        } => (
            channels,
            rows,
            cols,
            indices.into_iter().zip(images).collect(),
            Vec::new(),
        ),
        // Always an answer, so that the page never waits on a report: it is written without the images.
        FromWorker::Error { message } => (1, 0, 0, Vec::new(), vec![message]),
        _ => (1, 0, 0, Vec::new(), Vec::new()),
    };
    let mut material = ReportMaterial {
        explanations: Vec::new(),
        channels,
        rows,
        cols,
        images,
        problems,
    };
    for (model_id, test_index) in explain_pairs.iter().take(REPORT_EXPLANATIONS) {
        match explain(state, model_id, *test_index, None, None).await {
            FromWorker::Explanation(explanation) => material.explanations.push(*explanation),
            FromWorker::Error { message } => material.problems.push(message),
            _ => {}
        }
    }
    FromWorker::ReportMaterial(Box::new(material))
}
