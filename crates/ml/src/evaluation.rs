//! Scoring a model on a dataset part: the loss, accuracy and predictions of [`evaluate`] on this thread,
//! and [`evaluate_shared`] on every core for models on the CPU backend: the helpers (the page's helper
//! Web Workers, the benchmark's threads) each hold a copy of the model's file ([`Scorer`]) and score
//! chunks of the images while this thread scores others. Each image's scores are the same whoever
//! computed them (the same code on the same weights), so the evaluation is the same.

use std::collections::VecDeque;

use burn::prelude::*;

use crate::backend::cpu_device;
use crate::classifier::{Classifier, Mirrored};
use crate::error::TrainError;
use crate::host::TrainHost;
use crate::metrics::{ConfusionMatrix, argmax_rows};
use crate::model::Trained;
use atelier_core::dataset::{Batch, Dataset, Part};

/// Predictions of a model on (part of) a dataset part.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub truth: Vec<u8>,
    pub predicted: Vec<u8>,
    /// Probability of the predicted class.
    pub confidence: Vec<f32>,
    /// Wall time of the forward passes, for images per second.
    pub seconds: f64,
}

impl Evaluation {
    /// The confusion matrix of these predictions.
    pub fn confusion(&self, classes: usize) -> ConfusionMatrix {
        ConfusionMatrix::new(classes, &self.truth, &self.predicted)
    }
}

/// An evaluation being summed up, batch by batch in the part's order.
struct Tally {
    eval: Evaluation,
    classes: usize,
    loss_sum: f64,
}

impl Tally {
    fn new(n: usize, classes: usize) -> Self {
        Self {
            eval: Evaluation {
                loss: 0.0,
                accuracy: 0.0,
                truth: Vec::with_capacity(n),
                predicted: Vec::with_capacity(n),
                confidence: Vec::with_capacity(n),
                seconds: 0.0,
            },
            classes,
            loss_sum: 0.0,
        }
    }

    /// The next images' labels and class probabilities (`[labels.len(), classes]` row-major).
    fn add(&mut self, labels: &[u8], probabilities: &[f32]) {
        let classes = self.classes;
        let predicted = argmax_rows(probabilities, classes);
        for (i, (&label, &guess)) in labels.iter().zip(&predicted).enumerate() {
            let row = &probabilities[i * classes..(i + 1) * classes];
            // Cross-entropy of the true class, floored so a confident mistake costs at most ~16.
            self.loss_sum -= (row[label as usize].max(1e-7) as f64).ln();
            self.eval.confidence.push(row[guess as usize]);
        }
        self.eval.truth.extend_from_slice(labels);
        self.eval.predicted.extend(predicted);
    }

    fn finish(mut self, seconds: f64) -> Evaluation {
        let n = self.eval.truth.len().max(1) as f64;
        let correct = self
            .eval
            .truth
            .iter()
            .zip(&self.eval.predicted)
            .filter(|(t, p)| t == p)
            .count();
        self.eval.loss = self.loss_sum / n;
        self.eval.accuracy = correct as f64 / n;
        self.eval.seconds = seconds;
        self.eval
    }
}

/// Images of the first `limit` items of a part (all without a limit).
fn count(dataset: &Dataset, part: Part, limit: Option<usize>) -> usize {
    limit.map_or(dataset.len(part), |l| l.min(dataset.len(part)))
}

/// Runs a model (for networks an inference model, from `valid()`) over the first `limit` items of a
/// part on this thread, in batches of `batch_size`.
pub async fn evaluate(
    model: &impl Classifier,
    dataset: &Dataset,
    part: Part,
    limit: Option<usize>,
    batch_size: usize,
    host: &impl TrainHost,
) -> Result<Evaluation, TrainError> {
    let n = count(dataset, part, limit);
    let mut tally = Tally::new(n, dataset.classes());
    let mut seconds = 0.0;
    let positions: Vec<usize> = (0..n).collect();
    for chunk in positions.chunks(batch_size.max(1)) {
        let start = host.now_ms();
        let batch = dataset.batch(part, chunk);
        let probabilities = model.probabilities(&batch).await?;
        seconds += (host.now_ms() - start) / 1000.0;
        tally.add(&batch.labels, &probabilities);
        host.pause().await;
    }
    Ok(tally.finish(seconds))
}

/// Images in a chunk handed to a helper.
const CHUNK: usize = 128;
/// Chunks a helper holds at once: the next waits in its queue while it scores one, so it never idles
/// waiting for this thread to hand it more.
const IN_FLIGHT: usize = 2;

/// The evaluation of a model that computes on `device` over the first `limit` items of a part: with
/// `mirror`, each image is scored as the mean of its own and its mirror image's probabilities
/// ([`Mirrored`]). On the CPU backend with helpers, the helpers score chunks beside this thread (the
/// figures are the same: each image's scores do not depend on who computed them); otherwise this thread
/// scores it all in batches of 256. A helper that fails leaves its chunks to this thread. `seconds` is
/// the wall time of the whole scoring when helpers took part.
#[allow(clippy::too_many_arguments)]
pub async fn evaluate_shared(
    model: &Trained,
    classes: usize,
    mirror: bool,
    device: &Device,
    dataset: &Dataset,
    part: Part,
    limit: Option<usize>,
    host: &mut impl TrainHost,
) -> Result<Evaluation, TrainError> {
    let n = count(dataset, part, limit);
    let helpers = if *device == cpu_device() && n > CHUNK && host.gradient_helpers().is_some() {
        let file = model.to_file(classes, &Default::default()).await?;
        host.gradient_helpers()
            .map_or(0, |h| h.begin_scoring(&file, mirror))
    } else {
        0
    };
    if helpers == 0 {
        return if mirror {
            evaluate(&Mirrored(model), dataset, part, limit, 256, host).await
        } else {
            evaluate(model, dataset, part, limit, 256, host).await
        };
    }
    let start = host.now_ms();
    let positions: Vec<usize> = (0..n).collect();
    let chunks: Vec<&[usize]> = positions.chunks(CHUNK).collect();
    let mut waiting: VecDeque<usize> = (0..chunks.len()).collect();
    let mut scores: Vec<Option<Vec<f32>>> = vec![None; chunks.len()];
    // The chunks each helper holds; None once it failed.
    let mut holding: Vec<Option<Vec<usize>>> = vec![Some(Vec::new()); helpers];
    let batch_of = |index: usize| dataset.batch(part, chunks[index]);
    while scores.iter().any(Option::is_none) {
        // The helpers take chunks from the front, this thread from the back.
        for (helper, held) in holding.iter_mut().enumerate() {
            while let Some(list) = held.as_mut().filter(|l| l.len() < IN_FLIGHT) {
                let Some(index) = waiting.pop_front() else {
                    break;
                };
                let handed = host
                    .gradient_helpers()
                    .is_some_and(|h| h.score(helper, index, &batch_of(index)));
                if handed {
                    list.push(index);
                } else {
                    waiting.push_front(index);
                    waiting.extend(list.drain(..));
                    *held = None;
                }
            }
        }
        // The helpers' answers arrive while the host's message loop runs: after this thread's chunk,
        // or, with none left for it, as soon as one comes.
        if let Some(index) = waiting.pop_back() {
            scores[index] = Some(probabilities(model, mirror, &batch_of(index)).await?);
            host.pause().await;
        } else {
            host.wait_for_helpers().await;
        }
        let answers = host
            .gradient_helpers()
            .map(|h| h.collect_scores())
            .unwrap_or_default();
        for (helper, index, answer) in answers {
            let Some(Some(held)) = holding.get_mut(helper) else {
                continue; // A helper that failed before: its chunks were taken back.
            };
            let Some(at) = held.iter().position(|&i| i == index) else {
                continue;
            };
            held.remove(at);
            match answer {
                Ok(p) if p.len() == chunks[index].len() * classes => scores[index] = Some(p),
                _ => {
                    waiting.push_back(index);
                    waiting.extend(held.drain(..));
                    holding[helper] = None;
                }
            }
        }
    }
    let mut tally = Tally::new(n, classes);
    for (index, probabilities) in scores.iter().enumerate() {
        let labels: Vec<u8> = chunks[index]
            .iter()
            .map(|&i| dataset.item(part, i).1)
            .collect();
        tally.add(&labels, probabilities.as_deref().unwrap_or_default());
    }
    Ok(tally.finish((host.now_ms() - start) / 1000.0))
}

/// The test images' evaluation of a finished run on `device`, on every core where it can
/// ([`evaluate_shared`]).
pub async fn evaluate_test(
    model: &Trained,
    classes: usize,
    mirror: bool,
    device: &Device,
    dataset: &Dataset,
    limit: Option<usize>,
    host: &mut impl TrainHost,
) -> Result<Evaluation, TrainError> {
    evaluate_shared(
        model,
        classes,
        mirror,
        device,
        dataset,
        Part::Test,
        limit,
        host,
    )
    .await
}

/// A helper's copy of a model, scoring the chunks it is handed.
pub struct Scorer {
    model: Trained,
    mirror: bool,
}

impl Scorer {
    /// The copy of a model from its file ([`Trained::to_file`]), on the CPU backend.
    pub fn new(file: &[u8], mirror: bool) -> Result<Self, String> {
        let loaded = Trained::from_file(file, &cpu_device()).map_err(|e| e.to_string())?;
        Ok(Self {
            model: loaded.model,
            mirror,
        })
    }

    /// Class probabilities of a chunk, `[images, classes]` row-major.
    pub async fn score(&self, batch: &Batch) -> Result<Vec<f32>, TrainError> {
        probabilities(&self.model, self.mirror, batch).await
    }
}

/// A model's class probabilities of a batch, each image's averaged with its mirror image's when
/// `mirror` ([`Mirrored`]): what this thread and the helpers compute for a chunk.
async fn probabilities(
    model: &Trained,
    mirror: bool,
    batch: &Batch,
) -> Result<Vec<f32>, TrainError> {
    if mirror {
        Mirrored(model).probabilities(batch).await
    } else {
        model.probabilities(batch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{HelpedHost, NativeHost, TestHelpers};
    use crate::nn::Architecture;
    use crate::parallel::{GradientHelpers, PartGradients, StepSettings};
    use crate::tensor::block_on;
    use crate::train::{TrainConfig, train};
    use atelier_core::fixtures::synthetic_28;

    /// Scoring helpers in this process, each a [`Scorer`] answering at once; one chunk's answer can be
    /// made an error (a helper that failed).
    struct LocalScorers {
        count: usize,
        scorers: Vec<Scorer>,
        answers: Vec<(usize, usize, Result<Vec<f32>, String>)>,
        fail_chunk: Option<usize>,
        /// Chunks each helper was handed.
        handed: Vec<Vec<usize>>,
    }

    impl LocalScorers {
        fn new(count: usize, fail_chunk: Option<usize>) -> Self {
            Self {
                count,
                scorers: Vec::new(),
                answers: Vec::new(),
                fail_chunk,
                handed: vec![Vec::new(); count],
            }
        }
    }

    impl GradientHelpers for LocalScorers {
        fn begin(&mut self, _weights: &[u8], _settings: StepSettings) -> usize {
            0
        }
        fn compute(&mut self, _helper: usize, _step: usize, _part: &Batch) -> bool {
            false
        }
        fn collect(&mut self) -> Vec<(usize, usize, Result<PartGradients, String>)> {
            Vec::new()
        }
        fn apply(&mut self, _helpers: &[usize], _step: usize, _gradients: &[f32], _lr: f64) {}

        fn begin_scoring(&mut self, file: &[u8], mirror: bool) -> usize {
            self.scorers = (0..self.count)
                .map(|_| Scorer::new(file, mirror).unwrap())
                .collect();
            self.count
        }

        fn score(&mut self, helper: usize, index: usize, chunk: &Batch) -> bool {
            self.handed[helper].push(index);
            let answer = if self.fail_chunk == Some(index) {
                Err("this helper failed".to_string())
            } else {
                block_on(self.scorers[helper].score(chunk)).map_err(|e| e.to_string())
            };
            self.answers.push((helper, index, answer));
            true
        }

        fn collect_scores(&mut self) -> Vec<(usize, usize, Result<Vec<f32>, String>)> {
            std::mem::take(&mut self.answers)
        }
    }

    impl TestHelpers for LocalScorers {
        fn gradients(&mut self) -> Option<&mut dyn GradientHelpers> {
            Some(self)
        }
    }

    /// A reference CNN trained briefly on 4 classes, with 1,000 test images (8 chunks).
    fn trained() -> (Trained, Dataset) {
        let dataset = synthetic_28(4, 60, 250, 3);
        let config = TrainConfig {
            architecture: Architecture::RefCnn,
            epochs: 2,
            batch_size: 16,
            augmentation: None,
            ..TrainConfig::default()
        };
        let outcome = block_on(train(
            &config,
            &dataset,
            &cpu_device(),
            &mut NativeHost::default(),
        ))
        .unwrap();
        let options = config.options.for_dataset(&dataset);
        let model = Trained::Network {
            network: outcome.model,
            options,
        };
        (model, dataset)
    }

    fn assert_same(shared: &Evaluation, alone: &Evaluation) {
        assert_eq!(shared.truth, alone.truth);
        assert_eq!(shared.predicted, alone.predicted);
        assert_eq!(shared.accuracy, alone.accuracy);
        assert!((shared.loss - alone.loss).abs() < 1e-5 * alone.loss.max(1.0));
        for (a, b) in shared.confidence.iter().zip(&alone.confidence) {
            assert!((a - b).abs() < 1e-5, "confidence {a} against {b}");
        }
    }

    /// The test evaluation of `model` on the CPU backend with `host`'s helpers.
    fn score(
        model: &Trained,
        dataset: &Dataset,
        mirror: bool,
        limit: Option<usize>,
        host: &mut impl TrainHost,
    ) -> Evaluation {
        let classes = dataset.classes();
        block_on(evaluate_test(
            model,
            classes,
            mirror,
            &cpu_device(),
            dataset,
            limit,
            host,
        ))
        .unwrap()
    }

    #[test]
    fn helpers_score_chunks_beside_this_thread_with_the_same_figures() {
        let (model, dataset) = trained();
        for mirror in [false, true] {
            let mut alone_host = NativeHost::default();
            let alone = score(&model, &dataset, mirror, None, &mut alone_host);
            assert_eq!(alone.truth.len(), 1000);
            // Above chance (4 classes): the network has learned something to score.
            assert!(alone.accuracy > 0.5, "accuracy {}", alone.accuracy);
            let mut host = HelpedHost {
                inner: NativeHost::default(),
                helpers: LocalScorers::new(2, None),
            };
            let shared = score(&model, &dataset, mirror, None, &mut host);
            assert_same(&shared, &alone);
            // Both helpers took chunks, and not all of them: this thread scored some.
            let handed: Vec<usize> = host.helpers.handed.concat();
            assert!(host.helpers.handed.iter().all(|h| !h.is_empty()));
            assert!(handed.len() < 1000usize.div_ceil(CHUNK), "{handed:?}");
        }
    }

    #[test]
    fn a_failed_helper_leaves_its_chunks_to_this_thread() {
        let (model, dataset) = trained();
        let alone = score(&model, &dataset, false, None, &mut NativeHost::default());
        // Chunk 0 goes to helper 0 first; its answer fails and helper 0 is not used again.
        let mut host = HelpedHost {
            inner: NativeHost::default(),
            helpers: LocalScorers::new(2, Some(0)),
        };
        let shared = score(&model, &dataset, false, None, &mut host);
        assert_same(&shared, &alone);
        assert_eq!(host.helpers.handed[0].len(), IN_FLIGHT);
        // A limit under one chunk, or no helpers offered: this thread alone, as before.
        let mut host = HelpedHost {
            inner: NativeHost::default(),
            helpers: LocalScorers::new(2, None),
        };
        let few = score(&model, &dataset, false, Some(CHUNK), &mut host);
        assert_eq!(few.truth.len(), CHUNK);
        assert!(host.helpers.handed.iter().all(Vec::is_empty));
    }
}
