//! Explanations: Grad-CAM of a test image for a network, and the test images' pixels for galleries.

use std::cell::RefCell;

use crate::state::WorkerState;
use atelier_core::dataset::Part;
use atelier_core::protocol::{Explanation, FromWorker};

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
        dataset.rows(),
        dataset.cols(),
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
