//! Files and whole folders dropped on the page: the browser's entries API (`webkitGetAsEntry`, in every
//! current browser) walks dropped folders, and each file keeps its path inside them, as a folder picker
//! gives it.

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DataTransfer, File};

/// The entries of a drop, taken while the drop event lasts (its items are gone after it).
pub fn entries(transfer: &DataTransfer) -> Vec<JsValue> {
    let items = transfer.items();
    (0..items.length())
        .filter_map(|i| items.get(i))
        .filter_map(|item| {
            let get: Function = Reflect::get(&item, &"webkitGetAsEntry".into())
                .ok()?
                .dyn_into()
                .ok()?;
            get.call0(&item).ok().filter(|e| !e.is_null())
        })
        .collect()
}

/// Calls `method` of `target` with a success and an error callback, as the entries API does.
async fn callback(target: &JsValue, method: &str) -> Result<JsValue, String> {
    let function: Function = Reflect::get(target, &method.into())
        .map_err(|_| format!("no {method}"))?
        .dyn_into()
        .map_err(|_| format!("no {method}"))?;
    let promise = Promise::new(&mut |resolve, reject| {
        let _ = function.call2(target, &resolve, &reject);
    });
    JsFuture::from(promise)
        .await
        .map_err(|_| format!("the browser could not read a dropped entry ({method})"))
}

/// Every file under the entries, with its path (`shapes/cat/1.png`).
pub async fn files(entries: Vec<JsValue>) -> Result<Vec<(String, File)>, String> {
    let mut out = Vec::new();
    let mut stack = entries;
    while let Some(entry) = stack.pop() {
        let flag = |name: &str| {
            Reflect::get(&entry, &name.into())
                .ok()
                .and_then(|v| v.as_bool())
        };
        let path = Reflect::get(&entry, &"fullPath".into())
            .ok()
            .and_then(|p| p.as_string())
            .unwrap_or_default();
        if flag("isFile") == Some(true) {
            let file: File = callback(&entry, "file").await?.unchecked_into();
            out.push((path.trim_start_matches('/').to_string(), file));
        } else if flag("isDirectory") == Some(true) {
            let create: Function = Reflect::get(&entry, &"createReader".into())
                .map_err(|_| "no createReader".to_string())?
                .unchecked_into();
            let reader = create.call0(&entry).map_err(|_| "no reader".to_string())?;
            // readEntries gives the folder's entries a batch at a time, then an empty batch.
            loop {
                let batch: Array = callback(&reader, "readEntries").await?.unchecked_into();
                if batch.length() == 0 {
                    break;
                }
                stack.extend(batch.iter());
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
