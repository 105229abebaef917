//! Charts drawn on canvases. Each file turns data into what it draws with pure functions (tested natively)
//! and draws with `?`, ending with `present()?`.

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, IntoDrawingArea, SVGBackend};
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

pub mod bars;
pub mod confusion;
pub mod heatmap;
pub mod images;
pub mod lines;

/// The colour of pixel `i` of an image of `plane` pixels per channel: gray images (one plane) give
/// (v, v, v); colour images are planar (the red plane, then green, then blue), as the worker sends them.
/// The number of channels follows from the image's length, so every view draws gray and colour alike.
pub fn rgb_at(image: &[u8], plane: usize, i: usize) -> [u8; 3] {
    if plane > 0 && image.len() >= 3 * plane {
        [image[i], image[plane + i], image[2 * plane + i]]
    } else {
        [image[i]; 3]
    }
}

/// Colours from the Okabe-Ito palette, which stays distinguishable under the common colour-vision
/// deficiencies (Okabe and Ito, "Color Universal Design", 2008).
pub mod palette {
    pub const ORANGE: (u8, u8, u8) = (230, 159, 0);
    pub const SKY_BLUE: (u8, u8, u8) = (86, 180, 233);
    pub const BLUISH_GREEN: (u8, u8, u8) = (0, 158, 115);
    pub const VERMILLION: (u8, u8, u8) = (213, 94, 0);

    /// The colours around the data: a chart's background, its text and its grid lines.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Surface {
        pub background: (u8, u8, u8),
        pub text: (u8, u8, u8),
        pub grid: (u8, u8, u8),
    }

    /// The dark theme's panel (`--panel`, `--text` and `--border` of `www/style.css`).
    pub const DARK: Surface = Surface {
        background: (27, 31, 36),
        text: (230, 232, 235),
        grid: (60, 66, 74),
    };

    /// The light theme's panel (`www/style.css` under `prefers-color-scheme: light`).
    pub const LIGHT: Surface = Surface {
        background: (255, 255, 255),
        text: (26, 29, 33),
        grid: (214, 218, 224),
    };

    /// The surface of the theme the page shows: light when the browser prefers a light colour scheme,
    /// as the style sheet decides; dark otherwise (and natively, where there is no browser).
    pub fn surface() -> Surface {
        #[cfg(target_arch = "wasm32")]
        {
            let light = web_sys::window()
                .and_then(|w| {
                    w.match_media("(prefers-color-scheme: light)")
                        .ok()
                        .flatten()
                })
                .is_some_and(|query| query.matches());
            if light {
                return LIGHT;
            }
        }
        DARK
    }
}

/// Draws with `draw` on an SVG document of `width x height` and returns the document.
pub fn to_svg(
    width: u32,
    height: u32,
    draw: impl FnOnce(DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<String, String> {
    let mut out = String::new();
    draw(SVGBackend::with_string(&mut out, (width, height)).into_drawing_area())?;
    Ok(out)
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
