//! What every predicting thing is: the [`Classifier`] trait (class probabilities for a batch of images),
//! networks as classifiers, and test-time augmentation ([`Mirrored`]). A leaf below the models: the hybrid
//! models and the trained-model registry both build on it.

use std::future::Future;

use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::error::TrainError;
use crate::nn::Network;
use crate::tensor::{images_tensor, read_back};
use atelier_core::augment::mirror_batch;
use atelier_core::dataset::Batch;

/// Class probabilities of a batch of images, `[n, classes]` row-major.
pub async fn predict_probabilities(
    model: &Network,
    batch: &Batch,
    device: &Device,
) -> Result<Vec<f32>, TrainError> {
    let logits = model.forward(images_tensor(batch, device));
    read_back(softmax(logits, 1)).await
}

/// Anything that gives class probabilities for a batch of images.
pub trait Classifier {
    /// `[batch, classes]` row-major.
    fn probabilities(&self, batch: &Batch) -> impl Future<Output = Result<Vec<f32>, TrainError>>;
}

impl Classifier for Network {
    async fn probabilities(&self, batch: &Batch) -> Result<Vec<f32>, TrainError> {
        let device = self
            .devices()
            .first()
            .cloned()
            .ok_or_else(|| TrainError::Device("the model has no device".into()))?;
        predict_probabilities(self, batch, &device).await
    }
}

/// Test-time augmentation: the wrapped classifier's probabilities averaged over each image and its mirror
/// image (left-right flipped), the flip the ResNet and the reference CNN train with by default. Costs two
/// predictions per image; it helps a model trained with flipped images and can hurt one that never saw any.
pub struct Mirrored<'a, C>(pub &'a C);

impl<C: Classifier> Classifier for Mirrored<'_, C> {
    async fn probabilities(&self, batch: &Batch) -> Result<Vec<f32>, TrainError> {
        let plain = self.0.probabilities(batch).await?;
        let mirrored = self.0.probabilities(&mirror_batch(batch)).await?;
        Ok(plain
            .iter()
            .zip(&mirrored)
            .map(|(a, b)| (a + b) / 2.0)
            .collect())
    }
}
