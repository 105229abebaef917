//! The user's pictures decoded off the page's thread: the browser's own decoders (`createImageBitmap`,
//! PNG, JPEG, WebP, GIF, BMP) in this worker, the centred square drawn at the chosen size on an
//! `OffscreenCanvas` with high-quality smoothing, read back as planar bytes.

use js_sys::{Array, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, ImageBitmap, OffscreenCanvas, OffscreenCanvasRenderingContext2d, WorkerGlobalScope,
};

use atelier_core::import::ImportOptions;
use atelier_core::preprocess::planar_from_rgba;

/// Pictures decoded at once: the browser decodes them in parallel off this thread.
pub const CHUNK: usize = 32;

/// A blob of bytes (an archive's entry) for the decoder.
pub fn blob_of(bytes: &[u8]) -> Result<Blob, String> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    Blob::new_with_u8_array_sequence(&parts).map_err(|e| format!("{e:?}"))
}

/// A canvas of the import's size to draw on.
pub struct Canvas {
    context: OffscreenCanvasRenderingContext2d,
    size: u32,
}

impl Canvas {
    /// A `size x size` canvas with high-quality smoothing (the browser averages when it shrinks).
    pub fn new(size: usize) -> Result<Self, String> {
        let canvas =
            OffscreenCanvas::new(size as u32, size as u32).map_err(|e| format!("{e:?}"))?;
        let context: OffscreenCanvasRenderingContext2d = canvas
            .get_context("2d")
            .map_err(|e| format!("{e:?}"))?
            .ok_or("this browser has no 2D OffscreenCanvas in workers")?
            .dyn_into()
            .map_err(|_| "not a 2D context")?;
        let _ = Reflect::set(&context, &"imageSmoothingQuality".into(), &"high".into());
        Ok(Self {
            context,
            size: size as u32,
        })
    }

    /// The centred square of the bitmap at the canvas's size: planar bytes (gray: Rec. 601 luma), and the
    /// original width and height. Transparent parts count as white, as in the Predict tab.
    pub fn draw(
        &self,
        bitmap: &ImageBitmap,
        options: &ImportOptions,
    ) -> Result<(Vec<u8>, usize, usize), String> {
        let (w, h) = (bitmap.width(), bitmap.height());
        if w == 0 || h == 0 {
            return Err("the picture has no pixels".into());
        }
        let side = w.min(h) as f64;
        let (sx, sy) = ((w as f64 - side) / 2.0, (h as f64 - side) / 2.0);
        let s = self.size as f64;
        self.context.set_fill_style_str("#ffffff");
        self.context.fill_rect(0.0, 0.0, s, s);
        self.context
            .draw_image_with_image_bitmap_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
                bitmap, sx, sy, side, side, 0.0, 0.0, s, s,
            )
            .map_err(|e| format!("{e:?}"))?;
        let rgba = self
            .context
            .get_image_data(0.0, 0.0, s, s)
            .map_err(|e| format!("{e:?}"))?
            .data()
            .0;
        let pixels = planar_from_rgba(&rgba, options.gray);
        Ok((pixels, w as usize, h as usize))
    }
}

/// Decodes blobs together; each gives its bitmap or why it could not be read.
pub async fn bitmaps(blobs: &[Blob]) -> Vec<Result<ImageBitmap, String>> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let promises = Array::new();
    for blob in blobs {
        let promise = scope
            .create_image_bitmap_with_blob(blob)
            .unwrap_or_else(|e| Promise::reject(&e));
        promises.push(&promise);
    }
    let settled = match JsFuture::from(Promise::all_settled(&promises)).await {
        Ok(settled) => Array::from(&settled),
        Err(e) => return blobs.iter().map(|_| Err(format!("{e:?}"))).collect(),
    };
    settled
        .iter()
        .map(|outcome| {
            let status = Reflect::get(&outcome, &"status".into())
                .ok()
                .and_then(|s| s.as_string());
            if status.as_deref() == Some("fulfilled") {
                Reflect::get(&outcome, &"value".into())
                    .map(|v| v.unchecked_into::<ImageBitmap>())
                    .map_err(|e| format!("{e:?}"))
            } else {
                Err("the browser could not decode it (damaged, or not a picture)".into())
            }
        })
        .collect()
}
