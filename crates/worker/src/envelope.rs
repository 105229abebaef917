//! How messages arrive at a worker: JSON text alone, or a two-item array of the text and what travels
//! beside it (a file, pixels, gradients). Both the page's messages and the helpers' answers come so.

use js_sys::Array;
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
