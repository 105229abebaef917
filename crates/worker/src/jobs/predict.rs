//! Predictions for the user's own image: every model's probabilities, with Grad-CAM for the networks
//! with convolutions.

use std::cell::RefCell;
use std::rc::Rc;

use crate::env::Env;
use crate::state::WorkerState;
use atelier_core::dataset::shape_text;
use atelier_core::protocol::{FromWorker, ModelReport};
use atelier_ml::classifier::Classifier;
use atelier_ml::model::Trained;

/// Every model's probabilities for a user's image (`[channels, rows, cols]`, planar), with Grad-CAM for
/// the networks with convolutions. A gray image given for a colour dataset is repeated in each channel.
pub async fn predict(
    state: &RefCell<WorkerState>,
    env: &impl Env,
    label: String,
    [channels, rows, cols]: [usize; 3],
    pixels: Vec<u8>,
) -> FromWorker {
    let start = env.now_ms();
    let (models, dataset) = {
        let s = state.borrow();
        let models: Vec<(ModelReport, Rc<Trained>)> = s
            .models
            .iter()
            .map(|m| (m.report.clone(), m.model.clone()))
            .collect();
        (models, s.dataset.clone())
    };
    let Some(dataset) = dataset else {
        return FromWorker::Error {
            message: "the dataset is not loaded yet; wait for it, then predict".into(),
        };
    };
    if (dataset.rows(), dataset.cols()) != (rows, cols)
        || !(channels == 1 || channels == dataset.channels())
        || pixels.len() != channels * rows * cols
    {
        return FromWorker::Error {
            message: format!(
                "the image is {} but the models take the dataset's {}; reload the page",
                shape_text(channels, rows, cols),
                shape_text(dataset.channels(), dataset.rows(), dataset.cols())
            ),
        };
    }
    let (channels, pixels) = if channels == dataset.channels() {
        (channels, pixels)
    } else {
        (dataset.channels(), pixels.repeat(dataset.channels()))
    };
    if models.is_empty() {
        return FromWorker::Error {
            message: "no model is trained yet: train one in the Train tab, then predict".into(),
        };
    }
    // Models restored from another dataset's visit are left out.
    let models: Vec<(ModelReport, Rc<Trained>)> = models
        .into_iter()
        .filter(|(report, model)| model.misfit(report.per_class.len(), &dataset).is_none())
        .collect();
    if models.is_empty() {
        return FromWorker::Error {
            message: "no trained model takes this dataset's images: train one in the Train tab, then predict"
                .into(),
        };
    }
    let batch = atelier_core::dataset::Batch {
        pixels: pixels
            .iter()
            .map(|&p| atelier_core::dataset::normalise(p))
            .collect(),
        labels: vec![0],
        channels,
        rows,
        cols,
    };
    let mut answers = Vec::with_capacity(models.len());
    for (report, model) in models {
        let explained = match model
            .network()
            .filter(|n| n.architecture().is_convolutional())
        {
            Some(network) => atelier_ml::gradcam::grad_cam(
                network,
                &batch.pixels,
                [channels, rows, cols],
                None,
                None,
            )
            .await
            .map(|cam| (cam.probabilities, Some(cam.heatmap))),
            None => model.probabilities(&batch).await.map(|p| (p, None)),
        };
        match explained {
            Ok((probabilities, heatmap)) => answers.push(atelier_core::protocol::ModelPrediction {
                model_id: report.id,
                model_name: report.name,
                model: report.model,
                probabilities,
                heatmap,
            }),
            Err(e) => {
                return FromWorker::Error {
                    message: format!("{} could not predict: {e}", report.name),
                };
            }
        }
    }
    FromWorker::Predictions(Box::new(atelier_core::protocol::Predictions {
        label,
        channels,
        rows,
        cols,
        image: pixels,
        models: answers,
        milliseconds: env.now_ms() - start,
    }))
}
