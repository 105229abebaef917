//! Every model trained or loaded in this browser: pick one to see its evaluation, download, delete, load.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{File, HtmlInputElement};
use yew::prelude::*;

use atelier_core::protocol::ModelReport;

/// Props of [`ModelList`].
#[derive(Properties, PartialEq)]
pub struct ModelListProps {
    pub models: Vec<Rc<ModelReport>>,
    pub selected: Option<String>,
    pub on_select: Callback<String>,
    /// (model id, `burnpack` or `safetensors`).
    pub on_export: Callback<(String, String)>,
    pub on_delete: Callback<String>,
    pub on_import: Callback<File>,
}

/// The list.
#[function_component(ModelList)]
pub fn model_list(props: &ModelListProps) -> Html {
    let on_file = {
        let on_import = props.on_import.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                on_import.emit(file);
            }
            input.set_value("");
        })
    };
    html! {
        <section class="panel" aria-label="Trained models">
            <h2>{ "Models in this browser" }</h2>
            if props.models.is_empty() {
                <p class="muted">{ "None yet: train one above, or load a model file." }</p>
            } else {
                <div class="table-scroll">
                <table class="models" data-testid="model-list">
                    <thead><tr>
                        <th scope="col">{ "Model" }</th><th scope="col">{ "Test accuracy" }</th><th scope="col">{ "Backend" }</th>
                        <th scope="col">{ "Training" }</th><th scope="col">{ "Actions" }</th>
                    </tr></thead>
                    <tbody>
                        { for props.models.iter().rev().map(|m| {
                            let id = m.id.clone();
                            let selected = props.selected.as_deref() == Some(m.id.as_str());
                            let select = props.on_select.reform({ let id = id.clone(); move |_: MouseEvent| id.clone() });
                            let download = props.on_export.reform({ let id = id.clone(); move |_: MouseEvent| (id.clone(), "burnpack".to_string()) });
                            let safetensors = props.on_export.reform({ let id = id.clone(); move |_: MouseEvent| (id.clone(), "safetensors".to_string()) });
                            let delete = props.on_delete.reform({ let id = id.clone(); move |_: MouseEvent| id.clone() });
                            html! {
                                <tr data-model={m.model.clone()} data-id={m.id.clone()} class={classes!(selected.then_some("selected"))}>
                                    <td><button class="link" onclick={select} aria-pressed={selected.to_string()}>{ &m.name }</button></td>
                                    <td>{ format!("{:.4}", m.test_accuracy) }</td>
                                    <td>{ &m.backend }</td>
                                    <td>{ format!("{}, {:.0} s", crate::text::count_of(m.epochs.len(), "epoch", "epochs"), m.train_seconds) }</td>
                                    <td class="actions">
                                        <button onclick={download} data-testid="download-model" title="burn's record format; load it back here">{ "Download" }</button>
                                        <button onclick={safetensors} data-testid="export-safetensors" title="weights for PyTorch and other tools">{ "Safetensors" }</button>
                                        <button onclick={delete} data-testid="delete-model">{ "Delete" }</button>
                                    </td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
                </div>
            }
            <label class="file-pick">{ "Load a model file (.bpk from Atelier): " }
                <input type="file" accept=".bpk,application/octet-stream" onchange={on_file} data-testid="model-file-input" />
            </label>
        </section>
    }
}
