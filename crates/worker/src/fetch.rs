//! Downloads with progress, and reading picked files, inside the worker.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response, WorkerGlobalScope};

use atelier_core::DataError;
use atelier_core::protocol::FileProgress;

/// Report progress at most every this many bytes, to keep the message rate low.
const PROGRESS_STEP: u64 = 512 * 1024;

/// A JavaScript error or value as text for a message: a DOMException's name and message, a string, or JSON.
pub(super) fn describe(value: &JsValue) -> String {
    value
        .dyn_ref::<web_sys::DomException>()
        .map(|e| format!("{}: {}", e.name(), e.message()))
        .or_else(|| value.as_string())
        .or_else(|| {
            js_sys::JSON::stringify(value)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| format!("{value:?}"))
}

fn download_error(file: &str, reason: impl Into<String>) -> DataError {
    DataError::Download {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// Fetches `url`, calling `progress` as bytes arrive.
pub async fn download(
    url: &str,
    file: &str,
    progress: &dyn Fn(FileProgress),
) -> Result<Vec<u8>, DataError> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let response = JsFuture::from(scope.fetch_with_str(url))
        .await
        .map_err(|e| {
            download_error(
                file,
                format!("the network request failed ({})", describe(&e)),
            )
        })?;
    let response: Response = response
        .dyn_into()
        .map_err(|_| download_error(file, "fetch returned no response"))?;
    if !response.ok() {
        return Err(download_error(
            file,
            format!(
                "the server answered {} {}",
                response.status(),
                response.status_text()
            ),
        ));
    }
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    let Some(body) = response.body() else {
        return Err(download_error(file, "the response has no body"));
    };
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    let mut last_report = 0u64;
    progress(FileProgress {
        file: file.into(),
        received: 0,
        total,
    });
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| {
            download_error(file, format!("the download broke off ({})", describe(&e)))
        })?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&chunk, &"value".into())
            .map_err(|e| download_error(file, describe(&e)))?;
        bytes.extend_from_slice(&Uint8Array::new(&value).to_vec());
        let received = bytes.len() as u64;
        if received - last_report >= PROGRESS_STEP {
            last_report = received;
            progress(FileProgress {
                file: file.into(),
                received,
                total,
            });
        }
    }
    progress(FileProgress {
        file: file.into(),
        received: bytes.len() as u64,
        total: Some(bytes.len() as u64),
    });
    Ok(bytes)
}

/// Reads a `File` (or any `Blob`) the user picked.
pub async fn read_blob(blob: &web_sys::Blob, file: &str) -> Result<Vec<u8>, DataError> {
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(|e| {
        download_error(
            file,
            format!("the browser could not read the file ({})", describe(&e)),
        )
    })?;
    Ok(Uint8Array::new(&buffer).to_vec())
}
