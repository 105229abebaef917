//! The shareable state carried by the URL query (`?tab=data&seed=42&backend=cpu...`).

use atelier_core::import::ImportOptions;
use atelier_core::protocol::{BackendPreference, TrainSettings};

/// The tabs of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Data,
    Train,
    Compare,
    Predict,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 4] = [Tab::Data, Tab::Train, Tab::Compare, Tab::Predict];

    /// Parses the URL value; unknown tabs fall back to Data.
    pub fn parse(value: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == value.trim().to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// The URL value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::Train => "train",
            Self::Compare => "compare",
            Self::Predict => "predict",
        }
    }

    /// The tab's title.
    pub fn label(self) -> &'static str {
        match self {
            Self::Data => "Data",
            Self::Train => "Train & evaluate",
            Self::Compare => "Compare",
            Self::Predict => "Predict",
        }
    }
}

/// Every setting the URL carries. Unknown keys are kept so that links from newer versions survive.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub tab: Tab,
    pub backend: BackendPreference,
    /// Dataset: absent or `fashion` for the bundled Fashion-MNIST, else a base URL.
    pub data: Option<String>,
    /// Class names (comma-separated) or a number of classes.
    pub classes: Option<String>,
    /// How the user's pictures are imported: `size` (side in pixels, default 32) and `gray=1`.
    pub import: ImportOptions,
    /// Seed of the validation split (and the default of every other seed).
    pub seed: u64,
    /// Validation share in percent of the training file.
    pub val_percent: f64,
    /// Start the chosen run once the data is ready.
    pub autorun: bool,
    /// Write the report (HTML) once the autorun's run is over, or once the data is ready without one.
    pub report: bool,
    /// The training run's settings (`model`, `epochs`, `batch`, `lr`, `wd`, `schedule`, `train_size`,
    /// `test_size`, `augment`; its seed is `seed`).
    pub train: TrainSettings,
    /// Testing aid: destroy the WebGPU device after this many training batches (`lose_device_after`).
    pub lose_device_after: Option<usize>,
    /// Keys this version does not read, in order, so rewriting the URL keeps them.
    pub other: Vec<(String, String)>,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            tab: Tab::Data,
            backend: BackendPreference::Auto,
            data: None,
            classes: None,
            import: ImportOptions::default(),
            seed: 42,
            val_percent: 10.0,
            autorun: false,
            report: false,
            train: TrainSettings::default(),
            lose_device_after: None,
            other: Vec::new(),
        }
    }
}

/// Decodes `%XX` escapes and `+` as space; malformed escapes are kept as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
            {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

/// Escapes everything but unreserved characters (RFC 3986 section 2.3).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Params {
    /// Reads a query string, with or without the leading `?`. Bad values fall back to defaults.
    pub fn parse(query: &str) -> Self {
        let mut params = Self::default();
        let pairs: Vec<(String, String)> = query
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        // The recipe, then the model first: their defaults are what the other keys change.
        if let Some((_, recipe)) = pairs.iter().find(|(k, _)| k == "recipe") {
            params.train.set("recipe", recipe);
        }
        if let Some((_, model)) = pairs.iter().find(|(k, _)| k == "model") {
            params.train.set("model", model);
        }
        for (key, value) in pairs {
            match key.as_str() {
                "tab" => params.tab = Tab::parse(&value),
                "backend" => params.backend = BackendPreference::parse(&value),
                "data" => params.data = Some(value).filter(|v| !v.is_empty()),
                "classes" => params.classes = Some(value).filter(|v| !v.is_empty()),
                "size" => {
                    params.import.size = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|s| atelier_core::import::SIZE_RANGE.contains(s))
                        .unwrap_or(params.import.size)
                }
                "gray" => params.import.gray = matches!(value.as_str(), "1" | "true" | "yes"),
                "seed" => params.seed = value.trim().parse().unwrap_or(params.seed),
                "val" => {
                    params.val_percent = value
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|v| (0.0..100.0).contains(v))
                        .unwrap_or(params.val_percent)
                }
                "autorun" => params.autorun = matches!(value.as_str(), "1" | "true" | "yes"),
                "report" => params.report = matches!(value.as_str(), "1" | "true" | "yes"),
                "lose_device_after" => params.lose_device_after = value.trim().parse().ok(),
                "model" | "recipe" => {}
                _ if params.train.set(&key, &value) => {}
                _ => params.other.push((key, value)),
            }
        }
        params.train.seed = params.seed;
        params
    }

    /// Writes the query string (with `?`), leaving out values equal to the defaults.
    pub fn to_query(&self) -> String {
        let defaults = Self::default();
        let mut pairs: Vec<(String, String)> = Vec::new();
        pairs.push(("tab".into(), self.tab.as_str().into()));
        if self.backend != defaults.backend {
            pairs.push(("backend".into(), self.backend.as_str().into()));
        }
        if let Some(data) = &self.data {
            pairs.push(("data".into(), data.clone()));
        }
        if let Some(classes) = &self.classes {
            pairs.push(("classes".into(), classes.clone()));
        }
        if self.import.size != defaults.import.size {
            pairs.push(("size".into(), self.import.size.to_string()));
        }
        if self.import.gray {
            pairs.push(("gray".into(), "1".into()));
        }
        if self.seed != defaults.seed {
            pairs.push(("seed".into(), self.seed.to_string()));
        }
        if self.val_percent != defaults.val_percent {
            pairs.push(("val".into(), self.val_percent.to_string()));
        }
        for (key, value) in self.train.changed() {
            if key != "model" || value != TrainSettings::default().model {
                pairs.push((key.into(), value));
            }
        }
        if self.autorun {
            pairs.push(("autorun".into(), "1".into()));
        }
        if self.report {
            pairs.push(("report".into(), "1".into()));
        }
        if let Some(n) = self.lose_device_after {
            pairs.push(("lose_device_after".into(), n.to_string()));
        }
        pairs.extend(self.other.iter().cloned());
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        format!("?{}", body.join("&"))
    }

    /// Validation share in per mille, as the worker takes it.
    pub fn validation_per_mille(&self) -> u32 {
        (self.val_percent * 10.0).round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_keys_and_keeps_unknown_ones() {
        let p = Params::parse(
            "?tab=data&backend=cpu&seed=7&val=20&autorun=1&foo=3&data=https%3A%2F%2Fx%2Fmnist&classes=a%2Cb",
        );
        assert_eq!(p.backend, BackendPreference::Cpu);
        assert_eq!(p.seed, 7);
        assert_eq!(p.validation_per_mille(), 200);
        assert!(p.autorun);
        assert!(!p.report);
        assert!(Params::parse("?report=1").report);
        assert!(Params::parse("?report=1").to_query().contains("report=1"));
        assert_eq!(p.data.as_deref(), Some("https://x/mnist"));
        assert_eq!(p.classes.as_deref(), Some("a,b"));
        assert_eq!(p.other, vec![("foo".to_string(), "3".to_string())]);
    }

    #[test]
    fn bad_values_fall_back_to_defaults() {
        let p = Params::parse("seed=abc&val=150&backend=quantum&%ZZ=1");
        assert_eq!(p.seed, 42);
        assert_eq!(p.val_percent, 10.0);
        assert_eq!(p.backend, BackendPreference::Auto);
        assert_eq!(p.other[0].0, "%ZZ");
    }

    #[test]
    fn training_settings_come_from_the_url() {
        let p = Params::parse(
            "?tab=train&model=resnet&epochs=1&train_size=2000&test_size=500&batch=32&lr=0.01&seed=3&augment=0&autorun=1",
        );
        assert_eq!(p.tab, Tab::Train);
        assert_eq!(p.train.model, "resnet");
        assert_eq!((p.train.epochs, p.train.batch_size), (1, 32));
        assert_eq!(
            (p.train.train_size, p.train.test_size),
            (Some(2000), Some(500))
        );
        assert_eq!(p.train.learning_rate, 0.01);
        assert_eq!(p.train.seed, 3);
        assert!(!p.train.augment);
        assert!(p.autorun);
        assert_eq!(Params::parse(&p.to_query()), p);
        let forest = Params::parse("?trees=30&model=forest&k=3&autorun=1");
        assert_eq!(
            (forest.train.model.as_str(), forest.train.trees),
            ("forest", 30)
        );
        assert_eq!(forest.train.k, 3);
        assert_eq!(Params::parse(&forest.to_query()), forest);
        let bad = Params::parse("model=llm&epochs=0&batch=-1&lr=50&schedule=magic&train_size=0");
        assert_eq!(
            bad.train,
            TrainSettings {
                seed: 42,
                ..TrainSettings::default()
            }
        );
    }

    #[test]
    fn a_recipe_sets_everything_and_later_keys_change_it() {
        let p = Params::parse("?epochs=3&recipe=quick&tab=train&autorun=1&test_size=500");
        let quick = TrainSettings::recipe("quick").unwrap();
        assert_eq!(p.train.recipe.as_deref(), Some("quick"));
        assert_eq!(p.train.cnn_channels, quick.cnn_channels);
        assert_eq!(p.train.schedule, "onecycle");
        assert_eq!(p.train.epochs, 3, "a key after the recipe changes it");
        assert_eq!(p.train.test_size, Some(500));
        let query = p.to_query();
        assert!(query.contains("recipe=quick"), "{query}");
        assert!(query.contains("epochs=3"), "{query}");
        assert!(
            !query.contains("channels"),
            "the recipe's own values stay out: {query}"
        );
        assert_eq!(Params::parse(&query), p);
        // Another model leaves the recipe behind.
        let resnet = Params::parse("?recipe=fast&model=resnet");
        assert_eq!(resnet.train.model, "resnet");
        assert_eq!(resnet.train.recipe, None);
        assert!(!resnet.to_query().contains("recipe"));
        // An unknown recipe changes nothing.
        assert_eq!(
            Params::parse("?recipe=magic").train,
            Params::default().train
        );
    }

    #[test]
    fn query_roundtrips() {
        let p = Params::parse("?backend=webgpu&seed=9&val=12.5&classes=cat%20dog%2Cbird&x=y");
        assert_eq!(Params::parse(&p.to_query()), p);
        assert_eq!(Params::default().to_query(), "?tab=data");
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn import_size_and_gray_come_from_their_keys() {
        let p = Params::parse("?data=fashion-colour&size=64&gray=1");
        assert_eq!((p.import.size, p.import.gray), (64, true));
        assert_eq!(Params::parse(&p.to_query()), p);
        assert!(p.to_query().contains("size=64&gray=1"));
        // Sizes outside 8-256 keep the default.
        assert_eq!(Params::parse("?size=4").import.size, 32);
        assert_eq!(Params::parse("?size=999").import.size, 32);
    }
}
