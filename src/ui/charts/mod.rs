//! Charts drawn on canvases. Each file turns data into what it draws with pure functions (tested natively)
//! and draws with `?`, ending with `present()?`.

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
