//! Classification metrics from predicted and true labels. Plain Rust: the same numbers for every model.

use serde::{Deserialize, Serialize};

/// `matrix[true][predicted]` counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    pub classes: usize,
    pub counts: Vec<Vec<u32>>,
}

impl ConfusionMatrix {
    /// Counts every (true, predicted) pair. Labels at or above `classes` are ignored.
    pub fn new(classes: usize, truth: &[u8], predicted: &[u8]) -> Self {
        let mut counts = vec![vec![0u32; classes]; classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            if (t as usize) < classes && (p as usize) < classes {
                counts[t as usize][p as usize] += 1;
            }
        }
        Self { classes, counts }
    }

    /// Number of items counted.
    pub fn total(&self) -> u32 {
        self.counts.iter().flatten().sum()
    }

    /// Share of items on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let correct: u32 = (0..self.classes).map(|i| self.counts[i][i]).sum();
        ratio(correct, self.total())
    }

    /// Rows divided by their sums (recall on the diagonal); an empty row stays zero.
    pub fn row_normalised(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let sum: u32 = row.iter().sum();
                row.iter().map(|&c| ratio(c, sum)).collect()
            })
            .collect()
    }

    /// Precision, recall and F1 of each class.
    pub fn per_class(&self) -> Vec<ClassMetrics> {
        (0..self.classes)
            .map(|c| {
                let tp = self.counts[c][c];
                let predicted: u32 = (0..self.classes).map(|t| self.counts[t][c]).sum();
                let actual: u32 = self.counts[c].iter().sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, actual);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support: actual,
                }
            })
            .collect()
    }

    /// Unweighted mean F1 over classes.
    pub fn macro_f1(&self) -> f64 {
        let per_class = self.per_class();
        per_class.iter().map(|m| m.f1).sum::<f64>() / per_class.len().max(1) as f64
    }

    /// Off-diagonal cells sorted by count, largest first: the most confused (true, predicted) pairs.
    pub fn most_confused(&self, limit: usize) -> Vec<(usize, usize, u32)> {
        let mut cells: Vec<(usize, usize, u32)> = (0..self.classes)
            .flat_map(|t| (0..self.classes).map(move |p| (t, p)))
            .filter(|&(t, p)| t != p)
            .map(|(t, p)| (t, p, self.counts[t][p]))
            .filter(|&(_, _, c)| c > 0)
            .collect();
        cells.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        cells.truncate(limit);
        cells
    }
}

/// One class's scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Items of this class.
    pub support: u32,
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Index of the largest value of each row of a row-major `[n, classes]` matrix.
pub fn argmax_rows(values: &[f32], classes: usize) -> Vec<u8> {
    values
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 { (i, v) } else { best }
                })
                .0 as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computed_case() {
        // truth:     0 0 0 1 1 2
        // predicted: 0 0 1 1 2 2
        let m = ConfusionMatrix::new(3, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert!((m.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        let pc = m.per_class();
        // Class 0: precision 2/2, recall 2/3, F1 0.8.
        assert!((pc[0].precision - 1.0).abs() < 1e-12);
        assert!((pc[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((pc[0].f1 - 0.8).abs() < 1e-12);
        // Class 1: precision 1/2, recall 1/2. Class 2: precision 1/2, recall 1.
        assert!((pc[1].f1 - 0.5).abs() < 1e-12);
        assert!((pc[2].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.macro_f1() - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(pc[0].support, 3);
        let rows = m.row_normalised();
        assert!((rows[0][1] - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.most_confused(5), vec![(0, 1, 1), (1, 2, 1)]);
    }

    #[test]
    fn empty_classes_do_not_divide_by_zero() {
        let m = ConfusionMatrix::new(3, &[0, 0], &[0, 0]);
        assert_eq!(
            m.per_class()[1],
            ClassMetrics {
                precision: 0.0,
                recall: 0.0,
                f1: 0.0,
                support: 0
            }
        );
        assert_eq!(ConfusionMatrix::new(2, &[], &[]).accuracy(), 0.0);
    }

    #[test]
    fn argmax_picks_the_first_maximum() {
        assert_eq!(argmax_rows(&[0.1, 0.7, 0.2, 0.5, 0.5, 0.0], 3), vec![1, 0]);
    }
}
