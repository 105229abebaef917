//! Confusion matrices as SVG, for the report (the page draws the same on a canvas).

use super::document::escape;

/// The colour of a cell whose intensity is `share` in [0, 1]: from dark blue to yellow (cividis-like, read
/// by people with the common colour-vision deficiencies).
pub fn cell_colour(share: f64) -> (u8, u8, u8) {
    let s = share.clamp(0.0, 1.0);
    let (a, b) = ((0u8, 32u8, 77u8), (253u8, 231u8, 55u8));
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * s).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Text that reads on a cell of this colour.
pub fn ink_on(colour: (u8, u8, u8)) -> &'static str {
    let luminance = 0.2126 * colour.0 as f64 + 0.7152 * colour.1 as f64 + 0.0722 * colour.2 as f64;
    if luminance > 128.0 { "#111" } else { "#eee" }
}

const CELL: usize = 34;
const LABELS: usize = 92;

/// A confusion matrix (`counts[true][predicted]`) as an SVG document with counts in the cells, coloured
/// by the square root of the count (so that small off-diagonal counts still show). Returns (svg, width,
/// height).
pub fn confusion(counts: &[Vec<u32>], class_names: &[String]) -> (String, u32, u32) {
    let n = counts.len();
    let side = LABELS + CELL * n + 8;
    let max = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{side}\" height=\"{side}\" viewBox=\"0 0 {side} {side}\" \
         font-family=\"sans-serif\" font-size=\"10\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>"
    );
    for (t, row) in counts.iter().enumerate() {
        for (p, &count) in row.iter().enumerate().take(n) {
            let colour = cell_colour((count as f64 / max).sqrt());
            let (x, y) = (LABELS + p * CELL, LABELS + t * CELL);
            svg.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"rgb({},{},{})\"/>\
                 <text x=\"{}\" y=\"{}\" fill=\"{}\" text-anchor=\"middle\" dominant-baseline=\"central\">{count}</text>",
                x + 1,
                y + 1,
                CELL - 2,
                CELL - 2,
                colour.0,
                colour.1,
                colour.2,
                x + CELL / 2,
                y + CELL / 2,
                ink_on(colour)
            ));
        }
    }
    let name = |i: usize| {
        escape(
            class_names
                .get(i)
                .map(String::as_str)
                .unwrap_or(&i.to_string()),
        )
    };
    for i in 0..n {
        let middle = LABELS + i * CELL + CELL / 2;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{middle}\" fill=\"#1a1d21\" text-anchor=\"end\" dominant-baseline=\"central\">{}</text>\
             <text transform=\"translate({middle} {}) rotate(-45)\" fill=\"#1a1d21\">{}</text>",
            LABELS - 6,
            name(i),
            LABELS - 6,
            name(i)
        ));
    }
    svg.push_str("<text x=\"4\" y=\"12\" fill=\"#1a1d21\">true ↓  predicted →</text></svg>");
    (svg, side as u32, side as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_run_from_dark_blue_to_yellow_with_readable_ink() {
        assert_eq!(cell_colour(0.0), (0, 32, 77));
        assert_eq!(cell_colour(1.0), (253, 231, 55));
        assert_eq!(cell_colour(2.0), cell_colour(1.0));
        assert_eq!(ink_on(cell_colour(0.0)), "#eee");
        assert_eq!(ink_on(cell_colour(1.0)), "#111");
    }

    #[test]
    fn a_matrix_has_a_cell_and_a_count_per_pair_and_escaped_names() {
        let counts = vec![vec![5, 1], vec![0, 7]];
        let names = vec!["T-shirt/top".to_string(), "A & <B>".to_string()];
        let (svg, w, h) = confusion(&counts, &names);
        assert_eq!((w, h), (92 + 68 + 8, 92 + 68 + 8));
        assert_eq!(svg.matches("<rect").count(), 1 + 4);
        for count in [">5<", ">1<", ">0<", ">7<"] {
            assert!(svg.contains(count), "{count}");
        }
        assert!(svg.contains("A &amp; &lt;B&gt;"));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
    }
}
