//! The ml crate's errors, one home for all: a leaf module, so every other module can name them without
//! importing the training loop. Errors keep their sources (`#[from]`) and become strings only at the
//! worker's boundary.

/// Errors of the classical models' settings and files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassicalError {
    #[error("invalid setting: {0}")]
    Params(String),
    #[error("the model file is damaged: {0}")]
    Damaged(String),
}

/// Errors of saving and loading models.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("this file is not an Atelier model ({0}); pick a file downloaded from Atelier")]
    NotAModel(String),
    #[error(
        "this file holds a {found} model, which Atelier does not know; update Atelier or pick another file"
    )]
    UnknownArchitecture { found: String },
    #[error(
        "the file's weights do not fit a {architecture} ({reason}); the file is damaged or for another architecture"
    )]
    Mismatch {
        architecture: String,
        reason: String,
    },
    #[error("reading the weights from the device failed: {0}")]
    Device(String),
}

/// Errors of training and evaluation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("invalid training settings: {0}")]
    Config(String),
    #[error(
        "the compute device failed: {0}; the run was stopped. Switch to the CPU backend to continue"
    )]
    Device(String),
    /// Writing or reading a model's file failed. Only [`StoreError::Device`] means the device is lost.
    #[error("the model's file could not be made: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Classical(#[from] ClassicalError),
}

impl TrainError {
    /// What went wrong with the compute device, when this error means it is lost (and the worker should
    /// move to the CPU backend); None for every other failure, such as bad settings or a file that could
    /// not be written.
    pub fn device_lost(&self) -> Option<&str> {
        match self {
            TrainError::Device(message) | TrainError::Store(StoreError::Device(message)) => {
                Some(message)
            }
            _ => None,
        }
    }
}

/// A backend failure (failed readback, lost device) as a training error.
pub(crate) fn device_error(e: impl std::fmt::Debug) -> TrainError {
    TrainError::Device(format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_device_failures_count_as_a_lost_device() {
        assert_eq!(
            TrainError::Device("gone".into()).device_lost(),
            Some("gone")
        );
        assert_eq!(
            TrainError::from(StoreError::Device("readback".into())).device_lost(),
            Some("readback")
        );
        let not_lost = [
            TrainError::Config("bad".into()),
            TrainError::from(StoreError::NotAModel("x".into())),
            TrainError::from(StoreError::Mismatch {
                architecture: "cnn".into(),
                reason: "shape".into(),
            }),
            TrainError::from(ClassicalError::Damaged("x".into())),
        ];
        for e in not_lost {
            assert_eq!(e.device_lost(), None, "{e}");
        }
        // The source is kept, not flattened into a string.
        let e = TrainError::from(StoreError::NotAModel("x".into()));
        assert!(std::error::Error::source(&e).is_some());
    }
}
