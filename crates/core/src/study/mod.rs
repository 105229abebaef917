//! The study as a document: everything trained in a visit written up as one self-contained HTML file, or as
//! Markdown with its figures in a zip. The page gathers the figures (it draws the charts); this module
//! words the sections, computes the conclusions and writes the files, so all of it is tested natively.

pub mod analysis;
pub mod conclusions;
pub mod document;
pub mod encode;
pub mod svg;

use analysis::{ConfusedPair, Z95, pair_mistakes, ranking, standard_error};
use conclusions::{duration, percent, points};
use document::{Block, Figure, Line, Span, text};

use crate::protocol::{ClassBalance, ModelReport, RunEnd, model_label};

/// Where the data came from and how it was split.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataPart {
    /// Where the files came from, in words.
    pub source: String,
    /// Whose data it is and under which licence (empty when not known).
    pub licence: String,
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    pub class_names: Vec<String>,
    pub balance: ClassBalance,
    pub split_seed: u64,
    pub validation_per_mille: u32,
    /// The class balance chart and a grid of sample images.
    pub figures: Vec<Figure>,
}

/// Where the study ran.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Environment {
    /// When the report was written (ISO 8601).
    pub date: String,
    pub version: String,
    /// The browser's user agent.
    pub browser: String,
    /// Logical cores the browser reports.
    pub cores: usize,
    /// The backend in use now, and the WebGPU adapter when there is one.
    pub backend: String,
    pub adapter: Option<String>,
}

/// A model with the figures drawn for it and the address that trains it again.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPart {
    pub report: ModelReport,
    /// The page's address with this model's settings and `autorun=1`.
    pub rerun: String,
    /// Loss and accuracy curves (when trained in epochs), then the confusion matrix.
    pub figures: Vec<Figure>,
}

/// Grad-CAM of one image: original, heatmap, overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub caption: String,
    pub figures: Vec<Figure>,
}

/// A confused pair with example images of each direction.
#[derive(Debug, Clone, PartialEq)]
pub struct PairPart {
    pub pair: ConfusedPair,
    pub figures: Vec<Figure>,
}

/// Everything a report says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Study {
    pub data: DataPart,
    pub environment: Environment,
    /// In the order they were trained or loaded.
    pub models: Vec<ModelPart>,
    /// Accuracy and fit-time charts over the models.
    pub comparison: Vec<Figure>,
    /// The test labels, in order (for paired comparisons).
    pub test_labels: Vec<u8>,
    /// The best network's most confident mistakes, explained.
    pub explanations: Vec<Panel>,
    /// Images the user pinned from the Grad-CAM view or ticked in on the Predict tab.
    pub pinned: Vec<Panel>,
    pub pairs: Vec<PairPart>,
    /// What could not be gathered (a model that Grad-CAM could not run on, say).
    pub problems: Vec<String>,
}

/// The two files a report is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML file.
    Html,
    /// `report.md` and its figures as PNG files, in a zip.
    Markdown,
}

/// Models at which the report puts a summary table first and keeps each model's section short.
pub const MANY_MODELS: usize = 12;

fn cell(t: impl Into<String>) -> Line {
    text(t)
}

fn link(t: impl Into<String>, url: impl Into<String>) -> Line {
    vec![Span::Link {
        text: t.into(),
        url: url.into(),
    }]
}

fn class(names: &[String], i: usize) -> String {
    names
        .get(i)
        .cloned()
        .unwrap_or_else(|| format!("class {i}"))
}

impl Study {
    fn reports(&self) -> Vec<&ModelReport> {
        self.models.iter().map(|m| &m.report).collect()
    }

    /// The report's title.
    pub fn title(&self) -> String {
        // The kinds of model, once each, in the order first trained.
        let mut names: Vec<&str> = Vec::new();
        for m in &self.models {
            let label = model_label(&m.report.model).unwrap_or(&m.report.model);
            if !names.contains(&label) {
                names.push(label);
            }
        }
        let data = self.data.source.split(" (").next().unwrap_or("the data");
        match names.len() {
            0 => format!("A study of {data}"),
            1 => format!("{} on {data}", names[0]),
            _ => format!(
                "{} and {} on {data}",
                names[..names.len() - 1].join(", "),
                names[names.len() - 1]
            ),
        }
    }

    /// The line under the title.
    pub fn meta(&self) -> Line {
        let e = &self.environment;
        text(format!(
            "Written by Atelier {} on {}, from {} trained or loaded in the browser. Every figure below was computed in the page.",
            e.version,
            e.date,
            match self.models.len() {
                1 => "1 model".to_string(),
                n => format!("{n} models"),
            }
        ))
    }

    /// The sections, in order.
    pub fn blocks(&self) -> Vec<Block> {
        vec![
            self.data_section(),
            self.methods_section(),
            self.results_section(),
            self.explanations_section(),
            self.errors_section(),
            self.conclusions_section(),
            self.limitations_section(),
        ]
    }

    /// The report as one self-contained HTML file.
    pub fn to_html(&self) -> String {
        document::to_html(&self.title(), &self.meta(), &self.blocks())
    }

    /// The report as a zip of `report.md` and its figures.
    pub fn to_markdown_zip(&self) -> Vec<u8> {
        encode::zip(&document::to_markdown(
            &self.title(),
            &self.meta(),
            &self.blocks(),
        ))
    }

    /// The report's file in `format`, and how many figures it holds (the sections built once for both).
    pub fn write(&self, format: Format) -> (Vec<u8>, usize) {
        let (title, meta, blocks) = (self.title(), self.meta(), self.blocks());
        let bytes = match format {
            Format::Html => document::to_html(&title, &meta, &blocks).into_bytes(),
            Format::Markdown => encode::zip(&document::to_markdown(&title, &meta, &blocks)),
        };
        (bytes, document::figures(&blocks).len())
    }

    fn data_section(&self) -> Block {
        let d = &self.data;
        let names = &d.class_names;
        let total = |v: &[usize]| v.iter().sum::<usize>();
        let b = &d.balance;
        let mut blocks = vec![
            Block::Paragraph(text(format!(
                "Source: {}.{}",
                d.source,
                if d.licence.is_empty() {
                    String::new()
                } else {
                    format!(" {}", d.licence)
                }
            ))),
            Block::Paragraph(text(format!(
                "{} classes of {} x {} images with {} ({}): {} for training, {} for validation ({:.1}% of the training file, \
                 split stratified with seed {}) and {} for testing.",
                names.len(),
                d.rows,
                d.cols,
                if d.channels == 1 {
                    "1 channel".to_string()
                } else {
                    format!("{} channels", d.channels)
                },
                if d.channels == 1 {
                    "grayscale"
                } else {
                    "colour"
                },
                thousands(total(&b.train)),
                thousands(total(&b.validation)),
                d.validation_per_mille as f64 / 10.0,
                d.split_seed,
                thousands(total(&b.test)),
            ))),
        ];
        let rows = (0..names.len())
            .map(|c| {
                let n = |v: &[usize]| thousands(v.get(c).copied().unwrap_or(0));
                vec![
                    cell(class(names, c)),
                    cell(n(&b.train)),
                    cell(n(&b.validation)),
                    cell(n(&b.test)),
                ]
            })
            .collect();
        blocks.push(Block::Table {
            caption: "Images per class and split".into(),
            header: ["Class", "Training", "Validation", "Test"]
                .map(String::from)
                .to_vec(),
            rows,
        });
        if !d.figures.is_empty() {
            blocks.push(Block::Figures(d.figures.clone()));
        }
        Block::Section {
            id: "data".into(),
            title: "1. Data".into(),
            blocks,
        }
    }

    fn methods_section(&self) -> Block {
        let e = &self.environment;
        let mut blocks = vec![Block::Paragraph(text(format!(
            "Every model was trained and evaluated in the browser by Atelier {} ({}, {} logical cores). Backend now: {}{}. \
             Each model's own backend is in the table; its settings are all in the link that trains it again.",
            e.version,
            e.browser,
            e.cores,
            e.backend,
            e.adapter
                .as_ref()
                .map(|a| format!(", adapter {a}"))
                .unwrap_or_default(),
        )))];
        let rows = self
            .models
            .iter()
            .map(|m| {
                let r = &m.report;
                let s = &r.settings;
                let trained = if r.epochs.is_empty() {
                    "fitted once (no epochs)".to_string()
                } else {
                    format!(
                        "{} of {} epochs (kept epoch {}), batch {}, lr {}, {} schedule{}{}",
                        r.epochs.len(),
                        s.epochs,
                        r.best_epoch,
                        s.batch_size,
                        s.learning_rate,
                        s.schedule,
                        if s.augment { ", augmented" } else { "" },
                        s.recipe
                            .as_ref()
                            .map(|r| format!(", from the {r} recipe"))
                            .unwrap_or_default()
                    )
                };
                vec![
                    cell(r.name.clone()),
                    cell(model_label(&r.model).unwrap_or(&r.model).to_string()),
                    cell(thousands(r.parameters)),
                    cell(trained),
                    cell(format!(
                        "{} images{}",
                        s.train_size.map_or("all".to_string(), |n| n.to_string()),
                        if s.tta { ", mirrored test" } else { "" }
                    )),
                    cell(r.backend.clone()),
                    cell(date(r.created_ms)),
                    link("rerun", m.rerun.clone()),
                ]
            })
            .collect();
        blocks.push(Block::Table {
            caption: "The models, in the order they were made".into(),
            header: [
                "Model",
                "Kind",
                "Parameters",
                "Training",
                "Training data",
                "Backend",
                "Made",
                "Settings",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
        Block::Section {
            id: "methods".into(),
            title: "2. Methods".into(),
            blocks,
        }
    }

    fn results_section(&self) -> Block {
        let reports = self.reports();
        let names = &self.data.class_names;
        let mut blocks = Vec::new();
        let order = ranking(&reports);
        let rows = order
            .iter()
            .map(|&i| {
                let r = reports[i];
                let se = standard_error(r.test_accuracy, r.test_images);
                vec![
                    cell(r.name.clone()),
                    cell(format!("{:.4}", r.test_accuracy)),
                    cell(format!("± {}", points(Z95 * se))),
                    cell(format!("{:.4}", r.macro_f1)),
                    cell(duration(r.train_seconds)),
                    cell(format!("{:.0}", r.inference_images_per_second)),
                    cell(format!("{:.2}", r.size_bytes as f64 / 1e6)),
                    cell(thousands(r.test_images)),
                ]
            })
            .collect();
        if reports.len() == 1 {
            blocks.push(Block::Paragraph(text(
                "One model only, so there is no comparison: its figures follow.",
            )));
        } else {
            blocks.push(Block::Table {
            caption: "Comparison on the test images, most accurate first (± is the 95% interval in points)".into(),
            header: ["Model", "Test accuracy", "95% interval", "Macro F1", "Fit time", "Inference img/s", "Size (MB)", "Test images"]
                .map(String::from)
                .to_vec(),
            rows,
        });
        }
        if !self.comparison.is_empty() {
            blocks.push(Block::Figures(self.comparison.clone()));
        }
        let many = self.models.len() >= MANY_MODELS;
        for m in &self.models {
            let r = &m.report;
            let mut part = Vec::new();
            let mut facts = format!(
                "{}: test accuracy {}, macro F1 {:.4}, test loss {:.4}, fitted in {} ({:.0} samples/s).",
                model_label(&r.model).unwrap_or(&r.model),
                percent(r.test_accuracy),
                r.macro_f1,
                r.test_loss,
                duration(r.train_seconds),
                r.samples_per_second
            );
            if r.end == RunEnd::Stopped {
                facts.push_str(
                    " The run was stopped before its last epoch; the best epoch so far was kept.",
                );
            }
            if r.epochs.is_empty() && crate::protocol::GRADIENT_MODELS.contains(&r.model.as_str()) {
                facts.push_str(" Its training curves are not known (none were recorded with it).");
            }
            if r.confusion.is_empty() || r.test_images == 0 {
                facts.push_str(" Its test-set figures are not known (its file holds none).");
            }
            part.push(Block::Paragraph(text(facts)));
            if !m.figures.is_empty() {
                part.push(Block::Figures(m.figures.clone()));
            }
            if !many && !r.per_class.is_empty() {
                part.push(Block::Table {
                    caption: format!("Per-class metrics of {}", r.name),
                    header: ["Class", "Precision", "Recall", "F1", "Support"]
                        .map(String::from)
                        .to_vec(),
                    rows: r
                        .per_class
                        .iter()
                        .enumerate()
                        .map(|(c, s)| {
                            vec![
                                cell(class(names, c)),
                                cell(format!("{:.3}", s.precision)),
                                cell(format!("{:.3}", s.recall)),
                                cell(format!("{:.3}", s.f1)),
                                cell(s.support.to_string()),
                            ]
                        })
                        .collect(),
                });
            } else if many && !r.per_class.is_empty() {
                let f1: Vec<String> = r
                    .per_class
                    .iter()
                    .enumerate()
                    .map(|(c, s)| format!("{} {:.2}", class(names, c), s.f1))
                    .collect();
                part.push(Block::Paragraph(text(format!(
                    "F1 per class: {}.",
                    f1.join(", ")
                ))));
            }
            blocks.push(Block::Sub {
                title: r.name.clone(),
                blocks: part,
            });
        }
        Block::Section {
            id: "results".into(),
            title: "3. Results".into(),
            blocks,
        }
    }

    fn explanations_section(&self) -> Block {
        let reports = self.reports();
        let mut blocks = Vec::new();
        match analysis::best_network(&reports) {
            None => blocks.push(Block::Paragraph(text(
                "No network with convolutions (CNN, ResNet, Reference CNN) was trained, so there is no Grad-CAM \
                 of its mistakes: Grad-CAM needs convolutional layers.",
            ))),
            Some(i) => {
                blocks.push(Block::Paragraph(text(format!(
                    "Grad-CAM (Selvaraju et al., 2017) of the most confident mistakes of {}, the most accurate network: \
                     for each, the test image, the heatmap of the predicted class at the last convolutional layer, and \
                     the two overlaid. Bright areas are what pushed the network toward its answer.",
                    reports[i].name
                ))));
                if self.explanations.is_empty() {
                    blocks.push(Block::Paragraph(text(format!(
                        "{} made no mistake on the test images it was scored on, or its mistakes were not recorded.",
                        reports[i].name
                    ))));
                }
                blocks.push(Block::Grid(self.explanations.iter().map(panel).collect()));
            }
        }
        if !self.pinned.is_empty() {
            blocks.push(Block::Paragraph(text(
                "Images pinned while exploring (pinned from the Grad-CAM view, or ticked in on the Predict tab):",
            )));
            blocks.push(Block::Grid(self.pinned.iter().map(panel).collect()));
        }
        for problem in &self.problems {
            blocks.push(Block::Paragraph(text(format!("Not shown: {problem}."))));
        }
        Block::Section {
            id: "explanations".into(),
            title: "4. Explanations".into(),
            blocks,
        }
    }

    fn errors_section(&self) -> Block {
        let reports = self.reports();
        let names = &self.data.class_names;
        let mut blocks = Vec::new();
        if self.pairs.is_empty() {
            blocks.push(Block::Paragraph(text(
                "No model confused two classes on the test images: there is nothing to analyse.",
            )));
        }
        for p in &self.pairs {
            let pair = &p.pair;
            let (a, b) = (class(names, pair.a), class(names, pair.b));
            let mut part = vec![Block::Paragraph(text(format!(
                "Over all models, {a} was taken for {b} {} times and {b} for {a} {} times: {} of all the models' mistakes.",
                pair.a_as_b,
                pair.b_as_a,
                percent(pair.share)
            )))];
            part.push(Block::Table {
                caption: format!("How each model fares on {a} and {b}"),
                header: vec![
                    "Model".into(),
                    format!("{a} taken for {b}"),
                    format!("{b} taken for {a}"),
                    format!("Share of the {a} and {b} images"),
                ],
                rows: reports
                    .iter()
                    .map(|r| {
                        let (x, y, support) = pair_mistakes(r, pair);
                        vec![
                            cell(r.name.clone()),
                            cell(x.to_string()),
                            cell(y.to_string()),
                            cell(percent((x + y) as f64 / support.max(1) as f64)),
                        ]
                    })
                    .collect(),
            });
            if !p.figures.is_empty() {
                part.push(Block::Figures(p.figures.clone()));
            }
            blocks.push(Block::Sub {
                title: format!("{a} and {b}"),
                blocks: part,
            });
        }
        Block::Section {
            id: "errors".into(),
            title: "5. Error analysis".into(),
            blocks,
        }
    }

    fn conclusions_section(&self) -> Block {
        let items =
            conclusions::conclusions(&self.reports(), &self.test_labels, &self.data.class_names);
        Block::Section {
            id: "conclusions".into(),
            title: "6. Conclusions".into(),
            blocks: vec![Block::List(items.into_iter().map(text).collect())],
        }
    }

    fn limitations_section(&self) -> Block {
        let reports = self.reports();
        let mut items: Vec<Line> = Vec::new();
        items.push(text(format!(
            "Each model is one run with one seed: a second seed moves accuracy by some tenths of a point, so differences \
             of that size say little. {}",
            if reports.len() > 1 {
                "The conclusions give intervals for the test set's share of that uncertainty only."
            } else {
                ""
            }
        )));
        if let Some(&i) = ranking(&reports).first() {
            let r = reports[i];
            items.push(text(format!(
                "{} test images: an accuracy near {} is known to ± {} points (95%).",
                r.test_images,
                percent(r.test_accuracy),
                points(Z95 * standard_error(r.test_accuracy, r.test_images))
            )));
        }
        let subsets: Vec<String> = reports
            .iter()
            .filter_map(|r| r.settings.train_size.map(|n| format!("{} ({n})", r.name)))
            .collect();
        if !subsets.is_empty() {
            items.push(text(format!(
                "Trained on part of the training images: {}.",
                subsets.join(", ")
            )));
        }
        let sizes: Vec<usize> = {
            let mut s: Vec<usize> = reports.iter().map(|r| r.test_images).collect();
            s.sort_unstable();
            s.dedup();
            s
        };
        if sizes.len() > 1 {
            items.push(text(
                "The models were scored on different numbers of test images; their accuracies are not measured on the same images.",
            ));
        }
        let unpaired: Vec<&str> = reports
            .iter()
            .filter(|r| r.predicted.is_empty())
            .map(|r| r.name.as_str())
            .collect();
        if !unpaired.is_empty() {
            items.push(text(format!(
                "Not known for {}: the prediction of each test image (the file predates them), so comparisons with it are unpaired.",
                unpaired.join(", ")
            )));
        }
        items.push(text(
            "The data's split is seeded; training on WebGPU is not bit-for-bit repeatable, on the CPU it is for the same \
             settings and number of Web Workers. Each link below trains the model again with all its settings:",
        ));
        for m in &self.models {
            let mut line = vec![Span::Text(format!("{}: ", m.report.name))];
            line.extend(link(m.rerun.clone(), m.rerun.clone()));
            items.push(line);
        }
        Block::Section {
            id: "limitations".into(),
            title: "7. Limitations and reproduction".into(),
            blocks: vec![Block::List(items)],
        }
    }
}

fn panel(p: &Panel) -> Block {
    Block::Sub {
        title: p.title.clone(),
        blocks: vec![
            Block::Paragraph(text(p.caption.clone())),
            Block::Figures(p.figures.clone()),
        ],
    }
}

/// `54000` -> `54,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A time (milliseconds since the Unix epoch, UTC) as `YYYY-MM-DD HH:MM`.
pub fn date(ms: f64) -> String {
    if !ms.is_finite() || ms <= 0.0 {
        return "not known".into();
    }
    let secs = (ms / 1000.0) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}

#[cfg(test)]
mod tests;
