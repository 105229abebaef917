//! Any trained model (a network trained by gradient, a forest, a KNN) behind one vocabulary: predict
//! class probabilities, count parameters, save and load.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::prelude::*;

use crate::classical::forest::Forest;
use crate::classical::hybrid::{Hybrid, Quantiser};
use crate::classical::knn::Knn;
use crate::classifier::Classifier;
use crate::error::{ClassicalError, StoreError, TrainError};
use crate::nn::{ModelOptions, Network};
use crate::store::{self, META_ARCHITECTURE, META_CLASSES};
use atelier_core::dataset::{Batch, Dataset};

/// A trained model of any kind.
#[derive(Debug)]
pub enum Trained {
    Network {
        network: Network,
        options: ModelOptions,
    },
    Forest(Forest),
    Knn(Knn),
    /// A classical model on a network's features.
    Hybrid(Hybrid<Trained>),
}

/// The pixels of a batch back as bytes (the forest splits on raw u8 values).
pub fn batch_bytes(batch: &Batch) -> Vec<u8> {
    batch
        .pixels
        .iter()
        .map(|&p| (p * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

impl Classifier for Trained {
    async fn probabilities(&self, batch: &Batch) -> Result<Vec<f32>, TrainError> {
        match self {
            Self::Network { network, .. } => network.probabilities(batch).await,
            Self::Forest(forest) => Ok(forest.predict_proba(&batch_bytes(batch))),
            Self::Knn(knn) => knn.predict_proba(&batch.pixels).await,
            Self::Hybrid(hybrid) => hybrid.probabilities(batch).await,
        }
    }
}

/// Magic bytes of Atelier's file for the models that are not burn modules.
const CLASSICAL_MAGIC: &[u8; 4] = b"ATLM";

/// A loaded model with its file's metadata.
pub struct Loaded {
    pub model: Trained,
    pub classes: usize,
    pub metadata: BTreeMap<String, String>,
}

impl Trained {
    /// The `?model=` key.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Network { network, .. } => network.architecture().key(),
            Self::Forest(_) => "forest",
            Self::Knn(_) => "knn",
            Self::Hybrid(hybrid) => hybrid.head.key(),
        }
    }

    /// The network, for Grad-CAM and features.
    pub fn network(&self) -> Option<&Network> {
        match self {
            Self::Network { network, .. } => Some(network),
            _ => None,
        }
    }

    /// Values per image the model takes (`channels * rows * cols`).
    pub fn inputs(&self) -> usize {
        match self {
            Self::Network { options, .. } => options.inputs,
            Self::Forest(forest) => forest.features,
            Self::Knn(knn) => knn.features,
            Self::Hybrid(hybrid) => hybrid.base_options.inputs,
        }
    }

    /// The image shape `[channels, rows, cols]` the model was made for, where it records one (the forest
    /// and KNN know only their number of values).
    pub fn image_shape(&self) -> Option<[usize; 3]> {
        match self {
            Self::Network { options, .. } => Some(options.image_shape()),
            Self::Hybrid(hybrid) => Some(hybrid.base_options.image_shape()),
            Self::Forest(_) | Self::Knn(_) => None,
        }
    }

    /// Why this model, made for `classes` classes, cannot take this dataset's images, if it cannot. Models
    /// come back from storage before the dataset loads, so the ones saved with another dataset (`?data=`)
    /// are checked where they are used.
    pub fn misfit(&self, classes: usize, dataset: &Dataset) -> Option<String> {
        if classes != dataset.classes() {
            return Some(format!(
                "was trained for {classes} classes but this dataset has {}",
                dataset.classes()
            ));
        }
        let shape = [dataset.channels(), dataset.rows(), dataset.cols()];
        let text = |[c, r, w]: [usize; 3]| atelier_core::dataset::shape_text(c, r, w);
        match self.image_shape() {
            Some(own) if own != shape => Some(format!(
                "takes images of {} but this dataset's are {}",
                text(own),
                text(shape)
            )),
            Some(_) => None,
            None => {
                let values = shape.iter().product::<usize>();
                (self.inputs() != values).then(|| {
                    format!(
                        "takes images of {} values but this dataset's are {} ({values})",
                        self.inputs(),
                        text(shape)
                    )
                })
            }
        }
    }

    /// Learned (or stored) numbers: weights, tree nodes, or training pixels.
    pub fn parameters(&self) -> usize {
        match self {
            Self::Network { network, .. } => network.num_params(),
            Self::Forest(forest) => forest.nodes(),
            Self::Knn(knn) => knn.len() * knn.features,
            Self::Hybrid(hybrid) => hybrid.base.num_params() + hybrid.head.parameters(),
        }
    }

    /// The model's file: burn's record (burnpack) for networks, Atelier's own layout for the others
    /// (`ATLM`, version, JSON metadata length and metadata, then the model's bytes).
    pub async fn to_file(
        &self,
        classes: usize,
        extra: &BTreeMap<String, String>,
    ) -> Result<Vec<u8>, StoreError> {
        let (key, payload) = match self {
            Self::Network { network, options } => {
                return store::to_burnpack(network, classes, options, extra).await;
            }
            Self::Forest(forest) => ("forest", forest.to_bytes()),
            Self::Knn(knn) => ("knn", knn.to_bytes()),
            Self::Hybrid(hybrid) => {
                // The base network's record, the quantiser, then the head's own file.
                let base = store::to_burnpack(
                    &hybrid.base,
                    classes,
                    &hybrid.base_options,
                    &BTreeMap::new(),
                )
                .await?;
                let head = Box::pin(hybrid.head.to_file(classes, &BTreeMap::new())).await?;
                let mut payload = (base.len() as u32).to_le_bytes().to_vec();
                payload.extend_from_slice(&base);
                payload.extend_from_slice(&hybrid.quantiser.to_bytes());
                payload.extend_from_slice(&head);
                ("hybrid", payload)
            }
        };
        let mut metadata = extra.clone();
        metadata.insert(META_ARCHITECTURE.into(), key.into());
        metadata.insert(META_CLASSES.into(), classes.to_string());
        let json = serde_json::to_vec(&metadata).expect("a string map always serialises");
        let mut out = Vec::with_capacity(12 + json.len() + payload.len());
        out.extend_from_slice(CLASSICAL_MAGIC);
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Reads a file written by [`Trained::to_file`]; nothing changes when it is damaged.
    pub fn from_file(bytes: &[u8], device: &Device) -> Result<Loaded, StoreError> {
        if !bytes.starts_with(CLASSICAL_MAGIC) {
            let loaded = store::from_burnpack(bytes, device)?;
            return Ok(Loaded {
                model: Self::Network {
                    network: loaded.model,
                    options: loaded.options,
                },
                classes: loaded.classes,
                metadata: loaded.metadata,
            });
        }
        let damaged = |e: ClassicalError| StoreError::NotAModel(e.to_string());
        let mut reader = super::classical::Reader::new(&bytes[4..]);
        let version = reader.u32().map_err(damaged)?;
        if version != 1 {
            return Err(StoreError::NotAModel(format!(
                "its format version {version} is newer than this Atelier's"
            )));
        }
        let length = reader
            .count("the metadata length", bytes.len())
            .map_err(damaged)?;
        let metadata: BTreeMap<String, String> =
            serde_json::from_slice(reader.take(length).map_err(damaged)?)
                .map_err(|e| StoreError::NotAModel(format!("its metadata is unreadable: {e}")))?;
        let payload = &bytes[12 + length..];
        let classes = metadata
            .get(META_CLASSES)
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|&c| (1..=256).contains(&c))
            .ok_or_else(|| StoreError::NotAModel("no valid class count in its metadata".into()))?;
        let key = metadata.get(META_ARCHITECTURE).cloned().unwrap_or_default();
        let mismatch = |e: ClassicalError| StoreError::Mismatch {
            architecture: key.clone(),
            reason: e.to_string(),
        };
        let model = match key.as_str() {
            "forest" => Self::Forest(Forest::from_bytes(payload).map_err(mismatch)?),
            "knn" => Self::Knn(Knn::from_bytes(payload, device).map_err(mismatch)?),
            "hybrid" => {
                let mut r = super::classical::Reader::new(payload);
                let base_len = r
                    .count("the base network's size", payload.len())
                    .map_err(mismatch)?;
                let base = store::from_burnpack(r.take(base_len).map_err(mismatch)?, device)?;
                let quantiser = Quantiser::read(&mut r).map_err(mismatch)?;
                let head =
                    Self::from_file(&payload[4 + base_len + 4 + 8 * quantiser.dim()..], device)?;
                if head.classes != classes || base.classes != classes {
                    return Err(StoreError::Mismatch {
                        architecture: key,
                        reason: "its parts disagree on the number of classes".into(),
                    });
                }
                Self::Hybrid(Hybrid {
                    base: base.model,
                    base_options: base.options,
                    quantiser,
                    head: Box::new(head.model),
                })
            }
            _ => return Err(StoreError::UnknownArchitecture { found: key }),
        };
        let model_classes = match &model {
            Self::Forest(f) => f.classes,
            Self::Knn(k) => k.classes,
            Self::Network { .. } | Self::Hybrid(_) => classes,
        };
        if model_classes != classes {
            return Err(StoreError::Mismatch {
                architecture: key,
                reason: format!("{model_classes} classes inside, {classes} in its metadata"),
            });
        }
        Ok(Loaded {
            model,
            classes,
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classical::forest::{BinnedData, ForestParams, grow_tree};
    use crate::classical::knn::KnnParams;
    use crate::classifier::Mirrored;
    use crate::nn::Architecture;
    use crate::tensor::block_on;
    use atelier_core::augment::mirror_batch;

    fn batch() -> Batch {
        Batch {
            pixels: (0..2 * 4).map(|i| i as f32 / 8.0).collect(),
            labels: vec![0, 1],
            channels: 1,
            rows: 2,
            cols: 2,
        }
    }

    /// Says class 0 with the top-left pixel's value as its probability.
    struct TopLeft;

    impl Classifier for TopLeft {
        async fn probabilities(&self, batch: &Batch) -> Result<Vec<f32>, TrainError> {
            let side = batch.rows * batch.cols;
            Ok(batch
                .pixels
                .chunks_exact(side)
                .flat_map(|image| [image[0], 1.0 - image[0]])
                .collect())
        }
    }

    #[test]
    fn mirrored_averages_each_image_with_its_mirror() {
        // Image 0 is [0, 0.125; 0.25, 0.375]: its mirror's top-left pixel is 0.125.
        let p = block_on(Mirrored(&TopLeft).probabilities(&batch())).unwrap();
        assert_eq!(p, vec![0.0625, 0.9375, 0.5625, 0.4375]);
    }

    #[test]
    fn a_mirrored_network_sees_an_image_and_its_mirror_alike() {
        use crate::nn::Architecture;
        let device = Device::flex();
        let network = Architecture::Cnn.init(10, &ModelOptions::default(), &device);
        let pixels: Vec<f32> = (0..2 * 784)
            .map(|i| (i * 37 % 101) as f32 / 100.0)
            .collect();
        let batch = Batch {
            pixels,
            labels: vec![0, 1],
            channels: 1,
            rows: 28,
            cols: 28,
        };
        let flipped = mirror_batch(&batch);
        let plain = block_on(network.probabilities(&batch)).unwrap();
        let mirrored = block_on(Mirrored(&network).probabilities(&batch)).unwrap();
        let of_flipped = block_on(Mirrored(&network).probabilities(&flipped)).unwrap();
        assert_ne!(
            plain, mirrored,
            "an asymmetric image should read differently mirrored"
        );
        for (a, b) in mirrored.iter().zip(&of_flipped) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        for row in mirrored.chunks_exact(10) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }

    /// A model trained on colour images records their shape: its file comes back the same, and it is
    /// refused (with the shapes named) for gray data of the same size.
    #[test]
    fn colour_model_files_roundtrip_and_are_refused_for_other_data() {
        let device = Device::flex();
        let gray = atelier_core::fixtures::synthetic_28(3, 4, 2, 1);
        let colour = atelier_core::colour::colour_dataset(&gray);
        let options = ModelOptions {
            cnn_channels: vec![4, 8],
            cnn_dense: 0,
            ..ModelOptions::default()
        }
        .for_images(3, 28, 28);
        for architecture in [Architecture::Cnn, Architecture::ResNet, Architecture::Mlp] {
            let model = Trained::Network {
                network: architecture.init(3, &options, &device).valid(),
                options: options.clone(),
            };
            let bytes = block_on(model.to_file(3, &BTreeMap::new())).unwrap();
            let loaded = Trained::from_file(&bytes, &device).unwrap();
            assert_eq!(loaded.model.image_shape(), Some([3, 28, 28]));
            let batch = colour.batch(atelier_core::dataset::Part::Test, &[0, 1, 2]);
            assert_eq!(
                block_on(model.probabilities(&batch)).unwrap(),
                block_on(loaded.model.probabilities(&batch)).unwrap(),
                "{architecture:?}"
            );
            assert_eq!(loaded.model.misfit(3, &colour), None);
            let why = loaded.model.misfit(3, &gray).unwrap();
            assert!(
                why.contains("3 x 28 x 28") && why.contains("1 x 28 x 28"),
                "{why}"
            );
        }
        // A forest knows only its number of values: gray data has a third of them.
        let (pixels, labels) = crate::classical::fit::raw_rows(
            &colour,
            atelier_core::dataset::Part::Train,
            &[0, 1, 2, 3, 4, 5],
        );
        let data = BinnedData::new(&pixels, &labels, 3 * 784, 3, 16);
        let params = ForestParams::default().check(3 * 784).unwrap();
        let mut forest = Forest::new(&data);
        forest.trees.push(grow_tree(&data, &params, 0));
        let forest = Trained::Forest(forest);
        assert_eq!(forest.misfit(3, &colour), None);
        assert!(forest.misfit(3, &gray).unwrap().contains("2352 values"));
    }

    /// Files from before image shapes were recorded hold only the pixel count: they read as gray squares.
    #[test]
    fn files_without_an_image_shape_read_as_gray_squares() {
        let device = Device::flex();
        let options = ModelOptions::default().for_images(1, 8, 8);
        let model = Architecture::Logistic.init(2, &options, &device).valid();
        let mut old_options = serde_json::to_value(&options).unwrap();
        for key in ["channels", "rows", "cols"] {
            old_options.as_object_mut().unwrap().remove(key);
        }
        let mut extra = BTreeMap::new();
        extra.insert(store::META_OPTIONS.to_string(), old_options.to_string());
        let bytes = block_on(store::to_burnpack(&model, 2, &options, &extra)).unwrap();
        let loaded = Trained::from_file(&bytes, &device).unwrap();
        assert_eq!(loaded.model.image_shape(), Some([1, 8, 8]));
    }

    #[test]
    fn classical_files_roundtrip_and_damage_is_refused() {
        let device = Device::flex();
        let pixels: Vec<u8> = (0..40u32).map(|i| (i * 53 % 256) as u8).collect();
        let labels: Vec<u8> = (0..10).map(|i| (i % 2) as u8).collect();
        let data = BinnedData::new(&pixels, &labels, 4, 2, 16);
        let params = ForestParams::default().check(4).unwrap();
        let mut forest = Forest::new(&data);
        forest.trees.push(grow_tree(&data, &params, 0));
        let knn = Knn::fit(&KnnParams::default(), pixels, labels, 4, 2, &device).unwrap();
        for model in [Trained::Forest(forest), Trained::Knn(knn)] {
            let mut extra = BTreeMap::new();
            extra.insert("atelier.note".into(), "x".into());
            let bytes = block_on(model.to_file(2, &extra)).unwrap();
            let loaded = Trained::from_file(&bytes, &device).unwrap();
            assert_eq!(loaded.classes, 2);
            assert_eq!(loaded.model.key(), model.key());
            assert_eq!(loaded.metadata["atelier.note"], "x");
            assert_eq!(
                block_on(loaded.model.probabilities(&batch())).unwrap(),
                block_on(model.probabilities(&batch())).unwrap()
            );
            assert!(Trained::from_file(&bytes[..bytes.len() - 1], &device).is_err());
            assert!(Trained::from_file(&bytes[..20], &device).is_err());
        }
        assert!(Trained::from_file(b"ATLM\x01\0\0\0\xff\xff\xff\xff", &device).is_err());
    }
}
