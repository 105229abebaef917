//! Messages between the worker and its helper workers (`helpers`): the page never sends or sees them,
//! so they live here and not in the page <-> worker protocol. They travel as JSON text like the page's
//! messages, with their bulk data (pixels, weights, gradients) beside them as typed arrays.

use serde::{Deserialize, Serialize};

use atelier_ml::classical::forest::ForestParams;
use atelier_ml::parallel::StepSettings;

/// From the worker to a helper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToHelper {
    /// To a forest helper worker: the data of a new forest (beside the message: `n` labels then the
    /// `n x features` pixels) and its settings.
    ForestJob {
        job: u64,
        n: usize,
        features: usize,
        classes: usize,
        params: ForestParams,
    },
    /// To a forest helper worker: grow tree `index` of forest `job`.
    GrowTree { job: u64, index: usize },
    /// To a helper worker: hold a copy of a network for data-parallel run `run` (beside the message: its
    /// weights, a burnpack) and train it with Adam and these settings.
    ReplicaStart { run: u64, settings: StepSettings },
    /// To a helper worker: the gradients of the copy on part of step `step`'s batch (beside the message:
    /// the images' pixels as floats).
    ReplicaStep {
        run: u64,
        step: usize,
        /// 1 (gray) or 3 (colour).
        #[serde(default = "one_channel")]
        channels: usize,
        rows: usize,
        cols: usize,
        labels: Vec<u8>,
    },
    /// To a helper worker: take step `step` with the averaged gradients beside the message.
    ReplicaApply {
        run: u64,
        step: usize,
        learning_rate: f64,
    },
    /// To a helper worker: hold a copy of a model (beside the message: its file) to score chunks of
    /// images with for evaluation `job`; with `mirror`, each image averaged with its mirror image.
    ScoreStart { job: u64, mirror: bool },
    /// To a helper worker: score chunk `index` of evaluation `job` (beside the message: the images'
    /// pixels as floats).
    ScoreChunk {
        job: u64,
        index: usize,
        channels: usize,
        rows: usize,
        cols: usize,
        images: usize,
    },
}

/// From a helper to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FromHelper {
    /// From a forest helper worker: tree `index` of forest `job` (beside the message: a one-tree forest
    /// file); `problem` says why when the helper could not grow it.
    TreeGrown {
        job: u64,
        index: usize,
        problem: Option<String>,
    },
    /// From a helper worker: the gradients of its part of step `step` (beside the message, as floats),
    /// the part's mean loss and correct count; `problem` says why when there are none.
    ReplicaGradients {
        run: u64,
        step: usize,
        loss: f32,
        correct: f32,
        problem: Option<String>,
    },
    /// From a helper worker: the class probabilities of chunk `index` of evaluation `job` (beside the
    /// message, as floats, `[images, classes]` row-major); `problem` says why when there are none.
    Scored {
        job: u64,
        index: usize,
        problem: Option<String>,
    },
}

/// Channels in messages from before colour datasets: gray.
fn one_channel() -> usize {
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::protocol::{self, FromWorker, ToWorker};

    #[test]
    fn helper_messages_roundtrip_and_are_not_page_messages() {
        let to = ToHelper::GrowTree { job: 3, index: 7 };
        let text = protocol::encode(&to);
        assert_eq!(protocol::decode::<ToHelper>(&text), Ok(to));
        assert!(protocol::decode::<ToWorker>(&text).is_err());
        let from = FromHelper::TreeGrown {
            job: 3,
            index: 7,
            problem: None,
        };
        let text = protocol::encode(&from);
        assert_eq!(protocol::decode::<FromHelper>(&text), Ok(from));
        assert!(protocol::decode::<FromWorker>(&text).is_err());
        // And a page message is not taken for a helper's.
        assert!(protocol::decode::<ToHelper>(&protocol::encode(&ToWorker::Stop)).is_err());
    }
}
