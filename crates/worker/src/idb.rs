//! Trained models and the user's datasets in IndexedDB, so they survive a reload: one record per model,
//! its report (JSON) and its weights (burnpack bytes); per dataset, its description (JSON, for the list)
//! in one store and its compressed images in another (the list never reads the images).

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::env::StoredModel;
use crate::fetch::describe;
use web_sys::{
    IdbDatabase, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode,
    WorkerGlobalScope,
};

const DATABASE: &str = "atelier";
/// 2 added the datasets' stores.
const VERSION: u32 = 2;
const MODELS: &str = "models";
const DATASET_LIST: &str = "dataset_list";
const DATASET_DATA: &str = "dataset_data";

/// Waits for a request's success or error.
async fn wait_request(request: &IdbRequest) -> Result<JsValue, String> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    match outcome {
        Ok(_) => request.result().map_err(|e| describe(&e)),
        Err(_) => Err(request
            .error()
            .ok()
            .flatten()
            .map(|e| describe(&e.into()))
            .unwrap_or_else(|| "unknown error".into())),
    }
}

/// Waits for a transaction to commit; quota errors surface here.
async fn wait_transaction(transaction: &IdbTransaction) -> Result<(), String> {
    let promise = Promise::new(&mut |resolve, reject| {
        transaction.set_oncomplete(Some(&resolve));
        transaction.set_onerror(Some(&reject));
        transaction.set_onabort(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    match outcome {
        Ok(_) => Ok(()),
        Err(_) => Err(transaction
            .error()
            .map(|e| describe(&e.into()))
            .unwrap_or_else(|| "the transaction was aborted".into())),
    }
}

/// Opens (and on first use creates) the database.
async fn open() -> Result<IdbDatabase, String> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let factory = scope
        .indexed_db()
        .map_err(|e| describe(&e))?
        .ok_or("this browser offers no IndexedDB here (private mode?)")?;
    let request: IdbOpenDbRequest = factory
        .open_with_u32(DATABASE, VERSION)
        .map_err(|e| describe(&e))?;
    let upgrade = Closure::<dyn FnMut(web_sys::IdbVersionChangeEvent)>::new(
        |event: web_sys::IdbVersionChangeEvent| {
            let Some(db) = event
                .target()
                .and_then(|t| t.dyn_into::<IdbRequest>().ok())
                .and_then(|r| r.result().ok())
                .and_then(|r| r.dyn_into::<IdbDatabase>().ok())
            else {
                return;
            };
            for name in [MODELS, DATASET_LIST, DATASET_DATA] {
                if !db.object_store_names().contains(name) {
                    let _ = db.create_object_store(name);
                }
            }
        },
    );
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let result = wait_request(&request).await;
    request.set_onupgradeneeded(None);
    drop(upgrade);
    result?
        .dyn_into::<IdbDatabase>()
        .map_err(|_| "IndexedDB returned no database".to_string())
}

fn store(
    db: &IdbDatabase,
    mode: IdbTransactionMode,
) -> Result<(IdbTransaction, IdbObjectStore), String> {
    let transaction = db
        .transaction_with_str_and_mode(MODELS, mode)
        .map_err(|e| describe(&e))?;
    let store = transaction.object_store(MODELS).map_err(|e| describe(&e))?;
    Ok((transaction, store))
}

/// A transaction over both dataset stores: (transaction, list, data).
fn dataset_stores(
    db: &IdbDatabase,
    mode: IdbTransactionMode,
) -> Result<(IdbTransaction, IdbObjectStore, IdbObjectStore), String> {
    let names = Array::of2(&DATASET_LIST.into(), &DATASET_DATA.into());
    let transaction = db
        .transaction_with_str_sequence_and_mode(&names, mode)
        .map_err(|e| describe(&e))?;
    let list = transaction
        .object_store(DATASET_LIST)
        .map_err(|e| describe(&e))?;
    let data = transaction
        .object_store(DATASET_DATA)
        .map_err(|e| describe(&e))?;
    Ok((transaction, list, data))
}

/// Saves a dataset: its description (JSON) and its record.
pub async fn save_dataset(id: &str, description_json: &str, record: &[u8]) -> Result<(), String> {
    let db = open().await?;
    let (transaction, list, data) = dataset_stores(&db, IdbTransactionMode::Readwrite)?;
    list.put_with_key(&description_json.into(), &id.into())
        .map_err(|e| describe(&e))?;
    data.put_with_key(&Uint8Array::from(record), &id.into())
        .map_err(|e| describe(&e))?;
    let result = wait_transaction(&transaction).await;
    db.close();
    result
}

/// The descriptions (JSON) of every saved dataset.
pub async fn dataset_list() -> Result<Vec<String>, String> {
    let db = open().await?;
    let (_transaction, list, _) = dataset_stores(&db, IdbTransactionMode::Readonly)?;
    let request = list.get_all().map_err(|e| describe(&e))?;
    let all: Array = wait_request(&request)
        .await?
        .dyn_into()
        .map_err(|_| "IndexedDB returned no list".to_string())?;
    db.close();
    Ok(all.iter().filter_map(|v| v.as_string()).collect())
}

/// A saved dataset's record.
pub async fn load_dataset(id: &str) -> Result<Vec<u8>, String> {
    let db = open().await?;
    let (_transaction, _, data) = dataset_stores(&db, IdbTransactionMode::Readonly)?;
    let request = data.get(&id.into()).map_err(|e| describe(&e))?;
    let value = wait_request(&request).await?;
    db.close();
    value
        .dyn_into::<Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| "this saved dataset is no longer in the browser's storage".to_string())
}

/// Deletes a saved dataset.
pub async fn delete_dataset(id: &str) -> Result<(), String> {
    let db = open().await?;
    let (transaction, list, data) = dataset_stores(&db, IdbTransactionMode::Readwrite)?;
    list.delete(&id.into()).map_err(|e| describe(&e))?;
    data.delete(&id.into()).map_err(|e| describe(&e))?;
    let result = wait_transaction(&transaction).await;
    db.close();
    result
}

/// Saves (or replaces) a model.
pub async fn save(id: &str, report_json: &str, weights: &[u8]) -> Result<(), String> {
    let db = open().await?;
    let (transaction, store) = store(&db, IdbTransactionMode::Readwrite)?;
    let value = Object::new();
    Reflect::set(&value, &"report".into(), &report_json.into()).map_err(|e| describe(&e))?;
    Reflect::set(&value, &"weights".into(), &Uint8Array::from(weights))
        .map_err(|e| describe(&e))?;
    store
        .put_with_key(&value, &id.into())
        .map_err(|e| describe(&e))?;
    let result = wait_transaction(&transaction).await;
    db.close();
    result
}

/// Every saved model.
pub async fn load_all() -> Result<Vec<StoredModel>, String> {
    let db = open().await?;
    let (_transaction, store) = store(&db, IdbTransactionMode::Readonly)?;
    let request = store.get_all().map_err(|e| describe(&e))?;
    let all: Array = wait_request(&request)
        .await?
        .dyn_into()
        .map_err(|_| "IndexedDB returned no list".to_string())?;
    db.close();
    Ok(all
        .iter()
        .filter_map(|value| {
            let report_json = Reflect::get(&value, &"report".into()).ok()?.as_string()?;
            let weights = Reflect::get(&value, &"weights".into())
                .ok()?
                .dyn_into::<Uint8Array>()
                .ok()?
                .to_vec();
            Some(StoredModel {
                report_json,
                weights,
            })
        })
        .collect())
}

/// Deletes a model.
pub async fn delete(id: &str) -> Result<(), String> {
    let db = open().await?;
    let (transaction, store) = store(&db, IdbTransactionMode::Readwrite)?;
    store.delete(&id.into()).map_err(|e| describe(&e))?;
    let result = wait_transaction(&transaction).await;
    db.close();
    result
}
