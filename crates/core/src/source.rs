//! Where a dataset comes from: the bundled Fashion-MNIST (gray or in colour), another IDX dataset or
//! CIFAR at a URL, or files the user picked; and its class names.

use super::cifar::{CIFAR10_CLASSES, CifarKind};
use super::dataset::FileNames;
use super::protocol::DatasetOrigin;

/// Fashion-MNIST's classes in label order (Xiao, Rasul and Vollgraf, 2017).
pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The folder, relative to the page, where setup puts Fashion-MNIST.
pub const BUNDLED_BASE: &str = "data/";

/// The `?data=` value of Fashion-MNIST in colour.
pub const FASHION_COLOUR: &str = "fashion-colour";

/// What the files at a source hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Four IDX files.
    Idx,
    /// The four IDX files of Fashion-MNIST, tinted (see [`crate::colour`]).
    FashionColour,
    /// CIFAR's binary files.
    Cifar(CifarKind),
    /// A dataset this browser saved (`saved:<id>`).
    Saved,
}

/// A dataset to download: a base URL the standard file names are appended to, and class names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    /// Base URL ending in `/`.
    pub base: String,
    pub files: FileNames,
    pub class_names: Vec<String>,
    pub kind: SourceKind,
}

/// A base URL ending in `/`.
fn as_base(base: &str) -> String {
    if base.ends_with('/') || base.is_empty() {
        base.to_string()
    } else {
        format!("{base}/")
    }
}

impl DataSource {
    /// The bundled Fashion-MNIST.
    pub fn fashion() -> Self {
        Self {
            base: BUNDLED_BASE.into(),
            files: FileNames::default(),
            class_names: FASHION_CLASSES.iter().map(|s| s.to_string()).collect(),
            kind: SourceKind::Idx,
        }
    }

    /// From the URL parameters `data` and `classes`. `data`: absent or `fashion`, the bundled set;
    /// `fashion-colour`, the bundled set in colour; `cifar10:<base URL>` or `cifar100:<base URL>`, CIFAR's
    /// binary files there; else the base URL of four IDX files. `classes`: comma-separated names, or a
    /// number of classes to name `0..n` (default: Fashion-MNIST's or CIFAR's names, ten numbered classes
    /// for other IDX sets; CIFAR's names file overrides it).
    pub fn from_params(data: Option<&str>, classes: Option<&str>) -> Self {
        let mut source = Self::fashion();
        match data.map(str::trim).filter(|d| !d.is_empty()) {
            None | Some("fashion") => {}
            Some(FASHION_COLOUR) => source.kind = SourceKind::FashionColour,
            Some(saved) if saved.starts_with(crate::saved::PREFIX) => {
                source.base = saved[crate::saved::PREFIX.len()..].to_string();
                source.kind = SourceKind::Saved;
                // The saved record names its classes.
                source.class_names = Vec::new();
            }
            Some(other) => {
                let cifar = other
                    .split_once(':')
                    .and_then(|(prefix, base)| Some((CifarKind::parse(prefix)?, base)));
                match cifar {
                    Some((kind, base)) => {
                        source.base = as_base(base.trim());
                        source.kind = SourceKind::Cifar(kind);
                        source.class_names = match kind {
                            CifarKind::Ten => {
                                CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect()
                            }
                            CifarKind::Hundred => numbered_classes(100),
                        };
                    }
                    None => {
                        source.base = as_base(other);
                        source.class_names = numbered_classes(10);
                    }
                }
            }
        }
        if let Some(classes) = classes.map(str::trim).filter(|c| !c.is_empty()) {
            source.class_names = parse_class_names(classes);
        }
        source
    }

    /// What the worker is asked to load.
    pub fn origin(&self) -> DatasetOrigin {
        match self.kind {
            SourceKind::Idx => DatasetOrigin::Urls {
                urls: self.urls(),
                colour: false,
            },
            SourceKind::FashionColour => DatasetOrigin::Urls {
                urls: self.urls(),
                colour: true,
            },
            SourceKind::Saved => DatasetOrigin::Saved {
                id: self.base.clone(),
            },
            SourceKind::Cifar(kind) => DatasetOrigin::Cifar {
                urls: kind
                    .files()
                    .iter()
                    .map(|f| format!("{}{f}", self.base))
                    .collect(),
            },
        }
    }

    /// The four URLs in the order train images, train labels, test images, test labels.
    pub fn urls(&self) -> [String; 4] {
        [
            &self.files.train_images,
            &self.files.train_labels,
            &self.files.test_images,
            &self.files.test_labels,
        ]
        .map(|f| format!("{}{}", self.base, f))
    }

    /// True for the bundled Fashion-MNIST.
    pub fn is_bundled(&self) -> bool {
        self.base == BUNDLED_BASE
    }
}

/// `"3"` gives `["0", "1", "2"]`; `"cat,dog"` gives those names. A number above 256 is capped (labels
/// are bytes).
pub fn parse_class_names(spec: &str) -> Vec<String> {
    match spec.parse::<usize>() {
        Ok(n) => numbered_classes(n.clamp(1, 256)),
        Err(_) => spec
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

/// Classes named by their number.
pub fn numbered_classes(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

/// Orders four picked file names as train images, train labels, test images, test labels, by the usual
/// naming (`train`/`t10k`/`test`, `images`/`idx3`, `labels`/`idx1`). Returns indices into `names`.
pub fn assign_idx_files(names: &[String]) -> Result<[usize; 4], String> {
    if names.len() != 4 {
        return Err(format!(
            "pick exactly four files (train images, train labels, test images, test labels); got {}",
            names.len()
        ));
    }
    let role = |name: &str| {
        let n = name.to_ascii_lowercase();
        let test = n.contains("t10k") || n.contains("test");
        let train = n.contains("train");
        let images = n.contains("idx3") || n.contains("images");
        let labels = n.contains("idx1") || n.contains("labels");
        match (
            train && !test,
            test && !train,
            images && !labels,
            labels && !images,
        ) {
            (true, false, true, false) => Some(0),
            (true, false, false, true) => Some(1),
            (false, true, true, false) => Some(2),
            (false, true, false, true) => Some(3),
            _ => None,
        }
    };
    let mut order = [usize::MAX; 4];
    for (i, name) in names.iter().enumerate() {
        let slot = role(name).ok_or_else(|| {
            format!("cannot tell what {name} holds: name files like train-images-idx3-ubyte.gz or t10k-labels-idx1-ubyte")
        })?;
        if order[slot] != usize::MAX {
            return Err(format!(
                "{name} and {} hold the same part; pick one of each",
                names[order[slot]]
            ));
        }
        order[slot] = i;
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_and_cifar_sources() {
        let s = DataSource::from_params(Some("fashion-colour"), None);
        assert_eq!(s.kind, SourceKind::FashionColour);
        assert!(s.is_bundled());
        assert!(matches!(
            s.origin(),
            DatasetOrigin::Urls { colour: true, .. }
        ));
        let s = DataSource::from_params(Some("cifar10:https://example.test/c10"), None);
        assert_eq!(s.kind, SourceKind::Cifar(CifarKind::Ten));
        assert_eq!(s.class_names[0], "airplane");
        match s.origin() {
            DatasetOrigin::Cifar { urls } => {
                assert_eq!(urls.len(), 7);
                assert_eq!(urls[0], "https://example.test/c10/data_batch_1.bin");
                assert_eq!(urls[6], "https://example.test/c10/batches.meta.txt");
            }
            other => panic!("{other:?}"),
        }
        let s = DataSource::from_params(Some("saved:d17"), None);
        assert_eq!(s.origin(), DatasetOrigin::Saved { id: "d17".into() });
        let s = DataSource::from_params(Some("cifar100:data/c100/"), None);
        assert_eq!(s.class_names.len(), 100);
        assert!(
            matches!(s.origin(), DatasetOrigin::Cifar { urls } if urls[1] == "data/c100/test.bin")
        );
    }

    #[test]
    fn defaults_to_bundled_fashion() {
        let s = DataSource::from_params(None, None);
        assert!(s.is_bundled());
        assert!(matches!(
            s.origin(),
            DatasetOrigin::Urls { colour: false, .. }
        ));
        assert_eq!(s.class_names[9], "Ankle boot");
        assert_eq!(s.urls()[0], "data/train-images-idx3-ubyte.gz");
        assert_eq!(DataSource::from_params(Some("fashion"), None), s);
    }

    #[test]
    fn other_dataset_by_url_with_numbered_or_named_classes() {
        let s = DataSource::from_params(Some("mnist"), None);
        assert_eq!(s.urls()[3], "mnist/t10k-labels-idx1-ubyte.gz");
        assert_eq!(s.class_names, numbered_classes(10));
        let s = DataSource::from_params(Some("kmnist/"), Some("o, ki ,su"));
        assert_eq!(s.base, "kmnist/");
        assert_eq!(s.class_names, vec!["o", "ki", "su"]);
        assert_eq!(parse_class_names("4").len(), 4);
        assert_eq!(parse_class_names("1000").len(), 256);
    }

    #[test]
    fn picked_files_are_ordered_by_name() {
        let names: Vec<String> = [
            "t10k-labels-idx1-ubyte",
            "train-images-idx3-ubyte.gz",
            "test-images.gz",
            "train-labels.gz",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(assign_idx_files(&names).unwrap(), [1, 3, 2, 0]);
        assert!(
            assign_idx_files(&names[..3])
                .unwrap_err()
                .contains("exactly four")
        );
        let mut dup = names.clone();
        dup[0] = "test-images-2.gz".into();
        assert!(assign_idx_files(&dup).unwrap_err().contains("same part"));
        let mut odd = names;
        odd[0] = "photo.png".into();
        assert!(assign_idx_files(&odd).unwrap_err().contains("photo.png"));
    }
}
