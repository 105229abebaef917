//! The conclusions, worded from the figures: which model is best and whether the test set can tell, the
//! hardest classes, the accuracy/time trade-off and what changed between runs of the same model. Nothing
//! here is canned: a sentence is written only when the figures support it.

use std::collections::BTreeMap;

use super::analysis::{Z95, difference, ranking, standard_error};
use crate::protocol::{ModelReport, model_label};

/// A fraction as a percentage with one decimal.
pub fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A difference of fractions in percentage points.
pub fn points(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

/// Seconds as people read them.
pub fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else {
        format!("{:.1} min", seconds / 60.0)
    }
}

fn class(names: &[String], i: usize) -> String {
    names
        .get(i)
        .cloned()
        .unwrap_or_else(|| format!("class {i}"))
}

/// How many test images, in words.
fn images(n: usize) -> String {
    if n == 1 {
        "1 test image".into()
    } else {
        format!("{n} test images")
    }
}

/// The conclusions, one paragraph each.
pub fn conclusions(models: &[&ModelReport], labels: &[u8], class_names: &[String]) -> Vec<String> {
    let order = ranking(models);
    let Some(&first) = order.first() else {
        return Vec::new();
    };
    let best = models[first];
    let mut out = Vec::new();
    match order.get(1).map(|&i| models[i]) {
        None => out.push(format!(
            "Only one model was trained, so nothing is compared: {} reached {} on {} (95% interval {} to {}).",
            best.name,
            percent(best.test_accuracy),
            images(best.test_images),
            percent((best.test_accuracy - Z95 * standard_error(best.test_accuracy, best.test_images)).max(0.0)),
            percent((best.test_accuracy + Z95 * standard_error(best.test_accuracy, best.test_images)).min(1.0)),
        )),
        Some(second) => {
            let d = difference(best, second, labels);
            let (low, high) = d.interval();
            let how = if d.paired {
                "paired over the same test images"
            } else {
                "from test sets that differ, so less sure"
            };
            out.push(if d.is_clear() {
                format!(
                    "{} is the most accurate model, at {} on {}: {} points ahead of {} ({}). The 95% interval of \
                     that lead, {} to {} points ({how}), leaves out zero, so the test set does tell them apart.",
                    best.name,
                    percent(best.test_accuracy),
                    images(best.test_images),
                    points(d.value),
                    second.name,
                    percent(second.test_accuracy),
                    points(low),
                    points(high),
                )
            } else {
                format!(
                    "{} ({}) and {} ({}) are level within the uncertainty: the difference of {} points has a 95% \
                     interval of {} to {} points ({how}), which holds zero. This test set cannot tell them apart; \
                     more test images or several seeds per model would.",
                    best.name,
                    percent(best.test_accuracy),
                    second.name,
                    percent(second.test_accuracy),
                    points(d.value),
                    points(low),
                    points(high),
                )
            });
        }
    }
    if let Some(sentence) = hardest_classes(models, &order, class_names) {
        out.push(sentence);
    }
    if let Some(sentence) = trade_off(models, &order) {
        out.push(sentence);
    }
    out.extend(runs_of_the_same_model(models, labels));
    out
}

/// The classes the best model recalls least, what it takes them for, and how many models agree.
fn hardest_classes(models: &[&ModelReport], order: &[usize], names: &[String]) -> Option<String> {
    let best = models[*order.first()?];
    let mut recall: Vec<(usize, f64)> = best
        .per_class
        .iter()
        .enumerate()
        .filter(|(_, s)| s.support > 0)
        .map(|(i, s)| (i, s.recall))
        .collect();
    if recall.len() < 2 {
        return None;
    }
    recall.sort_by(|a, b| a.1.total_cmp(&b.1));
    let taken_for = |c: usize| -> Option<(usize, u32)> {
        let row = best.confusion.get(c)?;
        row.iter()
            .enumerate()
            .filter(|&(p, &n)| p != c && n > 0)
            .max_by_key(|&(p, &n)| (n, std::cmp::Reverse(p)))
            .map(|(p, &n)| (p, n))
    };
    let describe = |(c, r): (usize, f64)| match taken_for(c) {
        Some((p, n)) => format!(
            "{} (recall {}, most often taken for {}: {n} times)",
            class(names, c),
            percent(r),
            class(names, p)
        ),
        None => format!("{} (recall {})", class(names, c), percent(r)),
    };
    let easiest = *recall.last().expect("two or more classes");
    // Only classes recalled worse than the easiest are called hard (all equal: nothing to say).
    let hardest: Vec<String> = recall
        .iter()
        .take(2)
        .filter(|x| x.1 < easiest.1)
        .map(|&x| describe(x))
        .collect();
    if hardest.is_empty() {
        return None;
    }
    let mut sentence = format!(
        "The hardest classes for {} are {}; the easiest is {} (recall {}).",
        best.name,
        hardest.join(" and "),
        class(names, easiest.0),
        percent(easiest.1)
    );
    if models.len() > 1 {
        let hardest_class = recall[0].0;
        let agree = models
            .iter()
            .filter(|m| {
                m.per_class
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.support > 0)
                    .min_by(|a, b| a.1.recall.total_cmp(&b.1.recall))
                    .is_some_and(|(i, _)| i == hardest_class)
            })
            .count();
        sentence.push_str(&format!(
            " {} is the hardest class for {agree} of the {} models.",
            class(names, hardest_class),
            models.len()
        ));
    }
    Some(sentence)
}

/// Accuracy against fit time: the fastest model to fit measured against the best.
fn trade_off(models: &[&ModelReport], order: &[usize]) -> Option<String> {
    if models.len() < 2 {
        return None;
    }
    let best = models[order[0]];
    let fastest = *models
        .iter()
        .min_by(|a, b| a.train_seconds.total_cmp(&b.train_seconds))?;
    if fastest.id == best.id {
        return Some(format!(
            "{} is also the quickest to fit ({}): here accuracy cost no time.",
            best.name,
            duration(best.train_seconds)
        ));
    }
    let ratio = best.train_seconds / fastest.train_seconds.max(1e-9);
    let gap = best.test_accuracy - fastest.test_accuracy;
    let mut sentence = format!(
        "{} fitted in {}, {} faster than {} ({}), for {} points less accuracy ({} against {}).",
        fastest.name,
        duration(fastest.train_seconds),
        if ratio >= 1.95 {
            format!("{ratio:.0} times")
        } else {
            format!("{:.0}%", (1.0 - 1.0 / ratio) * 100.0)
        },
        best.name,
        duration(best.train_seconds),
        points(gap),
        percent(fastest.test_accuracy),
        percent(best.test_accuracy),
    );
    let fastest_inference = *models.iter().max_by(|a, b| {
        a.inference_images_per_second
            .total_cmp(&b.inference_images_per_second)
    })?;
    sentence.push_str(&format!(
        " At prediction time {} is the fastest, at {:.0} images per second.",
        fastest_inference.name, fastest_inference.inference_images_per_second
    ));
    Some(sentence)
}

/// Settings that differ between two runs, as `name a → b`, in the order of their names.
fn changes(a: &ModelReport, b: &ModelReport) -> Vec<String> {
    let as_map = |m: &ModelReport| match serde_json::to_value(&m.settings) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let show = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => "none".into(),
        Some(other) => other.to_string(),
    };
    let (before, after) = (as_map(a), as_map(b));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| format!("{k} {} → {}", show(before.get(k)), show(after.get(k))))
        .collect()
}

/// For each kind of model trained more than once: what changed from run to run and what it did.
fn runs_of_the_same_model(models: &[&ModelReport], labels: &[u8]) -> Vec<String> {
    let mut groups: BTreeMap<&str, Vec<&ModelReport>> = BTreeMap::new();
    for m in models {
        groups.entry(m.model.as_str()).or_default().push(m);
    }
    let mut out = Vec::new();
    for (key, mut runs) in groups {
        if runs.len() < 2 {
            continue;
        }
        runs.sort_by(|a, b| a.created_ms.total_cmp(&b.created_ms));
        let steps: Vec<String> = runs
            .windows(2)
            .map(|w| {
                let (a, b) = (w[0], w[1]);
                let d = difference(b, a, labels);
                let changed = changes(a, b);
                let what = if changed.is_empty() {
                    "with the same settings".to_string()
                } else {
                    format!("changing {}", changed.join(", "))
                };
                let verdict = if d.is_clear() {
                    "beyond the uncertainty"
                } else {
                    "within the uncertainty"
                };
                format!(
                    "from {} to {} ({what}) test accuracy went from {} to {} ({}{} points, {verdict})",
                    a.name,
                    b.name,
                    percent(a.test_accuracy),
                    percent(b.test_accuracy),
                    if d.value >= 0.0 { "+" } else { "" },
                    points(d.value),
                )
            })
            .collect();
        out.push(format!(
            "The {} was trained {} times: {}.",
            model_label(key).unwrap_or(key),
            runs.len(),
            steps.join("; ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::analysis::tests::{report, scored};
    use super::*;

    fn names() -> Vec<String> {
        ["T-shirt/top", "Trouser", "Pullover", "Shirt"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn a_clear_winner_is_named_with_its_margin_and_interval() {
        // 2,000 images; the CNN misses 100 (Shirt taken for T-shirt/top), logistic regression 300.
        let (labels, a) = scored(2000, 4, |i, t| (t == 3 && i < 400).then_some(0));
        let (_, b) = scored(2000, 4, |i, t| (i < 300).then_some((t + 2) % 4));
        let cnn = report("1", "cnn", &labels, &a, 120.0);
        let logreg = report("2", "logreg", &labels, &b, 3.0);
        let text = conclusions(&[&logreg, &cnn], &labels, &names());
        assert!(text[0].starts_with("CNN 1 is the most accurate model, at 95.0% on 2000 test images: 10.0 points ahead of Logistic regression 2 (85.0%)."), "{}", text[0]);
        assert!(text[0].contains("leaves out zero"));
        assert!(text[0].contains("paired over the same test images"));
        assert!(text[1].starts_with("The hardest classes for CNN 1 are Shirt (recall 80.0%, most often taken for T-shirt/top: 100 times)"), "{}", text[1]);
        assert!(text[2].starts_with("Logistic regression 2 fitted in 3.0 s, 40 times faster than CNN 1 (2.0 min), for 10.0 points less accuracy"), "{}", text[2]);
    }

    #[test]
    fn a_tie_within_the_uncertainty_is_called_a_tie() {
        // 200 images; the models miss 10 and 12 different ones: the lead of 1 point is noise.
        let (labels, a) = scored(200, 4, |i, t| (i < 10).then_some((t + 1) % 4));
        let (_, b) = scored(200, 4, |i, t| {
            (100..112).contains(&i).then_some((t + 1) % 4)
        });
        let one = report("1", "cnn", &labels, &a, 10.0);
        let two = report("2", "cnn", &labels, &b, 10.0);
        let text = conclusions(&[&one, &two], &labels, &names());
        assert!(
            text[0].contains("are level within the uncertainty"),
            "{}",
            text[0]
        );
        assert!(text[0].contains("cannot tell them apart"));
        assert!(
            !text
                .iter()
                .any(|t| t.contains("is the most accurate model"))
        );
        // The same model twice: what changed between the runs is said.
        let runs = text
            .iter()
            .find(|t| t.starts_with("The CNN was trained 2 times"))
            .expect("runs compared");
        assert!(runs.contains("with the same settings"), "{runs}");
        assert!(runs.contains("within the uncertainty"), "{runs}");
    }

    #[test]
    fn one_model_gets_no_comparison() {
        let (labels, a) = scored(400, 4, |i, t| (i < 40).then_some((t + 1) % 4));
        let only = report("1", "knn", &labels, &a, 1.0);
        let text = conclusions(&[&only], &labels, &names());
        assert!(text[0].starts_with("Only one model was trained, so nothing is compared: KNN 1 reached 90.0% on 400 test images"), "{}", text[0]);
        assert!(
            text.iter().all(|t| !t.contains("faster than")
                && !t.contains("ahead of")
                && !t.contains(" of the ")),
            "{text:?}"
        );
    }

    #[test]
    fn changed_settings_between_runs_are_named() {
        let (labels, a) = scored(400, 4, |i, t| (i < 80).then_some((t + 1) % 4));
        let (_, b) = scored(400, 4, |i, t| (i < 8).then_some((t + 1) % 4));
        let first = report("1", "mlp", &labels, &a, 1.0);
        let mut second = report("2", "mlp", &labels, &b, 1.0);
        second.settings.epochs = 30;
        second.settings.seed = 7;
        second.created_ms = 5.0;
        let text = conclusions(&[&second, &first], &labels, &names());
        let runs = text
            .iter()
            .find(|t| t.starts_with("The MLP was trained 2 times"))
            .unwrap();
        assert!(
            runs.contains("from MLP 1 to MLP 2 (changing epochs 15 → 30, seed"),
            "{runs}"
        );
        assert!(
            runs.contains("from 80.0% to 98.0% (+18.0 points, beyond the uncertainty)"),
            "{runs}"
        );
    }
}
