//! What both tilings share: a convolution's sizes ([`Plan`]), the transforms' interface ([`Tiling`]),
//! and the row helpers they read the image and their buffers with.

/// The fewest tiles (columns of each product) a group of images gives, where the batch allows: a
/// 24x24 output in 4x4 tiles (36) takes 4 images together, a 7x7 one in 2x2 tiles (16) 8.
pub(crate) const GROUP_COLUMNS: usize = 128;

/// A Winograd tiling F(m x m, 3x3): its tile side and its transforms, each over one image's part of a
/// group whose products have `n` columns, starting at column `first`.
pub(crate) trait Tiling {
    /// Outputs along each side of a tile.
    const M: usize;
    /// Positions of a transformed block: `(M + 2)²`, one product each.
    const POSITIONS: usize;
    /// The weights `[oc, c, 3, 3]` transformed: `[POSITIONS][oc][c]`.
    fn transform_weights(weight: &[f32], oc: usize, c: usize) -> Vec<f32>;
    /// The weight gradient `[oc, c, 3, 3]` from its transformed form (the adjoint).
    fn untransform_weights(du: &[f32], oc: usize, c: usize) -> Vec<f32>;
    /// One image `[c, h, w]` transformed into `v` `[POSITIONS][c][n]`.
    fn transform_input(image: &[f32], p: &Plan, at: (usize, usize), v: &mut [f32]);
    /// The adjoint of [`Tiling::transform_input`], added onto one image's gradient.
    fn untransform_input(dv: &[f32], p: &Plan, at: (usize, usize), image: &mut [f32]);
    /// The products `m` `[POSITIONS][oc][n]` transformed back and added onto one image's output.
    fn transform_output(m: &[f32], p: &Plan, at: (usize, usize), out: &mut [f32]);
    /// The adjoint of [`Tiling::transform_output`]: one image's output gradient into `dm`.
    fn transform_gradient(grad: &[f32], p: &Plan, at: (usize, usize), dm: &mut [f32]);
}

/// A 3x3, stride-1 convolution's sizes over a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub batch: usize,
    pub channels: usize,
    /// Input height and width.
    pub size: [usize; 2],
    pub out_channels: usize,
    /// Top, left, bottom, right.
    pub padding: [usize; 4],
}

impl Plan {
    pub(crate) fn output(&self) -> [usize; 2] {
        let [t, l, b, r] = self.padding;
        [
            (self.size[0] + t + b).saturating_sub(2),
            (self.size[1] + l + r).saturating_sub(2),
        ]
    }

    /// Images transformed together, so that each product has at least [`GROUP_COLUMNS`] columns
    /// (tiles of side `m`) where the batch allows.
    pub(crate) fn group(&self, m: usize) -> usize {
        let [tr, tc] = self.tiles(m);
        GROUP_COLUMNS
            .div_ceil((tr * tc).max(1))
            .clamp(1, self.batch.max(1))
    }

    /// Rows and columns of tiles of side `m` (on a side that is not a multiple of `m`, the last tile
    /// partly used).
    pub(crate) fn tiles(&self, m: usize) -> [usize; 2] {
        let [oh, ow] = self.output();
        [oh.div_ceil(m), ow.div_ceil(m)]
    }

    /// Checks the input's and the weight's sizes; the lengths of one image's parts (tiles of side
    /// `m`).
    pub(crate) fn check(&self, m: usize, input: &[f32], weight: &[f32]) -> Lengths {
        let [tr, tc] = self.tiles(m);
        let [oh, ow] = self.output();
        let image = self.channels * self.size[0] * self.size[1];
        assert_eq!(input.len(), self.batch * image, "input size");
        assert_eq!(
            weight.len(),
            self.out_channels * self.channels * 9,
            "weight size"
        );
        Lengths {
            tiles: tr * tc,
            image,
            output: self.out_channels * oh * ow,
        }
    }
}

/// One image's tiles, input values and output values.
pub(crate) struct Lengths {
    pub tiles: usize,
    pub image: usize,
    pub output: usize,
}

/// A buffer of `N` rows as its rows.
pub(crate) fn rows_of<const N: usize>(buf: &[f32]) -> [&[f32]; N] {
    let width = buf.len() / N;
    std::array::from_fn(|i| &buf[i * width..(i + 1) * width])
}

/// [`rows_of`], mutable.
pub(crate) fn rows_of_mut<const N: usize>(buf: &mut [f32]) -> [&mut [f32]; N] {
    let width = buf.len() / N;
    let mut rows = buf.chunks_exact_mut(width);
    std::array::from_fn(|_| rows.next().expect("N rows"))
}

/// Reads input row `y` (of the padded image's frame: row `y - top` of the plane, zero outside) from
/// padded column 0, `row.len()` values.
pub(crate) fn padded_row(plane: &[f32], p: &Plan, y: usize, row: &mut [f32]) {
    let [h, w] = p.size;
    let [top, left, _, _] = p.padding;
    let iy = y.wrapping_sub(top);
    if iy >= h {
        row.fill(0.0);
        return;
    }
    let src = &plane[iy * w..(iy + 1) * w];
    let first = left.min(row.len());
    let last = (left + w).min(row.len());
    row[..first].fill(0.0);
    row[first..last].copy_from_slice(&src[..last - first]);
    row[last..].fill(0.0);
}

/// The weights `[oc, c, 3, 3]` transformed for a tiling whose blocks have side `A`: `[A²][oc][c]`,
/// position `A i + j` of `G g Gᵀ`, with `g_of` giving `G` times one column of three.
pub(crate) fn transform_weights<const A: usize>(
    weight: &[f32],
    (oc, c): (usize, usize),
    g_of: impl Fn([f32; 3]) -> [f32; A],
) -> Vec<f32> {
    let mut u = vec![0.0f32; A * A * oc * c];
    for (k, g) in weight.chunks_exact(9).enumerate().take(oc * c) {
        // Columns first (over the kernel's rows), then rows.
        let cols: [[f32; A]; 3] = std::array::from_fn(|j| g_of([g[j], g[3 + j], g[6 + j]]));
        for i in 0..A {
            let row = g_of([cols[0][i], cols[1][i], cols[2][i]]);
            for (j, v) in row.into_iter().enumerate() {
                u[(i * A + j) * oc * c + k] = v;
            }
        }
    }
    u
}

/// The weight gradient `[oc, c, 3, 3]` from its transformed form `[A²][oc][c]`: `Gᵀ dU G` for each
/// pair, with `gt_of` giving `Gᵀ` times one column of `A`.
pub(crate) fn untransform_weights<const A: usize>(
    du: &[f32],
    (oc, c): (usize, usize),
    gt_of: impl Fn([f32; A]) -> [f32; 3],
) -> Vec<f32> {
    let mut grad = vec![0.0f32; oc * c * 9];
    for (k, g) in grad.chunks_exact_mut(9).enumerate() {
        let block: [[f32; A]; A] =
            std::array::from_fn(|i| std::array::from_fn(|j| du[(i * A + j) * oc * c + k]));
        // Rows first, then columns.
        let rows: [[f32; 3]; A] = std::array::from_fn(|i| gt_of(block[i]));
        for q in 0..3 {
            let col = gt_of(std::array::from_fn(|i| rows[i][q]));
            for (p, v) in col.into_iter().enumerate() {
                g[p * 3 + q] = v;
            }
        }
    }
    grad
}
