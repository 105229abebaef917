//! The classical models: logistic regression and SVMs (burn modules trained by the networks' loop), a
//! histogram random forest on raw pixels, and k-nearest neighbours with distances as matrix products.
//!
//! Each has a params struct checked before fitting (`check`), then fit / predict_proba, as linfa does.

pub mod fit;
pub mod forest;
pub mod hybrid;
pub mod knn;
pub mod logistic;
pub mod pca;
pub mod svm;

pub use crate::error::ClassicalError;

/// Checks that `value` lies in `range`, naming the setting otherwise.
pub(crate) fn check_range<T: PartialOrd + std::fmt::Display>(
    name: &str,
    value: T,
    low: T,
    high: T,
) -> Result<(), ClassicalError> {
    if value < low || value > high {
        return Err(ClassicalError::Params(format!(
            "{name} must be between {low} and {high}, got {value}"
        )));
    }
    Ok(())
}

/// A little-endian byte reader for the models' files.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ClassicalError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                ClassicalError::Damaged(format!(
                    "it ends at byte {} but {} more were expected",
                    self.bytes.len(),
                    n
                ))
            })?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ClassicalError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    /// A count that must be at most `max` (guards allocations against damaged files).
    pub(crate) fn count(&mut self, what: &str, max: usize) -> Result<usize, ClassicalError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(ClassicalError::Damaged(format!(
                "{what} is {n}, more than {max}"
            )));
        }
        Ok(n)
    }

    pub(crate) fn finish(&self) -> Result<(), ClassicalError> {
        if self.at != self.bytes.len() {
            return Err(ClassicalError::Damaged(format!(
                "{} unexpected bytes at its end",
                self.bytes.len() - self.at
            )));
        }
        Ok(())
    }
}
