//! Load another dataset from files on this computer: the user's own pictures (a folder of class folders, or
//! a `.zip` of one), CIFAR-10/100's binary files (the files, their folder, or the `.tar.gz`), or four IDX
//! files.

use wasm_bindgen::JsCast;
use web_sys::{File, HtmlInputElement};
use yew::prelude::*;

use atelier_core::cifar::CifarKind;
use atelier_core::import::{ImportOptions, SIZE_RANGE};
use atelier_core::protocol::DatasetOrigin;
use atelier_core::source::{assign_idx_files, parse_class_names};

/// Picked files in the order the worker reads them, what they hold, and class names.
#[derive(Debug, Clone, PartialEq)]
pub struct PickedDataset {
    pub files: Vec<File>,
    pub origin: DatasetOrigin,
    pub class_names: Vec<String>,
}

impl PickedDataset {
    /// The names of the files, for the report.
    pub fn names(&self) -> Vec<String> {
        self.files.iter().map(File::name).collect()
    }
}

/// Which picked files make a CIFAR dataset: the `.tar.gz` (or `.tar`), else the `.bin` files and the
/// names files. The message says what is missing.
pub fn cifar_files(names: &[String]) -> Result<Vec<usize>, String> {
    let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    if let Some(i) = lower
        .iter()
        .position(|n| n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".tar"))
    {
        return Ok(vec![i]);
    }
    let kind = CifarKind::detect(names).ok_or_else(|| {
        "these are not CIFAR's binary files: pick data_batch_1.bin … test_batch.bin (CIFAR-10), train.bin and \
         test.bin (CIFAR-100), their folder, or the .tar.gz"
            .to_string()
    })?;
    let wanted = kind.files();
    let picked: Vec<usize> = (0..names.len())
        .filter(|&i| {
            let base = atelier_core::archive::base_name(&lower[i]).to_string();
            wanted.iter().any(|w| *w == base)
        })
        .collect();
    let missing: Vec<&str> = kind
        .train_files()
        .into_iter()
        .chain([kind.test_file()])
        .filter(|w| {
            !picked
                .iter()
                .any(|&i| atelier_core::archive::base_name(&lower[i]) == *w)
        })
        .collect();
    if missing.is_empty() {
        Ok(picked)
    } else {
        Err(format!("{} needs {} too", kind.label(), missing.join(", ")))
    }
}

/// Pictures to import: the class folders name the classes. Refused when the import options are not
/// valid.
fn pictures(
    paths: Vec<String>,
    files: Vec<File>,
    import: ImportOptions,
) -> Result<PickedDataset, String> {
    import.check().map_err(|e| e.to_string())?;
    Ok(PickedDataset {
        files,
        origin: DatasetOrigin::PickedImages {
            paths,
            options: import,
        },
        class_names: Vec::new(),
    })
}

/// The files of a file input.
fn input_files(e: &Event) -> Option<(HtmlInputElement, Vec<File>)> {
    let input = e
        .target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())?;
    let files = input
        .files()
        .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
        .unwrap_or_default();
    Some((input, files))
}

/// Props of [`DatasetPicker`].
#[derive(Properties, PartialEq)]
pub struct DatasetPickerProps {
    /// The classes of the current dataset, as the starting text of the classes field.
    pub class_names: Vec<String>,
    pub on_pick: Callback<PickedDataset>,
    pub on_error: Callback<String>,
    /// How pictures are imported (`size`, `gray`), and a change of it.
    #[prop_or_default]
    pub import: ImportOptions,
    #[prop_or_default]
    pub on_import: Callback<ImportOptions>,
}

/// The path of a picked file inside the picked folder (`webkitRelativePath`), else its name.
fn path_of(file: &File) -> String {
    js_sys::Reflect::get(file, &"webkitRelativePath".into())
        .ok()
        .and_then(|p| p.as_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| file.name())
}

/// A file input for four IDX files and a field for class names.
#[function_component(DatasetPicker)]
pub fn dataset_picker(props: &DatasetPickerProps) -> Html {
    let classes = use_state(|| props.class_names.join(", "));
    let on_classes = {
        let classes = classes.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            {
                classes.set(input.value());
            }
        })
    };
    let on_change = {
        let classes = classes.clone();
        let on_pick = props.on_pick.clone();
        let on_error = props.on_error.clone();
        Callback::from(move |e: Event| {
            let Some((input, files)) = input_files(&e) else {
                return;
            };
            let names: Vec<String> = files.iter().map(File::name).collect();
            let class_names = parse_class_names(&classes);
            if class_names.is_empty() {
                on_error
                    .emit("enter class names separated by commas, or the number of classes".into());
                return;
            }
            match assign_idx_files(&names) {
                Ok(order) => on_pick.emit(PickedDataset {
                    files: order.iter().map(|&i| files[i].clone()).collect(),
                    origin: DatasetOrigin::PickedFiles {
                        names: order.map(|i| names[i].clone()),
                    },
                    class_names,
                }),
                Err(message) => on_error.emit(format!("These files cannot be loaded: {message}.")),
            }
            // Let the same files be picked again after a fix.
            input.set_value("");
        })
    };
    let on_cifar = {
        let on_pick = props.on_pick.clone();
        let on_error = props.on_error.clone();
        Callback::from(move |e: Event| {
            let Some((input, files)) = input_files(&e) else {
                return;
            };
            // A folder picker names files by their path inside the folder.
            let names: Vec<String> = files.iter().map(path_of).collect();
            match cifar_files(&names) {
                Ok(chosen) => {
                    let kind = CifarKind::detect(&names).unwrap_or(CifarKind::Ten);
                    on_pick.emit(PickedDataset {
                        files: chosen.iter().map(|&i| files[i].clone()).collect(),
                        origin: DatasetOrigin::PickedCifar {
                            names: chosen.iter().map(|&i| names[i].clone()).collect(),
                        },
                        // The names file, when picked, names them; else CIFAR-10's own or numbers.
                        class_names: match kind {
                            CifarKind::Ten => atelier_core::cifar::CIFAR10_CLASSES
                                .iter()
                                .map(|s| s.to_string())
                                .collect(),
                            CifarKind::Hundred => atelier_core::source::numbered_classes(100),
                        },
                    })
                }
                Err(message) => on_error.emit(format!("These files cannot be loaded: {message}.")),
            }
            input.set_value("");
        })
    };
    let on_pictures = {
        let (on_pick, on_error, import) =
            (props.on_pick.clone(), props.on_error.clone(), props.import);
        Callback::from(move |e: Event| {
            let Some((input, files)) = input_files(&e) else {
                return;
            };
            if files.is_empty() {
                return;
            }
            let paths: Vec<String> = files.iter().map(path_of).collect();
            match pictures(paths, files, import) {
                Ok(picked) => on_pick.emit(picked),
                Err(why) => on_error.emit(why),
            }
            input.set_value("");
        })
    };
    let on_drop = {
        let (on_pick, on_error, import) =
            (props.on_pick.clone(), props.on_error.clone(), props.import);
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            let Some(transfer) = e.data_transfer() else {
                return;
            };
            let entries = super::dropped::entries(&transfer);
            // Without entries (a drop made by a script) the plain files are what was dropped.
            let plain: Vec<(String, File)> = transfer
                .files()
                .map(|list| {
                    (0..list.length())
                        .filter_map(|i| list.get(i))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f.name(), f))
                .collect();
            let (on_pick, on_error) = (on_pick.clone(), on_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let found = if entries.is_empty() {
                    Ok(plain)
                } else {
                    super::dropped::files(entries).await
                };
                match found {
                    Ok(found) if found.is_empty() => {
                        on_error.emit("Nothing to import was dropped: drop a folder of class folders, or a .zip of one.".into())
                    }
                    Ok(found) => {
                        let (paths, files) = found.into_iter().unzip();
                        match pictures(paths, files, import) {
                            Ok(picked) => on_pick.emit(picked),
                            Err(why) => on_error.emit(why),
                        }
                    }
                    Err(why) => on_error.emit(format!("The dropped files could not be read: {why}.")),
                }
            });
        })
    };
    let on_size = {
        let (on_import, import) = (props.on_import.clone(), props.import);
        Callback::from(move |e: Event| {
            if let Some((input, _)) = input_files(&e) {
                match input.value().trim().parse::<usize>() {
                    Ok(size) if SIZE_RANGE.contains(&size) => {
                        on_import.emit(ImportOptions { size, ..import })
                    }
                    _ => input.set_value(&import.size.to_string()),
                }
            }
        })
    };
    let on_gray = {
        let (on_import, import) = (props.on_import.clone(), props.import);
        Callback::from(move |_: Event| {
            on_import.emit(ImportOptions {
                gray: !import.gray,
                ..import
            })
        })
    };
    html! {
        <>
        <details class="panel" open=true>
            <summary>{ "Load your own pictures: a folder with one folder per class" }</summary>
            <p class="muted">{ "Pick a folder whose folders are the classes (cat/, dog/, …), or a .zip of one; train/ and test/ folders at the top split it, else a fifth of each class is held out for testing. PNG, JPEG, WebP, GIF and BMP are decoded here, in a background worker, and never uploaded; other files are skipped and listed." }</p>
            <label>{ "Size (pixels a side, 8-256): " }
                <input type="number" min={SIZE_RANGE.start().to_string()} max={SIZE_RANGE.end().to_string()} step="1"
                    value={props.import.size.to_string()} onchange={on_size} data-testid="import-size" />
            </label>
            <label class="check"><input type="checkbox" checked={props.import.gray} onchange={on_gray} data-testid="import-gray" />{ "Gray (one channel)" }</label>
            <label class="file-pick">{ "Folder: " }
                <input type="file" webkitdirectory=true onchange={on_pictures.clone()} data-testid="dataset-folder-input" />
            </label>
            <label class="file-pick">{ "Or a .zip: " }
                <input type="file" accept=".zip,application/zip" multiple=true onchange={on_pictures} data-testid="dataset-zip-input" />
            </label>
            <div class="drop-zone" data-testid="dataset-drop-zone" role="region" aria-label="Drop a folder or a .zip of pictures here"
                ondragover={Callback::from(|e: DragEvent| e.prevent_default())} ondrop={on_drop}>
                <p>{ "Or drop the folder (or the .zip) here." }</p>
            </div>
        </details>
        <details class="panel">
            <summary>{ "Load CIFAR-10 or CIFAR-100 (binary version) from your computer" }</summary>
            <p class="muted">{ "Pick the .bin files (with batches.meta.txt or fine_label_names.txt for the class names), the folder they came in, or the .tar.gz as downloaded. They are read in this page and never uploaded." }</p>
            <label class="file-pick">{ "Files or the .tar.gz: " }
                <input type="file" multiple=true accept=".bin,.txt,.gz,.tgz,.tar" onchange={on_cifar.clone()} data-testid="dataset-cifar-input" />
            </label>
            <label class="file-pick">{ "Or the folder: " }
                <input type="file" webkitdirectory=true onchange={on_cifar} data-testid="dataset-cifar-folder-input" />
            </label>
        </details>
        <details class="panel">
            <summary>{ "Load another IDX dataset (MNIST, KMNIST, …) from your computer" }</summary>
            <p class="muted">{ "Pick the four files (train and test, images and labels; .gz or not). They are read in this page and never uploaded." }</p>
            <label>{ "Class names, or the number of classes: " }
                <input type="text" value={(*classes).clone()} oninput={on_classes} data-testid="dataset-classes" />
            </label>
            <label class="file-pick">{ "Files: " }
                <input type="file" multiple=true onchange={on_change} data-testid="dataset-files" />
            </label>
        </details>
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cifar_files_are_recognised_and_gaps_named() {
        let ten = names(&[
            "cifar-10-batches-bin/readme.html",
            "cifar-10-batches-bin/data_batch_1.bin",
            "cifar-10-batches-bin/data_batch_2.bin",
            "cifar-10-batches-bin/data_batch_3.bin",
            "cifar-10-batches-bin/data_batch_4.bin",
            "cifar-10-batches-bin/data_batch_5.bin",
            "cifar-10-batches-bin/test_batch.bin",
            "cifar-10-batches-bin/batches.meta.txt",
        ]);
        assert_eq!(cifar_files(&ten).unwrap(), vec![1, 2, 3, 4, 5, 6, 7]);
        let err = cifar_files(&ten[..5]).unwrap_err();
        assert!(err.contains("data_batch_5.bin, test_batch.bin"), "{err}");
        assert_eq!(
            cifar_files(&names(&["notes.txt", "cifar-100-binary.tar.gz"])).unwrap(),
            vec![1]
        );
        assert_eq!(
            cifar_files(&names(&["train.bin", "test.bin"])).unwrap(),
            vec![0, 1]
        );
        assert!(
            cifar_files(&names(&["cat.png"]))
                .unwrap_err()
                .contains("not CIFAR")
        );
    }
}
