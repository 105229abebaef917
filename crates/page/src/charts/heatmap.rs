//! Grad-CAM pictures: the image, its heatmap in a perceptual colour map, and the two blended.

/// Viridis (van der Walt and Smith, matplotlib, 2015) at five stops: perceptually uniform and readable with
/// the common colour-vision deficiencies.
const VIRIDIS: [(f32, f32, f32); 5] = [
    (68.0, 1.0, 84.0),
    (59.0, 82.0, 139.0),
    (33.0, 145.0, 140.0),
    (94.0, 201.0, 98.0),
    (253.0, 231.0, 37.0),
];

/// The colour of a value in `[0, 1]`.
pub fn colour(value: f32) -> [u8; 3] {
    let v = if value.is_finite() {
        value.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let position = v * (VIRIDIS.len() - 1) as f32;
    let i = (position.floor() as usize).min(VIRIDIS.len() - 2);
    let t = position - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: f32, y: f32| (x + (y - x) * t).round() as u8;
    [mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2)]
}

/// RGBA of a `rows x cols` picture scaled by `scale` (nearest neighbour), each source pixel by `pixel`.
fn scaled(rows: usize, cols: usize, scale: usize, pixel: impl Fn(usize) -> [u8; 3]) -> Vec<u8> {
    let (w, h) = (cols * scale, rows * scale);
    let mut rgba = vec![255u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = pixel((y / scale) * cols + x / scale);
            rgba[(y * w + x) * 4..(y * w + x) * 4 + 3].copy_from_slice(&[r, g, b]);
        }
    }
    rgba
}

/// The image (gray or colour).
pub fn original_rgba(image: &[u8], rows: usize, cols: usize, scale: usize) -> Vec<u8> {
    scaled(rows, cols, scale, |i| super::rgb_at(image, rows * cols, i))
}

/// The heatmap alone.
pub fn heatmap_rgba(heatmap: &[f32], rows: usize, cols: usize, scale: usize) -> Vec<u8> {
    scaled(rows, cols, scale, |i| colour(heatmap[i]))
}

/// The heatmap over the image with `opacity` in `[0, 1]`.
pub fn overlay_rgba(
    image: &[u8],
    heatmap: &[f32],
    rows: usize,
    cols: usize,
    scale: usize,
    opacity: f32,
) -> Vec<u8> {
    let a = opacity.clamp(0.0, 1.0);
    scaled(rows, cols, scale, |i| {
        let heat = colour(heatmap[i]);
        let pixel = super::rgb_at(image, rows * cols, i);
        [0, 1, 2].map(|c| (pixel[c] as f32 * (1.0 - a) + heat[c] as f32 * a).round() as u8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_images_keep_their_colour_under_the_overlay() {
        // One pixel, red 200, green 100, blue 0 (planar).
        let image = [200u8, 100, 0];
        let heat = [0.0f32];
        assert_eq!(&original_rgba(&image, 1, 1, 1)[..3], &[200, 100, 0]);
        assert_eq!(
            &overlay_rgba(&image, &heat, 1, 1, 1, 0.0)[..3],
            &[200, 100, 0]
        );
        // Half way to viridis' dark end (68, 1, 84).
        assert_eq!(
            &overlay_rgba(&image, &heat, 1, 1, 1, 0.5)[..3],
            &[134, 51, 42]
        );
    }

    #[test]
    fn colour_map_ends_and_clamps() {
        assert_eq!(colour(0.0), [68, 1, 84]);
        assert_eq!(colour(1.0), [253, 231, 37]);
        assert_eq!(colour(-3.0), colour(0.0));
        assert_eq!(colour(f32::NAN), colour(0.0));
        assert_eq!(colour(0.5), [33, 145, 140]);
    }

    #[test]
    fn overlay_blends_image_and_heat() {
        let image = [100u8];
        let heat = [1.0f32];
        assert_eq!(
            &overlay_rgba(&image, &heat, 1, 1, 1, 0.0)[..3],
            &[100, 100, 100]
        );
        assert_eq!(
            &overlay_rgba(&image, &heat, 1, 1, 1, 1.0)[..3],
            &[253, 231, 37]
        );
        let half = overlay_rgba(&image, &heat, 1, 1, 2, 0.5);
        assert_eq!(half.len(), 2 * 2 * 4);
        assert_eq!(&half[..3], &[177, 166, 69]);
        assert_ne!(original_rgba(&image, 1, 1, 1), heatmap_rgba(&heat, 1, 1, 1));
    }
}
