//! Turning a user's picture into a Fashion-MNIST-like input: grayscale, light background inverted (the
//! dataset's items are light on black), cropped to the object, padded to a square, resized to 28x28 by
//! area averaging, contrast stretched. Each step can be switched off, and each step's result is kept so
//! the page can show the pipeline. For a colour dataset the picture keeps its colour instead (cropped to a
//! centred square and resized, as CIFAR's photographs fill their frame), and the gray steps are a switch.

/// An image, row-major: one plane (gray), or three planes one after another (red, green, blue) for the
/// colour pipeline's stages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// The steps, in order. Grayscale always runs (the models see one channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Steps {
    /// For a colour dataset: turn the picture gray and run the gray steps (off: keep the colour).
    #[serde(default)]
    pub gray: bool,
    pub invert_light_background: bool,
    pub crop: bool,
    pub pad_square: bool,
    pub normalise: bool,
}

impl Default for Steps {
    fn default() -> Self {
        Self {
            gray: false,
            invert_light_background: true,
            crop: true,
            pad_square: true,
            normalise: true,
        }
    }
}

/// One step's result, for the pipeline view.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stage {
    pub name: String,
    /// False when the step was switched off (its image is the previous one).
    pub applied: bool,
    pub image: Gray,
}

/// Errors of preprocessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreprocessError {
    #[error("the image is empty (0 x 0 pixels); pick another image")]
    Empty,
    #[error("the image data is {got} bytes but a {width} x {height} RGBA image needs {want}")]
    BadSize {
        width: usize,
        height: usize,
        got: usize,
        want: usize,
    },
}

/// Rec. 601 luma of RGBA pixels, composited over white (transparent parts count as background).
pub fn grayscale(width: usize, height: usize, rgba: &[u8]) -> Result<Gray, PreprocessError> {
    if width == 0 || height == 0 {
        return Err(PreprocessError::Empty);
    }
    let want = width * height * 4;
    if rgba.len() != want {
        return Err(PreprocessError::BadSize {
            width,
            height,
            got: rgba.len(),
            want,
        });
    }
    let pixels = rgba
        .chunks_exact(4)
        .map(|p| {
            let a = p[3] as f32 / 255.0;
            let luma = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
            (luma * a + 255.0 * (1.0 - a)).round() as u8
        })
        .collect();
    Ok(Gray {
        width,
        height,
        pixels,
    })
}

/// RGBA pixels (opaque, as a canvas reads them back) as the models' planar channels: red, green and blue
/// planes, or one plane of Rec. 601 luma with `gray`.
pub fn planar_from_rgba(rgba: &[u8], gray: bool) -> Vec<u8> {
    if gray {
        return rgba
            .chunks_exact(4)
            .map(|p| {
                (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32).round() as u8
            })
            .collect();
    }
    let plane = rgba.len() / 4;
    let mut out = vec![0u8; 3 * plane];
    for (i, p) in rgba.chunks_exact(4).enumerate() {
        out[i] = p[0];
        out[plane + i] = p[1];
        out[2 * plane + i] = p[2];
    }
    out
}

/// Mean of the border pixels: the background's brightness.
pub fn border_mean(image: &Gray) -> f64 {
    let (w, h) = (image.width, image.height);
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in 0..h {
        for x in 0..w {
            if y == 0 || x == 0 || y == h - 1 || x == w - 1 {
                sum += image.pixels[y * w + x] as u64;
                n += 1;
            }
        }
    }
    sum as f64 / n.max(1) as f64
}

/// Inverts when the background is light.
pub fn invert_if_light(image: &Gray) -> (Gray, bool) {
    if border_mean(image) > 127.0 {
        let pixels = image.pixels.iter().map(|&p| 255 - p).collect();
        (
            Gray {
                pixels,
                ..image.clone()
            },
            true,
        )
    } else {
        (image.clone(), false)
    }
}

/// Crops to the bounding box of the pixels brighter than a quarter of the way from the background to the
/// brightest pixel; the whole image when nothing stands out.
pub fn crop_to_object(image: &Gray) -> Gray {
    let (w, h) = (image.width, image.height);
    let background = border_mean(image);
    let max = *image.pixels.iter().max().unwrap_or(&0) as f64;
    if max - background < 16.0 {
        return image.clone();
    }
    let threshold = background + (max - background) * 0.25;
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if image.pixels[y * w + x] as f64 > threshold {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    if x0 > x1 {
        return image.clone();
    }
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut pixels = Vec::with_capacity(cw * ch);
    for y in y0..=y1 {
        pixels.extend_from_slice(&image.pixels[y * w + x0..=y * w + x1]);
    }
    Gray {
        width: cw,
        height: ch,
        pixels,
    }
}

/// Pads with black to a centred square.
pub fn pad_square(image: &Gray) -> Gray {
    let side = image.width.max(image.height);
    let (dx, dy) = ((side - image.width) / 2, (side - image.height) / 2);
    let mut pixels = vec![0u8; side * side];
    for y in 0..image.height {
        let row = &image.pixels[y * image.width..(y + 1) * image.width];
        pixels[(y + dy) * side + dx..(y + dy) * side + dx + image.width].copy_from_slice(row);
    }
    Gray {
        width: side,
        height: side,
        pixels,
    }
}

/// Resizes by area averaging: each output pixel is the mean of the input area it covers, with
/// fractional overlaps weighted (exact for any scale; no aliasing when shrinking).
pub fn resize_area(image: &Gray, width: usize, height: usize) -> Gray {
    let sx = image.width as f64 / width as f64;
    let sy = image.height as f64 / height as f64;
    let mut pixels = Vec::with_capacity(width * height);
    for oy in 0..height {
        let (y_start, y_end) = (oy as f64 * sy, (oy + 1) as f64 * sy);
        for ox in 0..width {
            let (x_start, x_end) = (ox as f64 * sx, (ox + 1) as f64 * sx);
            let (mut sum, mut area) = (0.0, 0.0);
            let mut y = y_start.floor() as usize;
            while (y as f64) < y_end && y < image.height {
                let wy = (y_end.min(y as f64 + 1.0) - y_start.max(y as f64)).max(0.0);
                let mut x = x_start.floor() as usize;
                while (x as f64) < x_end && x < image.width {
                    let wx = (x_end.min(x as f64 + 1.0) - x_start.max(x as f64)).max(0.0);
                    sum += image.pixels[y * image.width + x] as f64 * wx * wy;
                    area += wx * wy;
                    x += 1;
                }
                y += 1;
            }
            pixels.push((sum / area.max(1e-12)).round().clamp(0.0, 255.0) as u8);
        }
    }
    Gray {
        width,
        height,
        pixels,
    }
}

/// Stretches the values to span 0..=255.
pub fn stretch_contrast(image: &Gray) -> Gray {
    let min = *image.pixels.iter().min().unwrap_or(&0) as f64;
    let max = *image.pixels.iter().max().unwrap_or(&0) as f64;
    if max - min < 1.0 {
        return image.clone();
    }
    let pixels = image
        .pixels
        .iter()
        .map(|&p| ((p as f64 - min) * 255.0 / (max - min)).round() as u8)
        .collect();
    Gray {
        pixels,
        ..image.clone()
    }
}

/// Runs the pipeline on an RGBA image; returns every stage, the last one `size x size`.
pub fn pipeline(
    width: usize,
    height: usize,
    rgba: &[u8],
    steps: Steps,
    size: usize,
) -> Result<Vec<Stage>, PreprocessError> {
    let mut stages = Vec::new();
    let stage = |name: &str, applied: bool, image: &Gray| Stage {
        name: name.into(),
        applied,
        image: image.clone(),
    };
    let gray = grayscale(width, height, rgba)?;
    stages.push(stage("grayscale", true, &gray));
    let current = if steps.invert_light_background {
        let (inverted, did) = invert_if_light(&gray);
        stages.push(stage(
            if did {
                "light background inverted"
            } else {
                "dark background kept"
            },
            true,
            &inverted,
        ));
        inverted
    } else {
        stages.push(stage("invert (off)", false, &gray));
        gray
    };
    let current = if steps.crop {
        let cropped = crop_to_object(&current);
        stages.push(stage("cropped to the object", true, &cropped));
        cropped
    } else {
        stages.push(stage("crop (off)", false, &current));
        current
    };
    let current = if steps.pad_square {
        let padded = pad_square(&current);
        stages.push(stage("padded to a square", true, &padded));
        padded
    } else {
        stages.push(stage("pad (off)", false, &current));
        current
    };
    let resized = resize_area(&current, size, size);
    stages.push(stage(
        &format!("{size}x{size}, area averaged"),
        true,
        &resized,
    ));
    let last = if steps.normalise {
        let stretched = stretch_contrast(&resized);
        stages.push(stage("contrast stretched", true, &stretched));
        stretched
    } else {
        stages.push(stage("normalise (off)", false, &resized));
        resized
    };
    debug_assert_eq!((last.width, last.height), (size, size));
    Ok(stages)
}

/// The colour pipeline for a colour dataset: the picture composited over white, then (with `crop`) its
/// centred square, then resized by area averaging to `rows x cols`. Every stage's image is three planes
/// (red, green, blue); the last is what the models take.
pub fn colour_pipeline(
    width: usize,
    height: usize,
    rgba: &[u8],
    crop: bool,
    rows: usize,
    cols: usize,
) -> Result<Vec<Stage>, PreprocessError> {
    // The size check and the white background, once per channel.
    grayscale(width, height, rgba)?;
    let planes: Vec<Gray> = (0..3)
        .map(|c| Gray {
            width,
            height,
            pixels: rgba
                .chunks_exact(4)
                .map(|p| {
                    let a = p[3] as f32 / 255.0;
                    (p[c] as f32 * a + 255.0 * (1.0 - a)).round() as u8
                })
                .collect(),
        })
        .collect();
    let join = |planes: &[Gray]| Gray {
        width: planes[0].width,
        height: planes[0].height,
        pixels: planes
            .iter()
            .flat_map(|p| p.pixels.iter().copied())
            .collect(),
    };
    let stage = |name: &str, applied: bool, planes: &[Gray]| Stage {
        name: name.into(),
        applied,
        image: join(planes),
    };
    let mut stages = vec![stage("colour kept", true, &planes)];
    let planes = if crop {
        let side = width.min(height);
        let (x0, y0) = ((width - side) / 2, (height - side) / 2);
        let square: Vec<Gray> = planes
            .iter()
            .map(|p| Gray {
                width: side,
                height: side,
                pixels: (y0..y0 + side)
                    .flat_map(|y| {
                        p.pixels[y * width + x0..y * width + x0 + side]
                            .iter()
                            .copied()
                    })
                    .collect(),
            })
            .collect();
        stages.push(stage("centred square", true, &square));
        square
    } else {
        stages.push(stage("square crop (off)", false, &planes));
        planes
    };
    let resized: Vec<Gray> = planes.iter().map(|p| resize_area(p, cols, rows)).collect();
    stages.push(stage(
        &format!("{rows}x{cols}, area averaged"),
        true,
        &resized,
    ));
    Ok(stages)
}

/// The factor that brings the longer side of an image to at most `limit` (1 when it already fits).
pub fn downscale_factor(width: u32, height: u32, limit: u32) -> f64 {
    let longest = width.max(height);
    if longest <= limit {
        1.0
    } else {
        limit as f64 / longest as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dark 40x30 "shirt" on a white 120x100 photo, off centre.
    fn photo() -> (usize, usize, Vec<u8>) {
        let (w, h) = (120, 100);
        let mut rgba = Vec::with_capacity(w * h * 4);
        for y in 0..h {
            for x in 0..w {
                let inside = (10..50).contains(&x) && (20..50).contains(&y);
                let v = if inside { 40 } else { 250 };
                rgba.extend([v, v, v, 255]);
            }
        }
        (w, h, rgba)
    }

    #[test]
    fn rgba_becomes_planar_channels_or_luma() {
        let rgba = [10, 20, 30, 255, 40, 50, 60, 255];
        assert_eq!(planar_from_rgba(&rgba, false), vec![10, 40, 20, 50, 30, 60]);
        assert_eq!(planar_from_rgba(&rgba, true), vec![18, 48]);
    }

    #[test]
    fn a_colour_picture_keeps_its_colour_cropped_and_resized() {
        // 4 wide, 2 high: the left column red, the middle two green, the right column blue; a transparent
        // pixel at (0, 0) becomes white.
        let (w, h) = (4, 2);
        let mut rgba = Vec::new();
        for _y in 0..h {
            for x in 0..w {
                rgba.extend_from_slice(match x {
                    0 => &[255, 0, 0, 255],
                    3 => &[0, 0, 255, 255],
                    _ => &[0, 255, 0, 255],
                });
            }
        }
        rgba[3] = 0;
        let stages = colour_pipeline(w, h, &rgba, true, 1, 1).unwrap();
        assert_eq!(stages.len(), 3);
        assert_eq!(stages[0].image.pixels.len(), 3 * 8);
        let first = &stages[0].image.pixels;
        assert_eq!(
            [first[0], first[8], first[16]],
            [255, 255, 255],
            "transparent is white"
        );
        // The centred square is the two green columns: one green pixel after resizing.
        assert_eq!((stages[1].image.width, stages[1].image.height), (2, 2));
        assert_eq!(stages[2].image.pixels, vec![0, 255, 0]);
        // Without the crop the whole picture is averaged: a quarter red, half green, a quarter blue (with
        // the white pixel's share).
        let whole = colour_pipeline(w, h, &rgba, false, 1, 1).unwrap();
        let last = &whole.last().unwrap().image.pixels;
        assert_eq!(last.len(), 3);
        assert!(last[1] > last[0] && last[1] > last[2], "{last:?}");
        assert!(colour_pipeline(2, 2, &[0; 3], true, 1, 1).is_err());
    }

    #[test]
    fn a_dark_shirt_on_white_comes_out_light_on_black_centred_28x28() {
        let (w, h, rgba) = photo();
        let stages = pipeline(w, h, &rgba, Steps::default(), 28).unwrap();
        let last = &stages.last().unwrap().image;
        assert_eq!((last.width, last.height, last.pixels.len()), (28, 28, 784));
        assert_eq!(stages[1].name, "light background inverted");
        let cropped = &stages[2].image;
        assert_eq!((cropped.width, cropped.height), (40, 30));
        // Light object on black: corners dark, centre bright; the object is centred vertically.
        assert_eq!(last.pixels[0], 0);
        assert_eq!(last.pixels[14 * 28 + 14], 255);
        let rows_lit: Vec<usize> = (0..28).filter(|&y| last.pixels[y * 28 + 14] > 64).collect();
        let (top, bottom) = (rows_lit[0], *rows_lit.last().unwrap());
        assert!(
            (top as i32 - (27 - bottom) as i32).abs() <= 1,
            "{top}..{bottom}"
        );
        // 30/40 of 28 rows is 21, give or take the partly covered edge rows.
        assert!((20..=22).contains(&(bottom - top + 1)), "{top}..{bottom}");
    }

    #[test]
    fn steps_can_be_switched_off() {
        let (w, h, rgba) = photo();
        let off = Steps {
            gray: true,
            invert_light_background: false,
            crop: false,
            pad_square: false,
            normalise: false,
        };
        let stages = pipeline(w, h, &rgba, off, 28).unwrap();
        assert!(!stages[1].applied && !stages[2].applied && !stages[3].applied);
        let last = &stages.last().unwrap().image;
        assert_eq!(last.pixels[0], 250, "background stays white");
    }

    #[test]
    fn area_averaging_is_exact_and_bad_input_is_refused() {
        let image = Gray {
            width: 4,
            height: 2,
            pixels: vec![0, 100, 200, 255, 0, 100, 200, 255],
        };
        assert_eq!(resize_area(&image, 2, 1).pixels, vec![50, 228]);
        assert_eq!(resize_area(&image, 8, 4).pixels[1], 0); // upscaling repeats
        assert_eq!(grayscale(0, 5, &[]), Err(PreprocessError::Empty));
        assert!(matches!(
            grayscale(2, 2, &[0; 15]),
            Err(PreprocessError::BadSize { .. })
        ));
        // Transparent pixels count as white background.
        assert_eq!(grayscale(1, 1, &[0, 0, 0, 0]).unwrap().pixels, vec![255]);
        assert_eq!(downscale_factor(8192, 100, 4096), 0.5);
        assert_eq!(downscale_factor(100, 100, 4096), 1.0);
    }
}
