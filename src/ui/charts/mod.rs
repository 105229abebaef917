//! Charts drawn on canvases. Each file turns data into what it draws with pure functions (tested natively)
//! and draws with `?`, ending with `present()?`.

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

pub mod bars;
pub mod confusion;
pub mod heatmap;
pub mod images;
pub mod lines;

/// Colours from the Okabe-Ito palette, which stays distinguishable under the common colour-vision
/// deficiencies (Okabe and Ito, "Color Universal Design", 2008).
pub mod palette {
    pub const ORANGE: (u8, u8, u8) = (230, 159, 0);
    pub const SKY_BLUE: (u8, u8, u8) = (86, 180, 233);
    pub const BLUISH_GREEN: (u8, u8, u8) = (0, 158, 115);
    pub const VERMILLION: (u8, u8, u8) = (213, 94, 0);
    /// Chart background and text, matching `www/style.css`.
    pub const BACKGROUND: (u8, u8, u8) = (27, 31, 36);
    pub const TEXT: (u8, u8, u8) = (230, 232, 235);
    pub const GRID: (u8, u8, u8) = (60, 66, 74);
}

/// The canvas's 2D context.
pub fn context_2d(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, String> {
    canvas
        .get_context("2d")
        .map_err(|e| format!("{e:?}"))?
        .ok_or("the canvas has no 2D context")?
        .dyn_into()
        .map_err(|_| "the canvas context is not 2D".to_string())
}

/// Sizes the canvas to `width x height` and draws RGBA pixels on it, pixel-exact.
pub fn put_rgba(
    canvas: &HtmlCanvasElement,
    rgba: &[u8],
    width: usize,
    height: usize,
) -> Result<(), String> {
    canvas.set_width(width as u32);
    canvas.set_height(height as u32);
    let data =
        ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width as u32, height as u32)
            .map_err(|e| format!("{e:?}"))?;
    context_2d(canvas)?
        .put_image_data(&data, 0.0, 0.0)
        .map_err(|e| format!("{e:?}"))
}
