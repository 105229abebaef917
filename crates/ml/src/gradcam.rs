//! Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
//! Localization", ICCV 2017): which parts of an image pushed the network toward a class.
//!
//! burn cannot `require_grad` an intermediate tensor, so the network is split at the explained layer: the
//! features are computed, detached into a new leaf that requires a gradient, and the head runs from that
//! leaf (shared/burn-notes.md).

use burn::prelude::*;
use burn::tensor::activation::softmax;

use super::nn::Network;
use crate::error::TrainError;
use crate::tensor::read_back;

/// A Grad-CAM result.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCam {
    /// The class explained.
    pub class: usize,
    /// Class probabilities of the image.
    pub probabilities: Vec<f32>,
    /// The heatmap at the feature map's resolution, `rows * cols`, scaled to `[0, 1]` (all zero when no
    /// location supports the class).
    pub coarse: Vec<f32>,
    pub coarse_rows: usize,
    pub coarse_cols: usize,
    /// The heatmap upsampled bilinearly to the image's size.
    pub heatmap: Vec<f32>,
    /// The layer explained (an index into `layers`).
    pub layer: usize,
    /// The layers that can be explained.
    pub layers: Vec<String>,
}

/// The gradient of the class score with respect to the feature map, and the feature map, for one image.
///
/// `model` is an inference model (from `valid()`); `image` is `channels * rows * cols` values in `[0, 1]`
/// (`shape` is `[channels, rows, cols]`); `class`
/// None explains the predicted class. Returns (class, probabilities, features, gradient), the last two
/// as `[channels, h, w]` row-major with their shape.
pub async fn feature_gradient(
    model: &Network,
    image: &[f32],
    shape: [usize; 3],
    class: Option<usize>,
    layer: Option<usize>,
) -> Result<(usize, Vec<f32>, Vec<f32>, Vec<f32>, [usize; 3]), TrainError> {
    let [channels, rows, cols] = shape;
    let device = model
        .devices()
        .first()
        .cloned()
        .ok_or_else(|| TrainError::Device("the model has no device".into()))?;
    let autodiff_device = device.clone().autodiff();
    let model = model.valid().to_device(&autodiff_device);
    let input = Tensor::<4>::from_data(
        TensorData::new(image.to_vec(), [1, channels, rows, cols]),
        &autodiff_device,
    );
    let features = model.features_at(input, layer).detach().require_grad(); // [1, channels, h, w], a new leaf
    let logits = model.head_from(features.clone(), layer); // [1, classes]
    let probabilities: Vec<f32> = read_back(softmax(logits.clone().detach(), 1)).await?;
    let classes = probabilities.len();
    let class = match class {
        Some(c) if c < classes => c,
        Some(c) => {
            return Err(TrainError::Config(format!(
                "class {c} does not exist; the model has {classes}"
            )));
        }
        None => super::metrics::argmax_rows(&probabilities, classes)[0] as usize,
    };
    let score = logits.slice([0..1, class..class + 1]).sum();
    let gradients = score.backward();
    let gradient = features
        .grad(&gradients)
        .ok_or_else(|| TrainError::Device("no gradient reached the features".into()))?;
    let [_, channels, h, w] = gradient.dims();
    let gradient = read_back(gradient).await?;
    let features = read_back(features.detach()).await?;
    Ok((class, probabilities, features, gradient, [channels, h, w]))
}

/// Grad-CAM's map from features and their gradient: channel weights are the gradient's spatial mean, the
/// map is the ReLU of the weighted channel sum, scaled so its maximum is 1.
pub fn cam_from_gradient(features: &[f32], gradient: &[f32], shape: [usize; 3]) -> Vec<f32> {
    let [channels, h, w] = shape;
    let plane = h * w;
    let mut cam = vec![0f32; plane];
    for c in 0..channels {
        let g = &gradient[c * plane..(c + 1) * plane];
        let weight = g.iter().sum::<f32>() / plane as f32;
        for (out, &a) in cam.iter_mut().zip(&features[c * plane..(c + 1) * plane]) {
            *out += weight * a;
        }
    }
    let max = cam.iter().fold(0f32, |m, &v| m.max(v));
    cam.iter()
        .map(|&v| if max > 0.0 { v.max(0.0) / max } else { 0.0 })
        .collect()
}

/// Bilinear resize of a `rows x cols` map to `out_rows x out_cols`, aligning pixel centres (as
/// `align_corners = false` in PyTorch).
pub fn bilinear(
    map: &[f32],
    rows: usize,
    cols: usize,
    out_rows: usize,
    out_cols: usize,
) -> Vec<f32> {
    let sample = |y: f32, x: f32| {
        let y = y.clamp(0.0, (rows - 1) as f32);
        let x = x.clamp(0.0, (cols - 1) as f32);
        let (y0, x0) = (y.floor() as usize, x.floor() as usize);
        let (y1, x1) = ((y0 + 1).min(rows - 1), (x0 + 1).min(cols - 1));
        let (fy, fx) = (y - y0 as f32, x - x0 as f32);
        let top = map[y0 * cols + x0] * (1.0 - fx) + map[y0 * cols + x1] * fx;
        let bottom = map[y1 * cols + x0] * (1.0 - fx) + map[y1 * cols + x1] * fx;
        top * (1.0 - fy) + bottom * fy
    };
    let (sy, sx) = (rows as f32 / out_rows as f32, cols as f32 / out_cols as f32);
    (0..out_rows)
        .flat_map(|y| (0..out_cols).map(move |x| (y, x)))
        .map(|(y, x)| sample((y as f32 + 0.5) * sy - 0.5, (x as f32 + 0.5) * sx - 0.5))
        .collect()
}

/// Grad-CAM of one image for a class (None: the predicted one) at a convolutional layer (None: the last).
pub async fn grad_cam(
    model: &Network,
    image: &[f32],
    image_shape: [usize; 3],
    class: Option<usize>,
    layer: Option<usize>,
) -> Result<GradCam, TrainError> {
    let [_, rows, cols] = image_shape;
    let layers = model.conv_layers();
    let layer = layer.filter(|&l| l < layers.len());
    let (class, probabilities, features, gradient, shape) =
        feature_gradient(model, image, image_shape, class, layer).await?;
    let coarse = cam_from_gradient(&features, &gradient, shape);
    let heatmap = bilinear(&coarse, shape[1], shape[2], rows, cols);
    Ok(GradCam {
        class,
        probabilities,
        coarse,
        coarse_rows: shape[1],
        coarse_cols: shape[2],
        heatmap,
        layer: layer.unwrap_or(layers.len().saturating_sub(1)),
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cam_weights_channels_by_mean_gradient_and_clips_negatives() {
        // Two channels of 1x2: weights 1 and -1 (mean gradients).
        let features = [1.0, 0.0, 0.0, 2.0];
        let gradient = [1.0, 1.0, -1.0, -1.0];
        // Weighted sum: [1 - 0, 0 - 2] = [1, -2] -> ReLU -> [1, 0] -> scaled [1, 0].
        assert_eq!(
            cam_from_gradient(&features, &gradient, [2, 1, 2]),
            vec![1.0, 0.0]
        );
        assert_eq!(cam_from_gradient(&[1.0], &[-1.0], [1, 1, 1]), vec![0.0]);
    }

    use crate::host::NativeHost;
    use crate::nn::Architecture;
    use crate::tensor::block_on;
    use crate::train::{TrainConfig, train};
    use atelier_core::dataset::Part;

    #[test]
    fn feature_gradient_matches_finite_differences() {
        check_feature_gradient([1, 28, 28]);
    }

    #[test]
    fn feature_gradient_of_a_colour_image_matches_finite_differences() {
        check_feature_gradient([3, 32, 32]);
    }

    fn check_feature_gradient(image_shape: [usize; 3]) {
        let device = Device::flex();
        // The ResNet's head (average pooling, then a dense layer) is smooth, so central differences are exact
        // up to rounding; a max-pooling head would switch its maximum under the perturbation.
        let model = Architecture::ResNet
            .init(
                3,
                &crate::nn::ModelOptions::default().for_images(
                    image_shape[0],
                    image_shape[1],
                    image_shape[2],
                ),
                &device,
            )
            .valid();
        let image: Vec<f32> = (0..image_shape.iter().product::<usize>())
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let (class, probabilities, features, gradient, shape) =
            block_on(feature_gradient(&model, &image, image_shape, Some(1), None)).unwrap();
        assert_eq!(class, 1);
        assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        let score = |f: &[f32]| -> f32 {
            let t = Tensor::<4>::from_data(
                TensorData::new(f.to_vec(), [1, shape[0], shape[1], shape[2]]),
                &device,
            );
            model.head(t).into_data().try_into_vec_as::<f32>().unwrap()[class]
        };
        let eps = 1e-2f32;
        // Positions spread over every channel.
        let mut checked = 0;
        for k in (0..features.len()).step_by(features.len() / 40) {
            let (mut plus, mut minus) = (features.clone(), features.clone());
            plus[k] += eps;
            minus[k] -= eps;
            let numeric = (score(&plus) - score(&minus)) / (2.0 * eps);
            assert!(
                (numeric - gradient[k]).abs() < 2e-3 + 0.05 * gradient[k].abs(),
                "feature {k}: analytic {} vs numeric {numeric}",
                gradient[k]
            );
            checked += 1;
        }
        assert!(checked >= 40);
        assert!(
            gradient.iter().any(|g| g.abs() > 1e-6),
            "the gradient is all zero"
        );
    }

    #[test]
    fn heatmap_peaks_where_the_evidence_is() {
        // Class 1's only evidence is a bright block in the top-left corner (rows and columns 2..8).
        let dataset = atelier_core::fixtures::synthetic_28(2, 100, 5, 11);
        let config = TrainConfig {
            architecture: Architecture::RefCnn,
            epochs: 3,
            batch_size: 16,
            augmentation: None,
            ..TrainConfig::default()
        };
        let outcome = block_on(train(
            &config,
            &dataset,
            &Device::flex(),
            &mut NativeHost::default(),
        ))
        .unwrap();
        let position = (0..dataset.len(Part::Test))
            .find(|&i| dataset.item(Part::Test, i).1 == 1)
            .unwrap();
        let image: Vec<f32> = dataset.batch(Part::Test, &[position]).pixels;
        let cam = block_on(grad_cam(&outcome.model, &image, [1, 28, 28], Some(1), None)).unwrap();
        assert_eq!(cam.layers, vec!["conv1", "conv2"]);
        assert_eq!(cam.layer, 1);
        // An earlier layer explains too, at its own resolution.
        let early = block_on(grad_cam(
            &outcome.model,
            &image,
            [1, 28, 28],
            Some(1),
            Some(0),
        ))
        .unwrap();
        assert_eq!((early.layer, early.coarse_rows), (0, 26));
        assert_eq!(early.heatmap.len(), 784);
        assert!(
            cam.probabilities[1] > 0.5,
            "the model did not learn: {:?}",
            cam.probabilities
        );
        assert_eq!(cam.class, 1);
        let peak = cam
            .heatmap
            .iter()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
            .0;
        let (y, x) = (peak / 28, peak % 28);
        assert!(
            y < 12 && x < 12,
            "the heatmap peaks at ({y}, {x}), not in the top-left corner"
        );
        assert_eq!(cam.heatmap.len(), 784);
        assert!(cam.heatmap.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn bilinear_keeps_constants_and_interpolates() {
        assert!(
            bilinear(&[0.5; 4], 2, 2, 5, 7)
                .iter()
                .all(|&v| (v - 0.5).abs() < 1e-6)
        );
        let up = bilinear(&[0.0, 1.0], 1, 2, 1, 4);
        // Centres at x = -0.25, 0.25, 0.75, 1.25 of the source: clamped, then linear.
        assert_eq!(up, vec![0.0, 0.25, 0.75, 1.0]);
    }
}
