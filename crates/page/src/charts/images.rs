//! Grids of images (gray or colour) drawn pixel-exact on a canvas (sample grid, mean images, an enlarged
//! image).

use web_sys::HtmlCanvasElement;

use super::palette;

/// Canvas pixels per image pixel so that an image of `side` pixels shows about `target` pixels wide
/// (at least 1: large pictures are drawn 1:1 and the page's CSS scales the canvas down).
pub fn scale_for(side: usize, target: usize) -> usize {
    (target / side.max(1)).clamp(1, 16)
}

/// How images are laid out: `columns` per row, each pixel drawn as `scale` x `scale`, `gap` between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridLayout {
    pub columns: usize,
    pub scale: usize,
    pub gap: usize,
}

impl GridLayout {
    /// Canvas size for `count` images of `rows x cols`.
    pub fn size(&self, count: usize, rows: usize, cols: usize) -> (usize, usize) {
        let grid_rows = count.div_ceil(self.columns.max(1)).max(1);
        let columns = self.columns.min(count).max(1);
        (
            columns * (cols * self.scale + self.gap) - self.gap,
            grid_rows * (rows * self.scale + self.gap) - self.gap,
        )
    }

    /// Index of the image under canvas point (x, y), if any.
    pub fn cell_at(&self, count: usize, rows: usize, cols: usize, x: f64, y: f64) -> Option<usize> {
        if x < 0.0 || y < 0.0 {
            return None;
        }
        let (cell_w, cell_h) = (
            (cols * self.scale + self.gap) as f64,
            (rows * self.scale + self.gap) as f64,
        );
        let (column, row) = ((x / cell_w) as usize, (y / cell_h) as usize);
        let inside = x - column as f64 * cell_w < (cols * self.scale) as f64
            && y - row as f64 * cell_h < (rows * self.scale) as f64;
        let index = row * self.columns + column;
        (inside && column < self.columns && index < count).then_some(index)
    }
}

/// RGBA pixels of the grid: each gray byte `v` becomes (v, v, v, 255), a colour image's planes its red,
/// green and blue; gaps take the background colour.
pub fn grid_rgba(
    images: &[&[u8]],
    rows: usize,
    cols: usize,
    layout: GridLayout,
) -> (usize, usize, Vec<u8>) {
    grid_rgba_on(images, rows, cols, layout, palette::surface().background)
}

/// The grid's RGBA pixels on a background of the given colour.
pub fn grid_rgba_on(
    images: &[&[u8]],
    rows: usize,
    cols: usize,
    layout: GridLayout,
    (r, g, b): (u8, u8, u8),
) -> (usize, usize, Vec<u8>) {
    let (width, height) = layout.size(images.len(), rows, cols);
    let mut rgba: Vec<u8> = [r, g, b, 255].repeat(width * height);
    for (i, image) in images.iter().enumerate() {
        let x0 = (i % layout.columns) * (cols * layout.scale + layout.gap);
        let y0 = (i / layout.columns) * (rows * layout.scale + layout.gap);
        for y in 0..rows * layout.scale {
            for x in 0..cols * layout.scale {
                let [r, g, b] = super::rgb_at(
                    image,
                    rows * cols,
                    (y / layout.scale) * cols + x / layout.scale,
                );
                let at = ((y0 + y) * width + x0 + x) * 4;
                rgba[at..at + 4].copy_from_slice(&[r, g, b, 255]);
            }
        }
    }
    (width, height, rgba)
}

/// Sizes the canvas to the grid and draws it.
pub fn draw(
    canvas: &HtmlCanvasElement,
    images: &[&[u8]],
    rows: usize,
    cols: usize,
    layout: GridLayout,
) -> Result<(), String> {
    let (width, height, rgba) = grid_rgba(images, rows, cols, layout);
    super::put_rgba(canvas, &rgba, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_size_and_hit_testing() {
        let layout = GridLayout {
            columns: 3,
            scale: 2,
            gap: 1,
        };
        // 2x2 images at scale 2 are 4 px; 3 columns with 1 px gaps: 14 wide; 5 images: 2 rows, 9 high.
        assert_eq!(layout.size(5, 2, 2), (14, 9));
        assert_eq!(layout.cell_at(5, 2, 2, 0.5, 0.5), Some(0));
        assert_eq!(layout.cell_at(5, 2, 2, 4.5, 0.5), None); // the gap
        assert_eq!(layout.cell_at(5, 2, 2, 5.5, 5.5), Some(4));
        assert_eq!(layout.cell_at(5, 2, 2, 10.5, 5.5), None); // no sixth image
    }

    #[test]
    fn colour_images_are_drawn_from_their_planes() {
        // A 1x2 colour image: pixel 0 red, pixel 1 blue.
        let image = [255u8, 0, 0, 0, 0, 255];
        let layout = GridLayout {
            columns: 1,
            scale: 1,
            gap: 0,
        };
        let (w, h, rgba) = grid_rgba(&[&image], 1, 2, layout);
        assert_eq!((w, h), (2, 1));
        assert_eq!(rgba, vec![255, 0, 0, 255, 0, 0, 255, 255]);
    }

    #[test]
    fn pixels_are_scaled_into_place() {
        let a = [10u8, 20, 30, 40];
        let b = [50u8, 60, 70, 80];
        let layout = GridLayout {
            columns: 2,
            scale: 2,
            gap: 1,
        };
        let (w, h, rgba) = grid_rgba(&[&a, &b], 2, 2, layout);
        assert_eq!((w, h), (9, 4));
        let px = |x: usize, y: usize| rgba[(y * w + x) * 4];
        assert_eq!((px(0, 0), px(1, 1), px(2, 0), px(3, 3)), (10, 10, 20, 40));
        assert_eq!(px(4, 0), palette::surface().background.0);
        assert_eq!((px(5, 0), px(8, 3)), (50, 80));
    }
}
