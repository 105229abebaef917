//! The confusion matrix as a heat grid with counts (or row shares) in the cells.

use web_sys::HtmlCanvasElement;

use super::palette;
pub use atelier_core::study::svg::{cell_colour, ink_on};

/// Size of one cell in canvas pixels.
pub const CELL: f64 = 40.0;
/// Room for class names left of and above the grid.
pub const LABEL_AREA: f64 = 96.0;

/// What the cells show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellValues {
    Counts,
    /// Each row divided by its sum: the diagonal is recall.
    RowShares,
}

/// The cell (true, predicted) under canvas point (x, y).
pub fn cell_at(classes: usize, x: f64, y: f64) -> Option<(usize, usize)> {
    let (col, row) = ((x - LABEL_AREA) / CELL, (y - LABEL_AREA) / CELL);
    (col >= 0.0 && row >= 0.0 && (col as usize) < classes && (row as usize) < classes)
        .then_some((row as usize, col as usize))
}

/// Canvas side for `classes` classes.
pub fn canvas_side(classes: usize) -> f64 {
    LABEL_AREA + CELL * classes as f64 + 8.0
}

/// Draws the matrix. `counts[true][predicted]`.
pub fn draw(
    canvas: &HtmlCanvasElement,
    counts: &[Vec<u32>],
    class_names: &[String],
    values: CellValues,
) -> Result<(), String> {
    draw_with(canvas, counts, class_names, values, palette::surface())
}

/// Draws the matrix on a canvas on the given surface.
pub fn draw_with(
    canvas: &HtmlCanvasElement,
    counts: &[Vec<u32>],
    class_names: &[String],
    values: CellValues,
    surface: palette::Surface,
) -> Result<(), String> {
    let n = counts.len();
    let side = canvas_side(n);
    canvas.set_width(side as u32);
    canvas.set_height(side as u32);
    let ctx = super::context_2d(canvas)?;
    let css = |c: (u8, u8, u8)| format!("rgb({},{},{})", c.0, c.1, c.2);
    // The theme is read once per drawing (a media query each time it is asked).
    ctx.set_fill_style_str(&css(surface.background));
    ctx.fill_rect(0.0, 0.0, side, side);
    let max = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    ctx.set_font("11px sans-serif");
    ctx.set_text_align("center");
    ctx.set_text_baseline("middle");
    for (t, row) in counts.iter().enumerate() {
        let sum: u32 = row.iter().sum();
        for (p, &count) in row.iter().enumerate() {
            let share = if sum > 0 {
                count as f64 / sum as f64
            } else {
                0.0
            };
            let intensity = match values {
                CellValues::Counts => (count as f64 / max).sqrt(),
                CellValues::RowShares => share,
            };
            let colour = cell_colour(intensity);
            let (x, y) = (LABEL_AREA + p as f64 * CELL, LABEL_AREA + t as f64 * CELL);
            ctx.set_fill_style_str(&css(colour));
            ctx.fill_rect(x + 1.0, y + 1.0, CELL - 2.0, CELL - 2.0);
            let label = match values {
                CellValues::Counts => count.to_string(),
                CellValues::RowShares => format!("{:.0}%", share * 100.0),
            };
            // Dark text on light cells, light on dark (luminance threshold from WCAG's relative luminance).
            ctx.set_fill_style_str(ink_on(colour));
            let _ = ctx.fill_text(&label, x + CELL / 2.0, y + CELL / 2.0);
        }
    }
    ctx.set_fill_style_str(&css(surface.text));
    ctx.set_text_align("right");
    for (i, name) in class_names.iter().enumerate().take(n) {
        let _ = ctx.fill_text(name, LABEL_AREA - 6.0, LABEL_AREA + (i as f64 + 0.5) * CELL);
        ctx.save();
        let _ = ctx.translate(LABEL_AREA + (i as f64 + 0.5) * CELL, LABEL_AREA - 6.0);
        let _ = ctx.rotate(-std::f64::consts::FRAC_PI_4);
        ctx.set_text_align("left");
        let _ = ctx.fill_text(name, 0.0, 0.0);
        ctx.restore();
    }
    ctx.set_text_align("left");
    let _ = ctx.fill_text("true ↓  predicted →", 4.0, 12.0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_testing_maps_points_to_cells() {
        assert_eq!(
            cell_at(10, LABEL_AREA + 1.0, LABEL_AREA + 1.0),
            Some((0, 0))
        );
        assert_eq!(
            cell_at(10, LABEL_AREA + CELL * 2.5, LABEL_AREA + CELL * 7.5),
            Some((7, 2))
        );
        assert_eq!(cell_at(10, LABEL_AREA - 1.0, LABEL_AREA + 5.0), None);
        assert_eq!(
            cell_at(10, LABEL_AREA + CELL * 10.0 + 1.0, LABEL_AREA),
            None
        );
    }
}
