//! Load another dataset in the IDX layout from files on this computer.

use wasm_bindgen::JsCast;
use web_sys::{File, HtmlInputElement};
use yew::prelude::*;

use atelier_core::source::{assign_idx_files, parse_class_names};

/// Files in the order train images, train labels, test images, test labels, with class names.
#[derive(Debug, Clone, PartialEq)]
pub struct PickedDataset {
    pub files: Vec<File>,
    pub names: [String; 4],
    pub class_names: Vec<String>,
}

/// Props of [`DatasetPicker`].
#[derive(Properties, PartialEq)]
pub struct DatasetPickerProps {
    /// The classes of the current dataset, as the starting text of the classes field.
    pub class_names: Vec<String>,
    pub on_pick: Callback<PickedDataset>,
    pub on_error: Callback<String>,
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
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            let files: Vec<File> = input
                .files()
                .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
                .unwrap_or_default();
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
                    names: order.map(|i| names[i].clone()),
                    class_names,
                }),
                Err(message) => on_error.emit(format!("These files cannot be loaded: {message}.")),
            }
            // Let the same files be picked again after a fix.
            input.set_value("");
        })
    };
    html! {
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
    }
}
