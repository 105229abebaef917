//! The picture pipeline on any size and pixels: the first two bytes give the width and height (1..=96),
//! the third the steps switched on, the rest is RGBA (any length: a wrong one must be refused, not read
//! past). Whatever the input, the result is 28 x 28 (gray) or 3 x 32 x 24 (colour), or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/core/src/preprocess.rs"]
mod preprocess;

use preprocess::{Steps, colour_pipeline, pipeline};

fuzz_target!(|bytes: &[u8]| {
    if bytes.len() < 3 {
        return;
    }
    let (width, height) = (1 + bytes[0] as usize % 96, 1 + bytes[1] as usize % 96);
    let steps = Steps {
        gray: true,
        invert_light_background: bytes[2] & 1 != 0,
        crop: bytes[2] & 2 != 0,
        pad_square: bytes[2] & 4 != 0,
        normalise: bytes[2] & 8 != 0,
    };
    if let Ok(stages) = pipeline(width, height, &bytes[3..], steps, 28) {
        let last = &stages.last().expect("a pipeline has stages").image;
        assert_eq!((last.width, last.height, last.pixels.len()), (28, 28, 784));
    }
    if let Ok(stages) = colour_pipeline(width, height, &bytes[3..], steps.crop, 32, 24) {
        let last = &stages.last().expect("a pipeline has stages").image;
        assert_eq!(
            (last.height, last.width, last.pixels.len()),
            (32, 24, 3 * 32 * 24)
        );
    }
});
