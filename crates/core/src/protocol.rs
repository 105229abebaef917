//! Every message between the UI and the worker. Plain data and serde only: never a tensor, never a web type.
//!
//! On the wire each message is a JSON string; user-picked files travel beside it as transferable objects
//! (see `worker::transport` and `ui::bridge`).

use serde::{Deserialize, Serialize};

use crate::augment::Augmentation;
use crate::dataset::Part;
use crate::defaults;

/// Which compute backend the user asked for (`?backend=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BackendPreference {
    /// WebGPU when an adapter is there, else the CPU.
    #[default]
    Auto,
    /// WebGPU, failing loudly when there is none.
    WebGpu,
    /// burn's pure-Rust CPU backend (flex).
    Cpu,
}

impl BackendPreference {
    /// Parses the URL value; anything unknown is `Auto`.
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Self::Cpu,
            "webgpu" | "wgpu" | "gpu" => Self::WebGpu,
            _ => Self::Auto,
        }
    }

    /// The URL value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::WebGpu => "webgpu",
            Self::Cpu => "cpu",
        }
    }
}

/// Where the dataset comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DatasetOrigin {
    /// Four IDX URLs, in the order train images, train labels, test images, test labels; `colour`: tint
    /// them (Fashion-MNIST in colour).
    Urls {
        urls: [String; 4],
        #[serde(default)]
        colour: bool,
    },
    /// Four IDX files the user picked, sent beside the message in the same order.
    PickedFiles { names: [String; 4] },
    /// CIFAR's binary files at these URLs (training files, test file, names file; see `CifarKind::files`
    /// in the cifar module).
    Cifar { urls: Vec<String> },
    /// CIFAR files the user picked (`.bin` files and the names file, or the `.tar.gz`), sent beside the
    /// message in the same order.
    PickedCifar { names: Vec<String> },
    /// The user's pictures, one folder per class (paths inside the picked folder), or `.zip` archives of
    /// such folders, sent beside the message in the same order.
    PickedImages {
        paths: Vec<String>,
        options: crate::import::ImportOptions,
    },
    /// A dataset this browser saved (`?data=saved:<id>`).
    Saved { id: String },
    /// Frames captured from the camera, one class per name: `labels[i]` indexes `class_names`, frame `i`
    /// is `options.channels() * options.size²` bytes of `pixels`, planar. They never leave the page.
    Captured {
        class_names: Vec<String>,
        labels: Vec<u8>,
        pixels: Vec<u8>,
        options: crate::import::ImportOptions,
    },
}

impl DatasetOrigin {
    /// True for the data the user brought from disk (kept in the browser once loaded).
    pub fn is_picked(&self) -> bool {
        matches!(
            self,
            Self::PickedFiles { .. }
                | Self::PickedCifar { .. }
                | Self::PickedImages { .. }
                | Self::Captured { .. }
        )
    }
}

/// Channels of images in messages from before colour datasets: gray.
fn one_channel() -> usize {
    1
}

/// A request to load a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadDataset {
    pub origin: DatasetOrigin,
    pub class_names: Vec<String>,
    /// Validation share in per mille of the training file (100 = 10%).
    pub validation_per_mille: u32,
    /// Seed of the stratified validation split.
    pub split_seed: u64,
}

/// Every model the worker fits: (`?model=` key, name shown). The worker's models use the same keys
/// (checked by a test in `worker::report`).
pub const MODELS: [(&str, &str); 8] = [
    ("cnn", "CNN"),
    ("resnet", "ResNet"),
    ("refcnn", "Reference CNN"),
    ("mlp", "MLP"),
    ("logreg", "Logistic regression"),
    ("svm", "SVM"),
    ("forest", "Random forest"),
    ("knn", "KNN"),
];

/// The models with convolutions, which Grad-CAM explains.
pub const CONVOLUTIONAL_MODELS: [&str; 3] = ["cnn", "resnet", "refcnn"];

/// The models trained by the mini-batch loop (epochs, batch size, learning rate apply).
pub const GRADIENT_MODELS: [&str; 6] = ["cnn", "resnet", "refcnn", "mlp", "logreg", "svm"];

/// The name of a model key, if it is one.
pub fn model_label(key: &str) -> Option<&'static str> {
    let key = key.trim().to_ascii_lowercase();
    MODELS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, label)| *label)
}

/// Settings of a training run, as the page and the URL carry them. Each model reads the fields that
/// apply to it; fields missing from older saved reports take their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainSettings {
    /// One of [`MODELS`]' keys.
    pub model: String,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Label smoothing of the cross-entropy loss, in [0, 1) (0: none; the SVM's hinge loss ignores it).
    pub label_smoothing: f64,
    /// `cosine`, `step` or `constant`.
    pub schedule: String,
    /// Training images to use; None: all.
    pub train_size: Option<usize>,
    /// Test images to evaluate; None: all.
    pub test_size: Option<usize>,
    /// Test-time augmentation: evaluate each test image as the mean of the model's probabilities for it
    /// and for its mirror image.
    pub tta: bool,
    pub augment: bool,
    /// With `augment`: the largest shift in pixels, each way (0: flip only, or flip and erasing).
    pub shift: usize,
    /// With `augment`: probability of random erasing per image (0: shift and flip only).
    pub erase: f64,
    pub seed: u64,
    /// ResNet: channels of the first stage (then twice and four times as many).
    pub resnet_width: usize,
    /// ResNet: residual blocks per stage (3: ResNet-20).
    pub resnet_blocks: usize,
    /// CNN: output channels of each block.
    pub cnn_channels: Vec<usize>,
    /// CNN: 3x3 convolutions per block (1 or 2).
    pub cnn_convs: usize,
    /// CNN: width of the dense layer (0: none).
    pub cnn_dense: usize,
    /// CNN: dropout before the last layer (half as much after each block); the URL's `dropout` for the
    /// CNN.
    pub cnn_dropout: f64,
    /// MLP: hidden layer widths.
    pub hidden: Vec<usize>,
    /// MLP: dropout probability.
    pub dropout: f64,
    /// SVM: `rbf` (random Fourier features) or `linear`.
    pub kernel: String,
    /// SVM: number of random features.
    pub rff_features: usize,
    /// SVM: RBF kernel width.
    pub gamma: f64,
    /// SVM: principal components the random features are drawn in (0: all pixels).
    pub pca: usize,
    /// Forest: trees.
    pub trees: usize,
    /// Forest: maximum depth.
    pub max_depth: usize,
    /// Forest: histogram bins over 0..=255.
    pub bins: usize,
    /// Forest: features drawn per split (0: square root of the pixel count).
    pub features_per_split: usize,
    /// Forest: bootstrap samples.
    pub bootstrap: bool,
    /// KNN: neighbours.
    pub k: usize,
    /// KNN: `distance` or `uniform`.
    pub knn_weights: String,
    /// Hybrid: the id of a trained network whose penultimate activations replace the pixels.
    pub features_from: Option<String>,
    /// Web Workers that train a network on the CPU backend together, each on part of every batch
    /// (0: one per core the browser reports; 1: the worker alone).
    pub workers: usize,
    /// The recipe these settings started from (one of [`RECIPES`]' keys); the URL writes the fields
    /// that differ from it.
    pub recipe: Option<String>,
}

/// A list of widths (MLP layers, CNN blocks) as the URL and the form write it: `512,256`.
pub fn widths_text(widths: &[usize]) -> String {
    let widths: Vec<String> = widths.iter().map(|w| w.to_string()).collect();
    widths.join(",")
}

/// Recipes: whole settings measured to reach an accuracy soon in the page on a 2-core CPU (BENCHMARKS.md,
/// issue #22), as (key, label).
pub const RECIPES: [(&str, &str); 2] = [
    ("quick", "Quick: 90% in under a minute"),
    ("fast", "Fast: 93% in under ten minutes"),
];

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            model: "cnn".into(),
            epochs: 10,
            batch_size: 64,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            label_smoothing: 0.0,
            schedule: "cosine".into(),
            train_size: None,
            test_size: None,
            tta: false,
            // The CNN (the default model) learns best without it in 10 epochs: 93.41% against 92.02%
            // with shift and flip (BENCHMARKS.md). The ResNet and the reference CNN turn it on.
            augment: false,
            shift: Augmentation::default().shift_pad,
            erase: 0.0,
            seed: defaults::SEED,
            resnet_width: defaults::RESNET_WIDTH,
            resnet_blocks: defaults::RESNET_BLOCKS,
            cnn_channels: defaults::CNN_CHANNELS.to_vec(),
            cnn_convs: defaults::CNN_CONVS,
            cnn_dense: defaults::CNN_DENSE,
            cnn_dropout: defaults::CNN_DROPOUT,
            hidden: defaults::MLP_HIDDEN.to_vec(),
            dropout: defaults::MLP_DROPOUT,
            kernel: "rbf".into(),
            rff_features: defaults::RFF_FEATURES,
            gamma: defaults::GAMMA,
            pca: defaults::PCA,
            trees: 100,
            max_depth: 64,
            bins: 32,
            features_per_split: 0,
            bootstrap: false,
            k: 5,
            knn_weights: "distance".into(),
            features_from: None,
            workers: 0,
            recipe: None,
        }
    }
}

impl TrainSettings {
    /// The defaults of a model: the ResNet and the reference CNN learn with augmentation (the CNN, with
    /// its dropout, does better without in its 10 epochs); the flat models train longer on bigger
    /// batches, with a little L2.
    pub fn for_model(model: &str) -> Self {
        let base = Self {
            model: model.to_string(),
            ..Self::default()
        };
        match model {
            "mlp" => Self {
                epochs: 15,
                batch_size: 128,
                ..base
            },
            // 84.6% on the 10,000 test images after 20 epochs on all 60,000 (BENCHMARKS.md).
            "logreg" => Self {
                epochs: 20,
                batch_size: 128,
                learning_rate: 3e-3,
                weight_decay: 1e-4,
                ..base
            },
            // 32,768 random features drawn in 128 principal components, almost no L2 (with this many
            // features an L2 of 1e-4 outweighed the hinge loss), lr 0.005, gamma 0.035: 89.38% on the
            // 10,000 test images after 10 epochs on all 60,000 (BENCHMARKS.md).
            "svm" => Self {
                epochs: 10,
                batch_size: 128,
                learning_rate: 0.005,
                weight_decay: 1e-6,
                gamma: 0.035,
                rff_features: 32_768,
                pca: 128,
                ..base
            },
            "resnet" | "refcnn" => Self {
                augment: true,
                ..base
            },
            _ => base,
        }
    }

    /// The settings of recipe `name` (a key of [`RECIPES`]): a CNN of one convolution per block with
    /// early pooling, no dense layer and no dropout, trained with a one-cycle schedule, a high rate and
    /// label smoothing on all the training images (the fast one with mirrored images, and tested with
    /// them). None: no such recipe.
    pub fn recipe(name: &str) -> Option<Self> {
        let cnn = Self {
            recipe: Some(name.to_string()),
            cnn_convs: 1,
            cnn_dense: 0,
            cnn_dropout: 0.0,
            batch_size: 64,
            learning_rate: 0.01,
            label_smoothing: 0.1,
            schedule: "onecycle".into(),
            augment: false,
            ..Self::for_model("cnn")
        };
        match name {
            "quick" => Some(Self {
                cnn_channels: vec![16, 32, 64],
                epochs: 2,
                ..cnn
            }),
            // Mirrored training images, and each test image scored with its mirror image too: +0.22
            // points natively at the same training time (BENCHMARKS.md).
            "fast" => Some(Self {
                cnn_channels: vec![32, 64, 128],
                epochs: 8,
                augment: true,
                shift: 0,
                tta: true,
                ..cnn
            }),
            _ => None,
        }
    }

    /// Switches to another model with its defaults, keeping the data choices (sizes, seed, features).
    pub fn with_model(&self, model: &str) -> Self {
        Self {
            train_size: self.train_size,
            test_size: self.test_size,
            tta: self.tta,
            seed: self.seed,
            features_from: self.features_from.clone(),
            workers: self.workers,
            ..Self::for_model(model)
        }
    }

    /// Sets one field from its URL key (`epochs`, `lr`, `trees`, ... see README) and text. Returns false
    /// when the key is not a setting. A value that does not parse or is out of range keeps the old one;
    /// `model` switches to that model's defaults. The same rules serve the URL, the form and the bench.
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        let v = value.trim();
        fn within<T: std::str::FromStr + PartialOrd>(v: &str, low: T, high: T) -> Option<T> {
            v.parse::<T>().ok().filter(|x| *x >= low && *x <= high)
        }
        fn within_range<T: std::str::FromStr + PartialOrd + Copy>(
            v: &str,
            range: &std::ops::RangeInclusive<T>,
        ) -> Option<T> {
            within(v, *range.start(), *range.end())
        }
        // A list of widths ("128, 64"), each in `width`, as many as `count` allows.
        fn widths(
            v: &str,
            width: &std::ops::RangeInclusive<usize>,
            count: &std::ops::RangeInclusive<usize>,
        ) -> Option<Vec<usize>> {
            let widths: Option<Vec<usize>> = v
                .split([',', ' '])
                .filter(|w| !w.is_empty())
                .map(|w| within_range(w, width))
                .collect();
            widths.filter(|w| count.contains(&w.len()))
        }
        let flag = |old: bool| match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => old,
        };
        match key {
            "model" => {
                let v = v.to_ascii_lowercase();
                if model_label(&v).is_some() && v != self.model {
                    *self = self.with_model(&v);
                }
            }
            // A recipe replaces every training choice and keeps the data choices but the training size
            // (recipes are measured on all the images) and the mirrored test (a recipe's own choice);
            // empty or "none" only forgets the recipe's name.
            "recipe" => match Self::recipe(&v.to_ascii_lowercase()) {
                Some(recipe) => {
                    *self = Self {
                        test_size: self.test_size,
                        seed: self.seed,
                        workers: self.workers,
                        ..recipe
                    }
                }
                None if v.is_empty() || v.eq_ignore_ascii_case("none") => self.recipe = None,
                None => {}
            },
            "epochs" => self.epochs = within(v, 1, 1000).unwrap_or(self.epochs),
            "batch" => self.batch_size = within(v, 1, 4096).unwrap_or(self.batch_size),
            "lr" => {
                self.learning_rate =
                    within(v, f64::MIN_POSITIVE, 9.999).unwrap_or(self.learning_rate)
            }
            "wd" => self.weight_decay = within(v, 0.0, 0.999).unwrap_or(self.weight_decay),
            "smoothing" => {
                self.label_smoothing = within(v, 0.0, 0.999).unwrap_or(self.label_smoothing)
            }
            "schedule" => {
                if ["cosine", "onecycle", "step", "constant"].contains(&v) {
                    self.schedule = v.into()
                }
            }
            "train_size" => self.train_size = within(v, 1, usize::MAX),
            "test_size" => self.test_size = within(v, 1, usize::MAX),
            "augment" => self.augment = flag(self.augment),
            "tta" => self.tta = flag(self.tta),
            "shift" => self.shift = within(v, 0, 4).unwrap_or(self.shift),
            "erase" => self.erase = within(v, 0.0, 1.0).unwrap_or(self.erase),
            "seed" => self.seed = v.parse().unwrap_or(self.seed),
            "hidden" => {
                if let Some(w) = widths(v, &defaults::MLP_WIDTH, &defaults::MLP_LAYERS) {
                    self.hidden = w;
                }
            }
            // One key, each model's own dropout.
            "dropout" if self.model == "cnn" => {
                self.cnn_dropout = within_range(v, &defaults::DROPOUT).unwrap_or(self.cnn_dropout)
            }
            "dropout" => self.dropout = within_range(v, &defaults::DROPOUT).unwrap_or(self.dropout),
            "channels" => {
                if let Some(w) = widths(v, &defaults::CNN_CHANNEL_RANGE, &defaults::CNN_BLOCKS) {
                    self.cnn_channels = w;
                }
            }
            "convs" => {
                self.cnn_convs =
                    within_range(v, &defaults::CNN_CONVS_RANGE).unwrap_or(self.cnn_convs)
            }
            "dense" => {
                self.cnn_dense =
                    within_range(v, &defaults::CNN_DENSE_RANGE).unwrap_or(self.cnn_dense)
            }
            "width" => {
                self.resnet_width =
                    within_range(v, &defaults::RESNET_WIDTH_RANGE).unwrap_or(self.resnet_width)
            }
            "blocks" => {
                self.resnet_blocks =
                    within_range(v, &defaults::RESNET_BLOCKS_RANGE).unwrap_or(self.resnet_blocks)
            }
            "kernel" => {
                if ["rbf", "linear"].contains(&v) {
                    self.kernel = v.into()
                }
            }
            "rff" => {
                self.rff_features =
                    within_range(v, &defaults::RFF_RANGE).unwrap_or(self.rff_features)
            }
            "gamma" => self.gamma = within(v, 1e-9, 100.0).unwrap_or(self.gamma),
            "pca" => self.pca = within_range(v, &defaults::PCA_RANGE).unwrap_or(self.pca),
            "trees" => self.trees = within(v, 1, 2000).unwrap_or(self.trees),
            "depth" => self.max_depth = within(v, 1, 64).unwrap_or(self.max_depth),
            "bins" => self.bins = within(v, 2, 256).unwrap_or(self.bins),
            "mtry" => {
                self.features_per_split = within(v, 0, 1 << 20).unwrap_or(self.features_per_split)
            }
            "bootstrap" => self.bootstrap = flag(self.bootstrap),
            "k" => self.k = within(v, 1, 100).unwrap_or(self.k),
            "weights" => {
                if ["distance", "uniform"].contains(&v) {
                    self.knn_weights = v.into()
                }
            }
            "features_from" => self.features_from = Some(v.to_string()).filter(|v| !v.is_empty()),
            "workers" => self.workers = within(v, 0, 64).unwrap_or(self.workers),
            _ => return false,
        }
        true
    }

    /// The settings that differ from the model's defaults, as (URL key, value) pairs; the seed is left to
    /// the caller (the URL shares it with the split).
    pub fn changed(&self) -> Vec<(&'static str, String)> {
        let recipe = self.recipe.as_deref().and_then(Self::recipe);
        let d = recipe
            .clone()
            .filter(|r| r.model == self.model)
            .unwrap_or_else(|| Self::for_model(&self.model));
        let mut out = vec![("model", self.model.clone())];
        if let Some(recipe) = &recipe {
            out.push(("recipe", recipe.recipe.clone().unwrap_or_default()));
        }
        let mut push = |key: &'static str, differs: bool, value: String| {
            if differs {
                out.push((key, value));
            }
        };
        push("epochs", self.epochs != d.epochs, self.epochs.to_string());
        push(
            "batch",
            self.batch_size != d.batch_size,
            self.batch_size.to_string(),
        );
        push(
            "lr",
            self.learning_rate != d.learning_rate,
            self.learning_rate.to_string(),
        );
        push(
            "wd",
            self.weight_decay != d.weight_decay,
            self.weight_decay.to_string(),
        );
        push(
            "smoothing",
            self.label_smoothing != d.label_smoothing,
            self.label_smoothing.to_string(),
        );
        push(
            "schedule",
            self.schedule != d.schedule,
            self.schedule.clone(),
        );
        let size = |s: Option<usize>| s.map(|v| v.to_string()).unwrap_or_default();
        push(
            "train_size",
            self.train_size.is_some(),
            size(self.train_size),
        );
        push("test_size", self.test_size.is_some(), size(self.test_size));
        let flag = |b: bool| if b { "1".to_string() } else { "0".to_string() };
        push("augment", self.augment != d.augment, flag(self.augment));
        push("tta", self.tta != d.tta, flag(self.tta));
        push("shift", self.shift != d.shift, self.shift.to_string());
        push("erase", self.erase != d.erase, self.erase.to_string());
        push("hidden", self.hidden != d.hidden, widths_text(&self.hidden));
        if self.model == "cnn" {
            push(
                "dropout",
                self.cnn_dropout != d.cnn_dropout,
                self.cnn_dropout.to_string(),
            );
        } else {
            push(
                "dropout",
                self.dropout != d.dropout,
                self.dropout.to_string(),
            );
        }
        push(
            "channels",
            self.cnn_channels != d.cnn_channels,
            widths_text(&self.cnn_channels),
        );
        push(
            "convs",
            self.cnn_convs != d.cnn_convs,
            self.cnn_convs.to_string(),
        );
        push(
            "dense",
            self.cnn_dense != d.cnn_dense,
            self.cnn_dense.to_string(),
        );
        push("kernel", self.kernel != d.kernel, self.kernel.clone());
        push(
            "rff",
            self.rff_features != d.rff_features,
            self.rff_features.to_string(),
        );
        push("gamma", self.gamma != d.gamma, self.gamma.to_string());
        push("pca", self.pca != d.pca, self.pca.to_string());
        push(
            "width",
            self.resnet_width != d.resnet_width,
            self.resnet_width.to_string(),
        );
        push(
            "blocks",
            self.resnet_blocks != d.resnet_blocks,
            self.resnet_blocks.to_string(),
        );
        push("trees", self.trees != d.trees, self.trees.to_string());
        push(
            "depth",
            self.max_depth != d.max_depth,
            self.max_depth.to_string(),
        );
        push("bins", self.bins != d.bins, self.bins.to_string());
        push(
            "mtry",
            self.features_per_split != d.features_per_split,
            self.features_per_split.to_string(),
        );
        push(
            "bootstrap",
            self.bootstrap != d.bootstrap,
            flag(self.bootstrap),
        );
        push("k", self.k != d.k, self.k.to_string());
        push(
            "weights",
            self.knn_weights != d.knn_weights,
            self.knn_weights.clone(),
        );
        push(
            "features_from",
            self.features_from.is_some(),
            self.features_from.clone().unwrap_or_default(),
        );
        push(
            "workers",
            self.workers != d.workers,
            self.workers.to_string(),
        );
        out
    }
}

/// One training step, for the live curves and the progress bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchPoint {
    pub epoch: usize,
    pub batch: usize,
    pub batches_per_epoch: usize,
    pub loss: f32,
    pub accuracy: f32,
    pub samples_per_second: f64,
    pub train_seconds: f64,
}

/// One finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochPoint {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    /// None when the run had no validation part. Models saved before this was optional hold numbers,
    /// which still read.
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    pub best: bool,
}

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u32,
}

/// A wrong prediction on a test image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mistake {
    /// Position in the test set.
    pub index: usize,
    pub truth: u8,
    pub predicted: u8,
    pub confidence: f32,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunEnd {
    Done,
    Stopped,
}

/// Everything known about a trained model: what the comparison, the summary and the charts show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    /// Unique within this browser.
    pub id: String,
    /// `cnn`, `resnet`, `refcnn`.
    pub model: String,
    /// The name shown, such as "CNN #3".
    pub name: String,
    pub backend: String,
    pub settings: TrainSettings,
    pub end: RunEnd,
    pub epochs: Vec<EpochPoint>,
    /// 1-based epoch whose weights were kept (0: none finished).
    pub best_epoch: usize,
    pub parameters: usize,
    pub train_seconds: f64,
    pub samples_per_second: f64,
    pub test_images: usize,
    pub test_accuracy: f64,
    pub test_loss: f64,
    pub macro_f1: f64,
    pub per_class: Vec<ClassScore>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    pub inference_images_per_second: f64,
    /// The most confident mistakes, most confident first.
    pub mistakes: Vec<Mistake>,
    /// The predicted class of each evaluated test image, in test order.
    pub predicted: Vec<u8>,
    /// Size of the saved weights in bytes.
    pub size_bytes: usize,
    /// Milliseconds since the Unix epoch.
    pub created_ms: f64,
    /// The most confused (true, predicted, count) pairs, most mistakes first (absent in older reports).
    #[serde(default)]
    pub confused_pairs: Vec<(usize, usize, u32)>,
}

/// A Grad-CAM explanation of one test image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub model_id: String,
    pub model_name: String,
    pub test_index: usize,
    pub truth: u8,
    /// The class explained.
    pub class: usize,
    pub probabilities: Vec<f32>,
    /// 1 (gray) or 3 (colour); images are planar, channel after channel.
    #[serde(default = "one_channel")]
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    /// `channels * rows * cols` bytes.
    pub image: Vec<u8>,
    /// `rows * cols` values in `[0, 1]`.
    pub heatmap: Vec<f32>,
    /// The convolutional layer explained (an index into `layers`).
    #[serde(default)]
    pub layer: usize,
    /// The layers that can be explained, first to last.
    #[serde(default)]
    pub layers: Vec<String>,
}

/// One model's answer for a user's image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPrediction {
    pub model_id: String,
    pub model_name: String,
    /// The model's key (`cnn`, `forest`, ...).
    pub model: String,
    pub probabilities: Vec<f32>,
    /// Grad-CAM of the predicted class (`rows * cols` in `[0, 1]`), for the networks with convolutions.
    pub heatmap: Option<Vec<f32>>,
}

/// Every model's answer for one preprocessed image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictions {
    /// Which image (the file's name, "drawing", "pasted image").
    pub label: String,
    /// 1 (gray) or 3 (colour); images are planar, channel after channel.
    #[serde(default = "one_channel")]
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    pub image: Vec<u8>,
    pub models: Vec<ModelPrediction>,
    /// Milliseconds the worker spent on all models.
    pub milliseconds: f64,
}

/// The Grad-CAM panels and test images a report asked for. Each explanation that could not be made is a
/// sentence in `problems` instead (the report says so).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportMaterial {
    pub explanations: Vec<Explanation>,
    /// 1 (gray) or 3 (colour); images are planar, channel after channel.
    #[serde(default = "one_channel")]
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    /// (test index, pixels), in the order asked.
    pub images: Vec<(usize, Vec<u8>)>,
    pub problems: Vec<String>,
}

/// Messages from the UI to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// Find and open a compute backend, and start the helper workers: one per extra core, or
    /// `workers - 1` when more are asked for (the `workers` setting; a browser may report fewer cores
    /// than it has).
    InitBackend {
        preference: BackendPreference,
        #[serde(default)]
        workers: usize,
    },
    /// Download (or read) and parse a dataset, then answer with `DatasetReady` and `Samples`.
    LoadDataset(LoadDataset),
    /// Make a new validation split of the loaded dataset; answered with `DatasetReady` and `Samples`.
    Resplit {
        validation_per_mille: u32,
        seed: u64,
    },
    /// Train a new model; progress comes back as `TrainBatch` and `TrainEpoch`, the end as `TrainDone`.
    Train { settings: Box<TrainSettings> },
    /// Stop the running job after the current batch; the model trained so far is kept.
    Stop,
    /// Testing aid (`?lose_device_after=N`): destroy the WebGPU device after N more training batches, as a
    /// driver reset would.
    LoseDeviceAfter { batches: usize },
    /// Send the pixels of these test images (`TestImages`).
    TestImages { indices: Vec<usize> },
    /// Delete a saved model.
    DeleteModel { id: String },
    /// Send a model's file: burn's record (`burnpack`) or `safetensors`.
    ExportModel { id: String, format: String },
    /// Load a model file (sent beside the message).
    ImportModel { name: String },
    /// Grad-CAM of a test image for a model and a class (None: the predicted class).
    Explain {
        model_id: String,
        test_index: usize,
        class: Option<usize>,
        /// The convolutional layer (None: the last).
        layer: Option<usize>,
    },
    /// Run every model on a preprocessed image of the dataset's size (answered with `Predictions`).
    Predict {
        label: String,
        /// 1 (gray) or 3 (colour).
        #[serde(default = "one_channel")]
        channels: usize,
        rows: usize,
        cols: usize,
        pixels: Vec<u8>,
    },
    /// What a written report needs from the worker (answered with `ReportMaterial`): Grad-CAM of test
    /// images, as (model id, test index) pairs, and the pixels of other test images.
    ReportMaterial {
        explain: Vec<(String, usize)>,
        images: Vec<usize>,
    },
    /// Delete a saved dataset (answered with `SavedDatasets`).
    DeleteDataset { id: String },
    /// Pick other sample images for the explorer grid.
    Resample {
        part: Part,
        per_class: usize,
        seed: u64,
    },
}

/// Download progress of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProgress {
    pub file: String,
    pub received: u64,
    /// From Content-Length; None when the server does not say.
    pub total: Option<u64>,
}

/// Items per class in each part.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClassBalance {
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
}

/// What the explorer needs to know about a loaded dataset. Images are bytes, `channels * rows * cols`
/// each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub class_names: Vec<String>,
    /// 1 (gray) or 3 (colour); images are planar, channel after channel.
    #[serde(default = "one_channel")]
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    pub train_count: usize,
    pub validation_count: usize,
    pub test_count: usize,
    pub split_seed: u64,
    pub validation_per_mille: u32,
    pub balance: ClassBalance,
    /// Mean training image of each class.
    pub mean_images: Vec<Vec<u8>>,
    /// Pixel intensity histograms of the training part in equal bins over 0..=255, one per channel.
    pub histograms: Vec<Vec<u64>>,
    /// Milliseconds spent parsing and summarising, after the downloads.
    pub parse_ms: f64,
    /// For the user's pictures: what was decoded and what was skipped.
    #[serde(default)]
    pub import: Option<crate::import::ImportReport>,
    /// The test labels, in order (the page matches them with a model's predictions).
    pub test_labels: Vec<u8>,
}

/// Sample images for the explorer grid: `images[class]` holds up to `per_class` images of that class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleGrid {
    pub part: Part,
    pub seed: u64,
    /// 1 (gray) or 3 (colour); images are planar, channel after channel.
    #[serde(default = "one_channel")]
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    /// Positions within the part, per class.
    pub positions: Vec<Vec<usize>>,
    /// Pixels, per class, per image.
    pub images: Vec<Vec<Vec<u8>>>,
}

/// The WebGPU adapter the browser gave, as it describes itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AdapterInfo {
    pub vendor: String,
    pub architecture: String,
    pub device: String,
    pub description: String,
}

/// The compute backend in use and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendKind {
    WebGpu,
    Cpu,
}

/// What the backend detection found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    pub kind: BackendKind,
    /// The adapter, when WebGPU gave one (even if the CPU backend was chosen).
    pub adapter: Option<AdapterInfo>,
    /// One sentence for the user: why this backend.
    pub reason: String,
}

/// Messages from the worker to the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker's wasm is running and takes messages.
    Ready,
    Backend(BackendInfo),
    /// Progress of one of the dataset's files.
    Download(FileProgress),
    /// The download is done; parsing started.
    Parsing,
    /// Pictures decoded so far (the user's own pictures), of `total`; `skipped` could not be used.
    Decoding {
        done: usize,
        total: usize,
        skipped: usize,
    },
    DatasetReady(Box<DatasetSummary>),
    /// Loading failed; the message names the file and what to do.
    DatasetFailed {
        message: String,
    },
    Samples(SampleGrid),
    /// A run started.
    TrainStarted {
        model: String,
        backend: String,
        epochs: usize,
        batches_per_epoch: usize,
        parameters: usize,
    },
    TrainBatch(BatchPoint),
    TrainEpoch(EpochPoint),
    /// Training ended; the test set is being evaluated.
    Evaluating,
    /// A model is ready (trained now, or loaded from storage or a file).
    ModelReady(Box<ModelReport>),
    /// The GPU went away mid-run; the best epoch was kept and the worker moved to the CPU backend.
    DeviceLost {
        message: String,
    },
    /// The run failed; `device_lost` when the GPU went away (the CPU backend is offered).
    TrainFailed {
        message: String,
        device_lost: bool,
    },
    /// A warning that changes nothing else (storage full: the model stays in memory).
    Notice {
        message: String,
    },
    /// The datasets this browser keeps, newest first (after a start, a save or a delete).
    SavedDatasets(Vec<crate::saved::SavedDataset>),
    /// The dataset just loaded from disk is saved in the browser under this id (`?data=saved:<id>` brings
    /// it back).
    DatasetSaved {
        id: String,
    },
    /// Pixels of test images, in the order asked.
    TestImages {
        /// 1 (gray) or 3 (colour).
        #[serde(default = "one_channel")]
        channels: usize,
        rows: usize,
        cols: usize,
        indices: Vec<usize>,
        labels: Vec<u8>,
        images: Vec<Vec<u8>>,
    },
    /// A model file to save; its bytes travel beside the message.
    ModelFile {
        name: String,
    },
    ModelDeleted {
        id: String,
    },
    Explanation(Box<Explanation>),
    Predictions(Box<Predictions>),
    /// The saved models were read back and announced (each as `ModelReady`), or could not be.
    Restored,
    /// The answer to `ToWorker::ReportMaterial`.
    ReportMaterial(Box<ReportMaterial>),
    /// A request could not be served (no dataset yet, for example).
    Error {
        message: String,
    },
    /// The worker panicked; it must be restarted.
    Panicked {
        message: String,
    },
}

/// Serialises a message for the wire.
pub fn encode<T: Serialize>(message: &T) -> String {
    serde_json::to_string(message).expect("protocol messages are plain data and always serialise")
}

/// Reads a message from the wire.
pub fn decode<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("malformed message between page and worker: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_points_saved_with_numbers_still_read_and_missing_validation_is_none() {
        let old = r#"{"epoch":0,"train_loss":1.0,"train_accuracy":0.5,"validation_loss":0.8,"validation_accuracy":0.7,"best":true}"#;
        let point: EpochPoint = serde_json::from_str(old).unwrap();
        assert_eq!(point.validation_accuracy, Some(0.7));
        assert_eq!(point.validation_loss, Some(0.8));
        let none = EpochPoint {
            validation_loss: None,
            validation_accuracy: None,
            ..point
        };
        let back: EpochPoint =
            serde_json::from_str(&serde_json::to_string(&none).unwrap()).unwrap();
        assert_eq!(back, none);
    }

    #[test]
    fn messages_roundtrip() {
        let msg = ToWorker::LoadDataset(LoadDataset {
            origin: DatasetOrigin::Urls {
                urls: ["a".into(), "b".into(), "c".into(), "d".into()],
                colour: false,
            },
            class_names: vec!["x".into()],
            validation_per_mille: 100,
            split_seed: u64::MAX,
        });
        assert_eq!(decode::<ToWorker>(&encode(&msg)).unwrap(), msg);
        let back = FromWorker::Download(FileProgress {
            file: "f".into(),
            received: 3,
            total: None,
        });
        assert_eq!(decode::<FromWorker>(&encode(&back)).unwrap(), back);
        assert!(decode::<ToWorker>("{\"Nope\":1}").is_err());
    }

    #[test]
    fn settings_parse_from_keys_and_roundtrip() {
        let mut s = TrainSettings::default();
        assert!(s.set("model", "forest"));
        assert_eq!(s, TrainSettings::for_model("forest"));
        for (k, v) in [
            ("trees", "20"),
            ("depth", "12"),
            ("bootstrap", "0"),
            ("train_size", "500"),
            ("erase", "0.25"),
            ("shift", "0"),
            ("workers", "1"),
            ("smoothing", "0.1"),
            ("width", "32"),
            ("blocks", "2"),
            ("tta", "on"),
        ] {
            assert!(s.set(k, v));
        }
        assert!(s.tta && s.with_model("resnet").tta);
        assert_eq!(
            (
                s.trees,
                s.max_depth,
                s.bootstrap,
                s.train_size,
                s.erase,
                s.shift,
                s.workers,
                s.label_smoothing
            ),
            (20, 12, false, Some(500), 0.25, 0, 1, 0.1)
        );
        // Bad values keep the old ones; unknown keys say so.
        for (k, v) in [
            ("trees", "0"),
            ("depth", "x"),
            ("hidden", "10,0"),
            ("lr", "-1"),
            ("kernel", "poly"),
            ("smoothing", "1"),
            ("smoothing", "-0.1"),
            ("width", "2"),
            ("blocks", "10"),
        ] {
            assert!(s.set(k, v));
        }
        assert_eq!(
            (
                s.trees,
                s.max_depth,
                s.label_smoothing,
                s.resnet_width,
                s.resnet_blocks
            ),
            (20, 12, 0.1, 32, 2)
        );
        assert_eq!(s.hidden, TrainSettings::default().hidden);
        assert!(!s.set("colour", "red"));
        let mut back = TrainSettings::default();
        for (k, v) in s.changed() {
            assert!(back.set(k, &v));
        }
        back.seed = s.seed;
        assert_eq!(back, s);
        // Augmentation by model: on for the ResNet and the reference CNN only; a URL carries it when it
        // differs from the model's own default.
        let on: Vec<bool> = ["cnn", "resnet", "refcnn", "mlp", "logreg"]
            .map(|m| TrainSettings::for_model(m).augment)
            .into();
        assert_eq!(on, vec![false, true, true, false, false]);
        let mut cnn = TrainSettings::default();
        assert!(cnn.set("augment", "1"));
        assert!(cnn.changed().contains(&("augment", "1".to_string())));
        let resnet = TrainSettings::for_model("resnet");
        assert!(!resnet.changed().iter().any(|(k, _)| *k == "augment"));
        assert!(!resnet.with_model("cnn").augment);
        // Switching model keeps the data choices and takes the model's defaults.
        let mlp = s.with_model("mlp");
        assert_eq!(
            (mlp.train_size, mlp.epochs, mlp.augment),
            (Some(500), 15, false)
        );
        let mut h = TrainSettings::for_model("mlp");
        assert!(h.set("hidden", "128, 64"));
        assert_eq!(h.hidden, vec![128, 64]);
    }

    #[test]
    fn the_cnn_shape_and_dropout_come_from_their_keys() {
        let mut cnn = TrainSettings::for_model("cnn");
        for (k, v) in [
            ("channels", "8, 16,32"),
            ("convs", "1"),
            ("dense", "0"),
            ("dropout", "0.3"),
        ] {
            assert!(cnn.set(k, v));
        }
        assert_eq!(
            (cnn.cnn_channels.clone(), cnn.cnn_convs, cnn.cnn_dense),
            (vec![8, 16, 32], 1, 0)
        );
        assert_eq!(cnn.cnn_dropout, 0.3);
        assert_eq!(cnn.dropout, defaults::MLP_DROPOUT, "the MLP's stays");
        // Out of range keeps the old value: five blocks, a block of 0 channels, three convolutions.
        for (k, v) in [
            ("channels", "8,8,8,8,8"),
            ("channels", "8,0"),
            ("convs", "3"),
            ("dense", "-1"),
            ("dropout", "0.95"),
        ] {
            assert!(cnn.set(k, v));
        }
        assert_eq!(
            (cnn.cnn_channels.clone(), cnn.cnn_convs, cnn.cnn_dense),
            (vec![8, 16, 32], 1, 0)
        );
        assert_eq!(cnn.cnn_dropout, 0.3);
        let mut back = TrainSettings::default();
        for (k, v) in cnn.changed() {
            assert!(back.set(k, &v));
        }
        assert_eq!(back, cnn);
        let mut mlp = TrainSettings::for_model("mlp");
        assert!(mlp.set("dropout", "0.4"));
        assert_eq!((mlp.dropout, mlp.cnn_dropout), (0.4, defaults::CNN_DROPOUT));
    }

    #[test]
    fn recipes_replace_the_training_choices_and_keep_the_data_ones() {
        for (key, _) in RECIPES {
            let r = TrainSettings::recipe(key).unwrap();
            assert_eq!(r.recipe.as_deref(), Some(key));
            assert_eq!((r.model.as_str(), r.train_size), ("cnn", None));
            assert_eq!(
                r.changed(),
                vec![("model", "cnn".into()), ("recipe", key.into())]
            );
        }
        assert!(TrainSettings::recipe("slow").is_none());
        let mut s = TrainSettings::for_model("resnet");
        for (k, v) in [("train_size", "100"), ("test_size", "50"), ("workers", "1")] {
            assert!(s.set(k, v));
        }
        assert!(s.set("recipe", "quick"));
        assert_eq!(s.model, "cnn");
        assert_eq!(s.train_size, None, "recipes are measured on all the images");
        assert_eq!((s.test_size, s.workers), (Some(50), 1));
        assert!(s.set("lr", "0.02"));
        let changed = s.changed();
        assert!(changed.contains(&("lr", "0.02".into())));
        assert!(!changed.iter().any(|(k, _)| *k == "schedule"));
        assert!(s.set("recipe", "none"));
        assert_eq!((s.recipe.clone(), s.learning_rate), (None, 0.02));
        assert!(s.changed().iter().any(|(k, _)| *k == "schedule"));
        assert!(s.set("recipe", "bogus"));
        assert_eq!(s.recipe, None);
    }

    #[test]
    fn older_saved_settings_still_decode() {
        let old = r#"{"model":"cnn","epochs":3,"batch_size":64,"learning_rate":0.001,"weight_decay":0.0,"schedule":"cosine","train_size":null,"test_size":null,"augment":true,"seed":1}"#;
        let s: TrainSettings = serde_json::from_str(old).unwrap();
        assert_eq!(
            (s.epochs, s.trees, s.k, s.label_smoothing),
            (3, 100, 5, 0.0)
        );
    }

    #[test]
    fn backend_preference_parses_url_values() {
        assert_eq!(BackendPreference::parse("CPU"), BackendPreference::Cpu);
        assert_eq!(
            BackendPreference::parse("webgpu"),
            BackendPreference::WebGpu
        );
        assert_eq!(BackendPreference::parse("what"), BackendPreference::Auto);
        for p in [
            BackendPreference::Auto,
            BackendPreference::Cpu,
            BackendPreference::WebGpu,
        ] {
            assert_eq!(BackendPreference::parse(p.as_str()), p);
        }
    }
}
