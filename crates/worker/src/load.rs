//! Loading a dataset: downloading or reading its files, parsing them, and posting the summary.

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::{fetch, summary};
use crate::clock::now_ms;
use crate::env::Post;
use crate::web::WebEnv;
use atelier_core::DataError;
use atelier_core::dataset::{Dataset, FileNames, RawFiles};
use atelier_core::protocol::{DatasetOrigin, FromWorker, LoadDataset};
use atelier_core::{cifar, colour};

fn post(message: &FromWorker) {
    WebEnv.post(message);
}

/// The last segment of a URL: the file name shown in progress and messages.
fn file_of(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_string()
}

/// Downloads the URLs one after another (the progress bars fill in order, and a missing small file is
/// reported before the big ones are fetched in vain).
async fn download_all(urls: &[String]) -> Result<Vec<(String, Vec<u8>)>, DataError> {
    let mut files = Vec::with_capacity(urls.len());
    for url in urls {
        let file = file_of(url);
        let bytes = fetch::download(url, &file, &|p| post(&FromWorker::Download(p))).await?;
        files.push((file, bytes));
    }
    Ok(files)
}

/// Reads the files picked by the user, sent beside the message in the order of `names`.
async fn read_picked(
    names: &[String],
    attachments: JsValue,
) -> Result<Vec<(String, Vec<u8>)>, DataError> {
    let blobs: Array = attachments.dyn_into().map_err(|_| {
        DataError::InvalidOption("the picked files did not reach the worker".into())
    })?;
    let mut files = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let blob: web_sys::Blob = blobs
            .get(i as u32)
            .dyn_into()
            .map_err(|_| DataError::InvalidOption(format!("{name} did not reach the worker")))?;
        files.push((name.clone(), fetch::read_blob(&blob, name).await?));
    }
    Ok(files)
}

/// Parses four IDX files (train images, train labels, test images, test labels).
fn idx_dataset(files: Vec<(String, Vec<u8>)>, request: &LoadDataset) -> Result<Dataset, DataError> {
    let mut files = files.into_iter();
    let mut next = || files.next().unwrap_or_default();
    let ((a, ra), (b, rb), (c, rc), (d, rd)) = (next(), next(), next(), next());
    let names = FileNames {
        train_images: a,
        train_labels: b,
        test_images: c,
        test_labels: d,
    };
    let raw = RawFiles {
        train_images: ra,
        train_labels: rb,
        test_images: rc,
        test_labels: rd,
    };
    Dataset::from_files(
        &names,
        &raw,
        request.class_names.clone(),
        request.validation_per_mille,
        request.split_seed,
    )
}

/// Downloads or reads the dataset's files, parses them and posts the summary. Returns the dataset.
pub async fn load_dataset(
    request: &LoadDataset,
    attachments: JsValue,
) -> Result<Rc<Dataset>, DataError> {
    let (files, kind) = match &request.origin {
        DatasetOrigin::Urls { urls, colour } => (download_all(urls).await?, Kind::Idx(*colour)),
        DatasetOrigin::PickedFiles { names } => {
            (read_picked(names, attachments).await?, Kind::Idx(false))
        }
        DatasetOrigin::Cifar { urls } => {
            // The names file is a convenience: without it CIFAR-10 keeps its own names.
            let (names_file, data) = urls.split_last().expect("CIFAR has files");
            let mut files = download_all(data).await?;
            if let Ok(bytes) = fetch::download(names_file, &file_of(names_file), &|p| {
                post(&FromWorker::Download(p))
            })
            .await
            {
                files.push((file_of(names_file), bytes));
            }
            (files, Kind::Cifar)
        }
        DatasetOrigin::PickedCifar { names } => {
            (read_picked(names, attachments).await?, Kind::Cifar)
        }
    };
    post(&FromWorker::Parsing);
    let start = now_ms();
    let dataset = match kind {
        Kind::Idx(false) => idx_dataset(files, request)?,
        Kind::Idx(true) => colour::colour_dataset(&idx_dataset(files, request)?),
        Kind::Cifar => cifar::assemble(files, request.validation_per_mille, request.split_seed)?.1,
    };
    let summary = summary::summarise(&dataset, now_ms() - start);
    post(&FromWorker::DatasetReady(Box::new(summary)));
    Ok(Rc::new(dataset))
}

/// How the files are parsed.
enum Kind {
    /// IDX; true: tinted into Fashion-MNIST in colour.
    Idx(bool),
    Cifar,
}
