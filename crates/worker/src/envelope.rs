//! How messages arrive at a worker: JSON text alone, or a two-item array of the text and what travels
//! beside it (a file, pixels, gradients). Both the page's messages and the helpers' answers come so.

use js_sys::{Array, ArrayBuffer, Float32Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// The message's text (None when it is not text) and its attachment (`undefined` when there is none).
pub fn unpack(data: JsValue) -> (Option<String>, JsValue) {
    if Array::is_array(&data) {
        let parts: Array = data.unchecked_into();
        (parts.get(0).as_string(), parts.get(1))
    } else {
        (data.as_string(), JsValue::UNDEFINED)
    }
}

/// The message's text and its attachment as one envelope, and what to transfer with it: the
/// attachment's buffer. Transferred, a buffer moves to the receiver instead of being copied twice
/// (serialised and read back: measured in this Chromium, 4.7 MB of gradients took ~4 ms a way cloned),
/// and is empty here afterwards. So only attachments made for this one message may go through here,
/// never a view of wasm memory or an array sent again later.
pub fn pack_moving(text: &str, attachment: &JsValue) -> (Array, Array) {
    let envelope = Array::of2(&JsValue::from_str(text), attachment);
    let transfer = Array::new();
    if let Ok(buffer) = Reflect::get(attachment, &JsValue::from_str("buffer"))
        .and_then(|b| b.dyn_into::<ArrayBuffer>())
    {
        transfer.push(&buffer);
    }
    (envelope, transfer)
}

/// `values` in a typed array for one message: in `spare` (an array that came back with an answer, of
/// the same length) when there is one, else in a new one. Creating a 4.7 MB array took ~2 ms in this
/// Chromium, filling one 0.12 ms: so a helper's gradients and the averaged ones travel back and forth
/// in the same buffer.
pub fn floats_in(values: &[f32], spare: Option<Float32Array>) -> Float32Array {
    match spare.filter(|s| s.length() as usize == values.len()) {
        Some(array) => {
            array.copy_from(values);
            array
        }
        None => Float32Array::from(values),
    }
}
