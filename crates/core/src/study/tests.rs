//! The written report: well-formed, naming every model, each section present, the Markdown export whole.

use super::analysis::tests::{report, scored};
use super::document::{Figure, FigureData};
use super::encode::png_rgb;
use super::*;

/// Checks that every tag opened is closed in order (void elements self-closed), that attribute values are
/// quoted, and that no `<script` or remote address appears. Returns the element names, in order.
fn well_formed(html: &str) -> Result<Vec<String>, String> {
    let body = html.strip_prefix("<!DOCTYPE html>\n").ok_or("no doctype")?;
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').ok_or("an unclosed tag")? + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
            if open != name {
                return Err(format!("<{open}> closed by </{name}>"));
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() {
            return Err(format!("odd tag <{tag}>"));
        }
        if tag.matches('"').count() % 2 != 0 {
            return Err(format!("unbalanced quotes in <{tag}>"));
        }
        seen.push(name.clone());
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    if !stack.is_empty() {
        return Err(format!("left open: {stack:?}"));
    }
    if html.contains("<script") || html.contains("src=\"http") || html.contains("href=\"//") {
        return Err("a script or a remote resource".into());
    }
    Ok(seen)
}

fn figure(name: &str) -> Figure {
    Figure {
        name: name.into(),
        caption: format!("{name} <figure>"),
        width: 2,
        height: 2,
        data: FigureData::Png(png_rgb(&[128; 12], 2, 2)),
    }
}

fn study(models: usize) -> Study {
    let names: Vec<String> = ["T-shirt/top", "Trouser", "Pullover", "Shirt"]
        .map(String::from)
        .to_vec();
    let (labels, _) = scored(400, 4, |_, _| None);
    let kinds = ["cnn", "logreg", "knn", "forest"];
    let parts = (0..models)
        .map(|i| {
            let (_, predicted) = scored(400, 4, |j, t| (j < 10 + 7 * i && t == 3).then_some(0));
            let mut r = report(
                &format!("{i}"),
                kinds[i % 4],
                &labels,
                &predicted,
                1.0 + i as f64,
            );
            r.name = format!("Model <{i}> & co");
            r.created_ms = 1_764_633_600_000.0 + i as f64;
            ModelPart {
                report: r,
                rerun: format!("http://127.0.0.1:8080/?model={}&autorun=1", kinds[i % 4]),
                figures: vec![figure(&format!("model-{i}-confusion"))],
            }
        })
        .collect();
    Study {
        data: DataPart {
            source: "Fashion-MNIST (Zalando Research)".into(),
            licence: "MIT licence, © Zalando SE.".into(),
            channels: 1,
            rows: 28,
            cols: 28,
            class_names: names,
            balance: crate::protocol::ClassBalance {
                train: vec![90; 4],
                validation: vec![10; 4],
                test: vec![100; 4],
            },
            split_seed: 42,
            validation_per_mille: 100,
            figures: vec![figure("balance")],
        },
        environment: Environment {
            date: "2026-12-02 18:00".into(),
            version: "0.1.0".into(),
            browser: "HeadlessChrome".into(),
            cores: 2,
            backend: "CPU".into(),
            adapter: None,
        },
        models: parts,
        comparison: vec![figure("accuracy")],
        test_labels: labels,
        explanations: vec![Panel {
            title: "Test image 3".into(),
            caption: "Shirt taken for T-shirt/top".into(),
            figures: vec![figure("cam-3-original"), figure("cam-3-heatmap")],
        }],
        pinned: vec![],
        pairs: vec![],
        problems: vec!["Logistic regression has no convolutions".into()],
    }
}

#[test]
fn the_html_is_well_formed_self_contained_and_names_every_model() {
    let s = study(3);
    let html = s.to_html();
    let tags = well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tags.iter().filter(|t| *t == "section").count(), 7);
    for id in [
        "data",
        "methods",
        "results",
        "explanations",
        "errors",
        "conclusions",
        "limitations",
    ] {
        assert!(html.contains(&format!("data-section=\"{id}\"")), "{id}");
    }
    for i in 0..3 {
        assert!(
            html.contains(&format!("Model &lt;{i}&gt; &amp; co")),
            "model {i}"
        );
    }
    // Every figure is embedded, none fetched.
    let images = html.matches("<img src=\"data:image/png;base64,").count();
    assert_eq!(images, 1 + 1 + 3 + 2);
    assert!(html.contains("Not shown: Logistic regression has no convolutions."));
    assert!(html.contains("@media print"));
    assert!(html.contains("Fashion-MNIST (Zalando Research). MIT licence"));
    assert!(html.contains("4 classes of 28 x 28 images with 1 channel (grayscale): 360 for training, 40 for validation (10.0%"));
    // The conclusions compare the three.
    assert!(
        html.contains("is the most accurate model")
            || html.contains("are level within the uncertainty")
    );
}

#[test]
fn one_model_has_no_comparison_and_many_models_stay_short() {
    let html = study(1).to_html();
    well_formed(&html).unwrap();
    assert!(html.contains("Only one model was trained"));
    assert!(!html.contains("ahead of"));
    assert!(!html.contains("Comparison on the test images"));
    assert!(html.contains("One model only, so there is no comparison"));
    let many = study(24);
    let html = many.to_html();
    well_formed(&html).unwrap();
    // A summary row per model first; per-class tables give way to one line each.
    assert_eq!(html.matches("Per-class metrics of").count(), 0);
    assert_eq!(html.matches("F1 per class:").count(), 24);
    assert!(
        html.find("Comparison on the test images").unwrap() < html.find("F1 per class:").unwrap()
    );
    assert_eq!(
        study(4).to_html().matches("Per-class metrics of").count(),
        4
    );
}

#[test]
fn the_markdown_zip_holds_the_text_and_every_figure() {
    let s = study(2);
    let entries = document::to_markdown(&s.title(), &s.meta(), &s.blocks());
    assert_eq!(entries[0].0, "report.md");
    let md = String::from_utf8(entries[0].1.clone()).unwrap();
    assert!(
        md.starts_with("# CNN and Logistic regression on Fashion-MNIST\n"),
        "{}",
        &md[..80]
    );
    for heading in [
        "## 1. Data",
        "## 6. Conclusions",
        "## 7. Limitations and reproduction",
    ] {
        assert!(md.contains(heading), "{heading}");
    }
    assert!(md.contains("Model \\<0\\> & co"));
    assert!(md.contains("| Class | Training | Validation | Test |"));
    let figure_files: Vec<&str> = entries[1..].iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(figure_files.len(), 1 + 1 + 2 + 2);
    for f in &figure_files {
        assert!(md.contains(&format!("]({f})")), "{f} is referenced");
    }
    let archive = s.to_markdown_zip();
    assert_eq!(&archive[..4], b"PK\x03\x04");
}

#[test]
fn counts_read_with_thousands_separators() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(54_000), "54,000");
    assert_eq!(thousands(1_199_882), "1,199,882");
}

#[test]
fn dates_read_in_utc() {
    assert_eq!(date(0.0), "not known");
    assert_eq!(date(1_764_633_600_000.0), "2025-12-02 00:00");
    assert_eq!(date(951_782_400_000.0 + 3_723_000.0), "2000-02-29 01:02");
}
