//! The figures a report reasons with: which model leads and by how much (with the uncertainty the test set
//! leaves), which classes are confused, and what the report must ask the worker for.

use crate::protocol::{CONVOLUTIONAL_MODELS, ModelReport};

/// z of a two-sided 95% normal interval.
pub const Z95: f64 = 1.959_964;

/// The difference in test accuracy between two models, with its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    /// Accuracy of the first minus that of the second, as a fraction.
    pub value: f64,
    pub standard_error: f64,
    /// True when both were scored on the same test images, image by image (McNemar's pairing); false
    /// when the two test sets differ and the error is that of two independent proportions.
    pub paired: bool,
}

impl Difference {
    /// The 95% interval, as fractions.
    pub fn interval(&self) -> (f64, f64) {
        (
            self.value - Z95 * self.standard_error,
            self.value + Z95 * self.standard_error,
        )
    }

    /// True when the 95% interval leaves out zero.
    pub fn is_clear(&self) -> bool {
        let (low, high) = self.interval();
        low > 0.0 || high < 0.0
    }
}

/// The standard error of an accuracy `p` measured on `n` images.
pub fn standard_error(p: f64, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        (p * (1.0 - p) / n as f64).sqrt()
    }
}

/// How much more accurate `a` is than `b`. Paired over the test images when both predicted the same
/// ones (`labels` holds their truth): the error then comes from the images the two disagree on only.
pub fn difference(a: &ModelReport, b: &ModelReport, labels: &[u8]) -> Difference {
    let n = a.predicted.len();
    if n > 0 && n == b.predicted.len() && labels.len() >= n {
        let (mut only_a, mut only_b) = (0f64, 0f64);
        for ((&pa, &pb), &t) in a.predicted.iter().zip(&b.predicted).zip(labels) {
            match (pa == t, pb == t) {
                (true, false) => only_a += 1.0,
                (false, true) => only_b += 1.0,
                _ => {}
            }
        }
        let nf = n as f64;
        let value = (only_a - only_b) / nf;
        let variance = ((only_a + only_b) - (only_a - only_b).powi(2) / nf).max(0.0) / (nf * nf);
        return Difference {
            value,
            standard_error: variance.sqrt(),
            paired: true,
        };
    }
    let (pa, pb) = (a.test_accuracy, b.test_accuracy);
    Difference {
        value: pa - pb,
        standard_error: (standard_error(pa, a.test_images).powi(2)
            + standard_error(pb, b.test_images).powi(2))
        .sqrt(),
        paired: false,
    }
}

/// Positions of the models from most to least accurate (ties keep their order).
pub fn ranking(models: &[&ModelReport]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..models.len()).collect();
    order.sort_by(|&i, &j| models[j].test_accuracy.total_cmp(&models[i].test_accuracy));
    order
}

/// The most accurate network with convolutions (the one Grad-CAM explains), if any.
pub fn best_network(models: &[&ModelReport]) -> Option<usize> {
    ranking(models)
        .into_iter()
        .find(|&i| CONVOLUTIONAL_MODELS.contains(&models[i].model.as_str()))
}

/// Two classes taken for each other, counted over every model.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusedPair {
    pub a: usize,
    pub b: usize,
    /// Images of `a` predicted as `b`, summed over the models.
    pub a_as_b: u32,
    pub b_as_a: u32,
    /// Share of all the models' mistakes that fall on this pair.
    pub share: f64,
}

impl ConfusedPair {
    pub fn total(&self) -> u32 {
        self.a_as_b + self.b_as_a
    }
}

/// The `limit` most confused pairs of classes, most mistakes first, over every model's confusion matrix.
pub fn confused_pairs(models: &[&ModelReport], limit: usize) -> Vec<ConfusedPair> {
    let classes = models.iter().map(|m| m.confusion.len()).max().unwrap_or(0);
    let mut counts = vec![vec![0u32; classes]; classes];
    let mut mistakes = 0u64;
    for m in models {
        for (t, row) in m.confusion.iter().enumerate() {
            for (p, &c) in row.iter().enumerate() {
                if t != p && p < classes {
                    counts[t][p] += c;
                    mistakes += c as u64;
                }
            }
        }
    }
    let mut pairs: Vec<ConfusedPair> = (0..classes)
        .flat_map(|a| (a + 1..classes).map(move |b| (a, b)))
        .map(|(a, b)| ConfusedPair {
            a,
            b,
            a_as_b: counts[a][b],
            b_as_a: counts[b][a],
            share: (counts[a][b] + counts[b][a]) as f64 / mistakes.max(1) as f64,
        })
        .filter(|p| p.total() > 0)
        .collect();
    pairs.sort_by(|x, y| y.total().cmp(&x.total()).then(x.a.cmp(&y.a)));
    pairs.truncate(limit);
    pairs
}

/// How one model fares on a pair: (images of `a` taken for `b`, of `b` taken for `a`, images of the two
/// classes it saw).
pub fn pair_mistakes(model: &ModelReport, pair: &ConfusedPair) -> (u32, u32, u32) {
    let cell = |t: usize, p: usize| {
        model
            .confusion
            .get(t)
            .and_then(|r| r.get(p))
            .copied()
            .unwrap_or(0)
    };
    let support = |c: usize| model.confusion.get(c).map_or(0, |r| r.iter().sum::<u32>());
    (
        cell(pair.a, pair.b),
        cell(pair.b, pair.a),
        support(pair.a) + support(pair.b),
    )
}

/// Test positions where the truth is `truth` and the model said `predicted`, at most `limit`.
pub fn examples(
    labels: &[u8],
    predicted: &[u8],
    truth: usize,
    said: usize,
    limit: usize,
) -> Vec<usize> {
    labels
        .iter()
        .zip(predicted)
        .enumerate()
        .filter(|(_, (t, p))| **t as usize == truth && **p as usize == said)
        .map(|(i, _)| i)
        .take(limit)
        .collect()
}

/// Mistakes of the best network explained with Grad-CAM.
pub const EXPLAINED_MISTAKES: usize = 6;
/// Confused pairs analysed.
pub const PAIRS: usize = 3;
/// Example images per direction of a pair.
pub const EXAMPLES: usize = 4;

/// What a report asks the worker for before it can be written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// (model id, test index) to explain: the best network's most confident mistakes.
    pub explain: Vec<(String, usize)>,
    /// The pairs analysed, each with example test images of `a` taken for `b` and of `b` taken for `a`.
    pub pairs: Vec<(ConfusedPair, Examples, Examples)>,
}

/// Test images one model got wrong in one direction of a pair.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Examples {
    /// The model that made these mistakes (the one that made most of them).
    pub model: String,
    pub indices: Vec<usize>,
}

impl Plan {
    /// Every test image the plan shows, once each.
    pub fn images(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self
            .pairs
            .iter()
            .flat_map(|(_, x, y)| x.indices.iter().chain(&y.indices))
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// The plan for these models, whose test truth is `labels`.
pub fn plan(models: &[&ModelReport], labels: &[u8]) -> Plan {
    let explain = best_network(models)
        .map(|i| {
            models[i]
                .mistakes
                .iter()
                .take(EXPLAINED_MISTAKES)
                .map(|m| (models[i].id.clone(), m.index))
                .collect()
        })
        .unwrap_or_default();
    // Each direction's examples come from the model that made that mistake most often.
    let direction = |truth: usize, said: usize| {
        let cell = |m: &ModelReport| m.confusion.get(truth).and_then(|r| r.get(said)).copied();
        // In reverse order of accuracy, so that of two models with as many such mistakes the more
        // accurate is the last maximum, the one `max_by_key` keeps.
        ranking(models)
            .into_iter()
            .rev()
            .map(|i| models[i])
            .filter(|m| !m.predicted.is_empty() && cell(m).unwrap_or(0) > 0)
            .max_by_key(|m| cell(m))
            .map(|m| Examples {
                model: m.name.clone(),
                indices: examples(labels, &m.predicted, truth, said, EXAMPLES),
            })
            .unwrap_or_default()
    };
    let pairs = confused_pairs(models, PAIRS)
        .into_iter()
        .map(|pair| {
            let (one, other) = (direction(pair.a, pair.b), direction(pair.b, pair.a));
            (pair, one, other)
        })
        .collect();
    Plan { explain, pairs }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::{ClassScore, Mistake, RunEnd, TrainSettings};

    /// A report of `model` scored on `labels` with the given predictions (confusion, scores and mistakes
    /// computed from them).
    pub fn report(
        id: &str,
        model: &str,
        labels: &[u8],
        predicted: &[u8],
        seconds: f64,
    ) -> ModelReport {
        let classes = labels.iter().chain(predicted).copied().max().unwrap_or(0) as usize + 1;
        let mut confusion = vec![vec![0u32; classes]; classes];
        for (&t, &p) in labels.iter().zip(predicted) {
            confusion[t as usize][p as usize] += 1;
        }
        let correct = labels.iter().zip(predicted).filter(|(t, p)| t == p).count();
        let per_class = (0..classes)
            .map(|c| {
                let tp = confusion[c][c] as f64;
                let support: u32 = confusion[c].iter().sum();
                let said: u32 = confusion.iter().map(|r| r[c]).sum();
                let precision = tp / said.max(1) as f64;
                let recall = tp / support.max(1) as f64;
                ClassScore {
                    precision,
                    recall,
                    f1: if precision + recall > 0.0 {
                        2.0 * precision * recall / (precision + recall)
                    } else {
                        0.0
                    },
                    support,
                }
            })
            .collect::<Vec<_>>();
        let mistakes = labels
            .iter()
            .zip(predicted)
            .enumerate()
            .filter(|(_, (t, p))| t != p)
            .map(|(index, (&truth, &p))| Mistake {
                index,
                truth,
                predicted: p,
                confidence: 0.9,
            })
            .collect();
        ModelReport {
            id: id.into(),
            model: model.into(),
            name: format!(
                "{} {id}",
                crate::protocol::model_label(model).unwrap_or(model)
            ),
            backend: "CPU".into(),
            settings: TrainSettings::for_model(model),
            end: RunEnd::Done,
            epochs: vec![],
            best_epoch: 1,
            parameters: 100,
            train_seconds: seconds,
            samples_per_second: 100.0,
            test_images: labels.len(),
            test_accuracy: correct as f64 / labels.len() as f64,
            test_loss: 0.5,
            macro_f1: per_class.iter().map(|c| c.f1).sum::<f64>() / classes as f64,
            per_class,
            confusion,
            inference_images_per_second: 1000.0,
            mistakes,
            predicted: predicted.to_vec(),
            size_bytes: 1000,
            created_ms: 0.0,
            confused_pairs: vec![],
        }
    }

    /// `n` labels cycling over `classes`, and predictions right except at the positions `wrong` returns
    /// a class for.
    pub fn scored(
        n: usize,
        classes: u8,
        wrong: impl Fn(usize, u8) -> Option<u8>,
    ) -> (Vec<u8>, Vec<u8>) {
        let labels: Vec<u8> = (0..n).map(|i| (i % classes as usize) as u8).collect();
        let predicted = labels
            .iter()
            .enumerate()
            .map(|(i, &t)| wrong(i, t).unwrap_or(t))
            .collect();
        (labels, predicted)
    }

    #[test]
    fn a_paired_difference_counts_only_the_images_the_models_disagree_on() {
        // 1,000 images; A is wrong on 50, B on those 50 and 50 more.
        let (labels, a) = scored(1000, 4, |i, t| (i < 50).then_some((t + 1) % 4));
        let (_, b) = scored(1000, 4, |i, t| (i < 100).then_some((t + 1) % 4));
        let (ra, rb) = (
            report("a", "cnn", &labels, &a, 1.0),
            report("b", "mlp", &labels, &b, 1.0),
        );
        let d = difference(&ra, &rb, &labels);
        assert!(d.paired);
        assert!((d.value - 0.05).abs() < 1e-12);
        // 50 discordant images, all one way: variance (50 - 2500/1000) / 1000^2.
        assert!((d.standard_error - (47.5f64).sqrt() / 1000.0).abs() < 1e-12);
        assert!(d.is_clear());
        // Scored on different test sets: two independent proportions.
        let mut short = rb.clone();
        short.predicted.truncate(500);
        let d = difference(&ra, &short, &labels);
        assert!(!d.paired);
        let expected = (0.95f64 * 0.05 / 1000.0 + 0.9 * 0.1 / 1000.0).sqrt();
        assert!((d.standard_error - expected).abs() < 1e-12);
    }

    #[test]
    fn pairs_are_counted_both_ways_over_every_model() {
        // Class 1 taken for 2 by both models; class 0 for 3 once.
        let (labels, a) = scored(40, 4, |i, t| match (i, t) {
            (1 | 5 | 9, 1) => Some(2),
            (0, 0) => Some(3),
            _ => None,
        });
        let (_, b) = scored(40, 4, |i, t| (i == 6 && t == 2).then_some(1));
        let ra = report("a", "cnn", &labels, &a, 1.0);
        let rb = report("b", "logreg", &labels, &b, 1.0);
        let pairs = confused_pairs(&[&ra, &rb], 5);
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            (pairs[0].a, pairs[0].b, pairs[0].a_as_b, pairs[0].b_as_a),
            (1, 2, 3, 1)
        );
        assert!((pairs[0].share - 0.8).abs() < 1e-12);
        assert_eq!(pair_mistakes(&rb, &pairs[0]), (0, 1, 20));
        let plan = plan(&[&rb, &ra], &labels);
        // The CNN is the only network: its most confident mistakes are explained.
        assert_eq!(plan.explain.len(), 4);
        assert!(plan.explain.iter().all(|(id, _)| id == "a"));
        // Each direction's examples come from the model that made it most: 1 taken for 2 from the CNN,
        // 2 taken for 1 from logistic regression.
        assert_eq!(plan.pairs[0].1.indices, vec![1, 5, 9]);
        assert_eq!(plan.pairs[0].1.model, ra.name);
        assert_eq!(plan.pairs[0].2.indices, vec![6]);
        assert_eq!(plan.pairs[0].2.model, rb.name);
        assert_eq!(plan.pairs[1].1.indices, vec![0]);
        assert!(plan.pairs[1].2.indices.is_empty() && plan.pairs[1].2.model.is_empty());
        assert_eq!(plan.images(), vec![0, 1, 5, 6, 9]);
    }
}
