//! Loading a dataset: downloading or reading its files, parsing them, and posting the summary.

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::{decode, fetch, idb, summary};
use crate::clock::now_ms;
use crate::env::Post;
use crate::web::WebEnv;
use atelier_core::DataError;
use atelier_core::archive::{MAX_ARCHIVE_BYTES, base_name, unzip};
use atelier_core::dataset::{Dataset, FileNames, RawFiles};
use atelier_core::import::{self, Decoded, ImportOptions, ImportReport, Role};
use atelier_core::protocol::{DatasetOrigin, FromWorker, LoadDataset};
use atelier_core::saved::{self, SavedDataset};
use atelier_core::{cifar, colour};

fn post(message: &FromWorker) {
    WebEnv.post(message);
}

/// Downloads the URLs one after another (the progress bars fill in order, and a missing small file is
/// reported before the big ones are fetched in vain).
async fn download_all(urls: &[String]) -> Result<Vec<(String, Vec<u8>)>, DataError> {
    let mut files = Vec::with_capacity(urls.len());
    for url in urls {
        let file = base_name(url).to_string();
        let bytes = fetch::download(url, &file, &|p| post(&FromWorker::Download(p))).await?;
        files.push((file, bytes));
    }
    Ok(files)
}

/// The files the user picked, sent beside the message in the order of `names`, as blobs.
fn picked_blobs(names: &[String], attachments: JsValue) -> Result<Vec<web_sys::Blob>, DataError> {
    let blobs: Array = attachments.dyn_into().map_err(|_| {
        DataError::InvalidOption("the picked files did not reach the worker".into())
    })?;
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            blobs
                .get(i as u32)
                .dyn_into()
                .map_err(|_| DataError::InvalidOption(format!("{name} did not reach the worker")))
        })
        .collect()
}

/// Reads the files picked by the user.
async fn read_picked(
    names: &[String],
    attachments: JsValue,
) -> Result<Vec<(String, Vec<u8>)>, DataError> {
    let mut files = Vec::with_capacity(names.len());
    for (name, blob) in names.iter().zip(picked_blobs(names, attachments)?) {
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

/// Downloads or reads the dataset's files, parses them and posts the summary; data from disk is then kept
/// in the browser for the next visit. Returns the dataset.
pub async fn load_dataset(
    request: &LoadDataset,
    attachments: JsValue,
) -> Result<Rc<Dataset>, DataError> {
    let dataset = load(request, attachments).await?;
    if request.origin.is_picked() {
        keep(&dataset, &picked_name(&request.origin)).await;
    }
    Ok(dataset)
}

/// What the list of saved datasets calls data from disk: the folder's or archive's name, CIFAR's, or the
/// IDX training images' file.
fn picked_name(origin: &DatasetOrigin) -> String {
    let stem = |p: &str| {
        let base = base_name(p);
        base.split('.').next().unwrap_or(base).to_string()
    };
    match origin {
        DatasetOrigin::PickedImages { paths, .. } => match paths.first() {
            Some(p) if p.to_ascii_lowercase().ends_with(".zip") => stem(p),
            Some(p) => p.split(['/', '\\']).next().unwrap_or(p).to_string(),
            None => "pictures".into(),
        },
        DatasetOrigin::PickedCifar { names } => {
            cifar::CifarKind::detect(names).map_or("CIFAR".into(), |k| k.label().to_string())
        }
        DatasetOrigin::Captured { class_names, .. } => {
            format!("camera: {}", class_names.join(", "))
        }
        DatasetOrigin::PickedFiles { names } => stem(&names[0]),
        _ => "dataset".into(),
    }
}

/// Saves a dataset from disk in the browser and tells the page its id; a full quota is a notice, and the
/// dataset stays for this visit.
async fn keep(dataset: &Dataset, name: &str) {
    let created = js_sys::Date::now();
    let id = format!("d{}", created as u64);
    let (description, record) = saved::encode(
        &SavedDataset::describe(&id, name, dataset, created),
        dataset,
    );
    let json = atelier_core::protocol::encode(&description);
    match idb::save_dataset(&id, &json, &record).await {
        Ok(()) => post(&FromWorker::DatasetSaved { id }),
        Err(e) => post(&FromWorker::Notice {
            message: if crate::env::is_quota_error(&e) {
                format!(
                    "The browser's storage is full, so {name} is kept for this visit only; delete saved \
                     datasets or models (Data and Compare tabs) to keep it next time."
                )
            } else {
                format!("{name} could not be kept for the next visit ({e}); it stays for this one.")
            },
        }),
    }
    post_saved_list().await;
}

/// Posts the list of saved datasets, newest first (an unreadable store posts an empty list).
pub async fn post_saved_list() {
    let mut list: Vec<SavedDataset> = idb::dataset_list()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|json| atelier_core::protocol::decode(json).ok())
        .collect();
    list.sort_by(|a, b| b.created_ms.total_cmp(&a.created_ms));
    post(&FromWorker::SavedDatasets(list));
}

/// Deletes a saved dataset and posts the new list.
pub async fn delete_saved(id: &str) {
    if let Err(e) = idb::delete_dataset(id).await {
        post(&FromWorker::Error {
            message: format!("the saved dataset could not be deleted ({e})"),
        });
    }
    post_saved_list().await;
}

/// Reads, decodes or parses the dataset and posts its summary (the time spans the work after the
/// downloads).
async fn load(request: &LoadDataset, attachments: JsValue) -> Result<Rc<Dataset>, DataError> {
    let (dataset, import, start) = match &request.origin {
        DatasetOrigin::Saved { id } => {
            let record = idb::load_dataset(id).await.map_err(|e| {
                DataError::InvalidOption(format!(
                    "the saved dataset {id} could not be read ({e}); pick its files again, or open another dataset"
                ))
            })?;
            post(&FromWorker::Parsing);
            let start = now_ms();
            let (_, dataset) =
                saved::decode(&record, request.validation_per_mille, request.split_seed)?;
            (dataset, None, start)
        }
        DatasetOrigin::Captured {
            class_names,
            labels,
            pixels,
            options,
        } => {
            let start = now_ms();
            let (dataset, report) = import::from_frames(
                class_names,
                labels,
                pixels,
                options,
                request.validation_per_mille,
                request.split_seed,
            )?;
            (dataset, Some(report), start)
        }
        DatasetOrigin::PickedImages { paths, options } => {
            let start = now_ms();
            let (dataset, report) = load_pictures(paths, options, attachments, request).await?;
            (dataset, Some(report), start)
        }
        DatasetOrigin::Urls { urls, colour } => {
            let files = download_all(urls).await?;
            post(&FromWorker::Parsing);
            let start = now_ms();
            let dataset = idx_dataset(files, request)?;
            let dataset = if *colour {
                colour::colour_dataset(&dataset)
            } else {
                dataset
            };
            (dataset, None, start)
        }
        DatasetOrigin::PickedFiles { names } => {
            let files = read_picked(names, attachments).await?;
            post(&FromWorker::Parsing);
            let start = now_ms();
            (idx_dataset(files, request)?, None, start)
        }
        DatasetOrigin::Cifar { urls } => {
            // The names file is a convenience: without it CIFAR-10 keeps its own names.
            let (names_file, data) = urls.split_last().expect("CIFAR has files");
            let mut files = download_all(data).await?;
            if let Ok(mut names) = download_all(std::slice::from_ref(names_file)).await {
                files.append(&mut names);
            }
            post(&FromWorker::Parsing);
            let start = now_ms();
            (cifar_dataset(files, request)?, None, start)
        }
        DatasetOrigin::PickedCifar { names } => {
            let files = read_picked(names, attachments).await?;
            post(&FromWorker::Parsing);
            let start = now_ms();
            (cifar_dataset(files, request)?, None, start)
        }
    };
    let mut summary = summary::summarise(&dataset, now_ms() - start);
    summary.import = import;
    post(&FromWorker::DatasetReady(Box::new(summary)));
    Ok(Rc::new(dataset))
}

/// CIFAR from its files.
fn cifar_dataset(
    files: Vec<(String, Vec<u8>)>,
    request: &LoadDataset,
) -> Result<Dataset, DataError> {
    cifar::assemble(files, request.validation_per_mille, request.split_seed).map(|(_, d)| d)
}

/// The user's pictures as a dataset: archives opened, each file's role decided, the memory budget
/// checked, then every picture decoded and resized in this worker (progress posted as it goes), and the
/// dataset assembled. Files that cannot be used are listed in the report, not fatal.
async fn load_pictures(
    paths: &[String],
    options: &ImportOptions,
    attachments: JsValue,
    request: &LoadDataset,
) -> Result<(Dataset, ImportReport), DataError> {
    options.check()?;
    // Archives are opened here; their entries become blobs for the decoder.
    let mut files: Vec<(String, web_sys::Blob)> = Vec::with_capacity(paths.len());
    for (path, blob) in paths.iter().zip(picked_blobs(paths, attachments)?) {
        if path.to_ascii_lowercase().ends_with(".zip") {
            let bytes = fetch::read_blob(&blob, path).await?;
            for (name, content) in unzip(path, &bytes, MAX_ARCHIVE_BYTES)? {
                let entry = decode::blob_of(&content).map_err(DataError::InvalidOption)?;
                files.push((name, entry));
            }
        } else {
            files.push((path.clone(), blob));
        }
    }
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let roles = import::roles(&names);
    let mut report = ImportReport::default();
    let mut todo = Vec::new();
    let mut classes_seen = std::collections::BTreeSet::new();
    for ((name, blob), role) in files.into_iter().zip(roles) {
        match role {
            Role::Picture { class, part } => {
                classes_seen.insert(class.clone());
                todo.push((name, blob, class, part));
            }
            Role::Skipped(why) => report.skipped.push((name, why)),
            Role::Ignored => {}
        }
    }
    import::check_budget(todo.len(), options)?;
    let canvas = decode::Canvas::new(options.size).map_err(DataError::InvalidOption)?;
    let total = todo.len();
    let mut pictures = Vec::with_capacity(total);
    let (mut min_w, mut min_h, mut max_w, mut max_h) = (usize::MAX, usize::MAX, 0, 0);
    for (done, chunk) in todo.chunks(decode::CHUNK).enumerate() {
        let blobs: Vec<web_sys::Blob> = chunk.iter().map(|(_, b, _, _)| b.clone()).collect();
        for ((name, _, class, part), bitmap) in chunk.iter().zip(decode::bitmaps(&blobs).await) {
            let drawn = bitmap.and_then(|bitmap| {
                let drawn = canvas.draw(&bitmap, options);
                bitmap.close();
                drawn
            });
            match drawn {
                Ok((pixels, w, h)) => {
                    (min_w, min_h) = (min_w.min(w), min_h.min(h));
                    (max_w, max_h) = (max_w.max(w), max_h.max(h));
                    pictures.push(Decoded {
                        class: class.clone(),
                        part: *part,
                        pixels,
                    });
                }
                Err(why) => report.skipped.push((name.clone(), why)),
            }
        }
        post(&FromWorker::Decoding {
            done: ((done + 1) * decode::CHUNK).min(total),
            total,
            skipped: report.skipped.len(),
        });
    }
    report
        .skipped
        .extend(import::left_out(&classes_seen, &pictures));
    report.decoded = pictures.len();
    if !pictures.is_empty() {
        report.sizes = (min_w, min_h, max_w, max_h);
    }
    let dataset = import::assemble(
        pictures,
        options,
        &mut report,
        request.validation_per_mille,
        request.split_seed,
    )?;
    Ok((dataset, report))
}
