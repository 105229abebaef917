//! The Data tab: the dataset's progress while it loads, then the explorer; and picking another dataset.

use yew::prelude::*;

use super::ctx::CtxProps;
use crate::components::camera::{CAMERA_LABEL, CameraPanel};
use crate::components::data_tab::DataTab;
use crate::components::dataset_list::DatasetList;
use crate::components::dataset_picker::{DatasetPicker, PickedDataset};
use crate::components::download_progress::DownloadProgress;
use crate::containers::predict::predict_request;
use crate::state::{Action, DatasetStatus};
use crate::url::Params;
use atelier_core::dataset::Part;
use atelier_core::protocol::{DatasetOrigin, LoadDataset, ToWorker};
use atelier_core::source::DataSource;

/// Samples per class in the explorer grid.
const SAMPLES_PER_CLASS: usize = 10;

/// The load request the URL parameters describe.
pub fn load_request(params: &Params) -> LoadDataset {
    let source = DataSource::from_params(params.data.as_deref(), params.classes.as_deref());
    request(params, source.origin(), source.class_names)
}

/// A load request with the URL's split.
fn request(params: &Params, origin: DatasetOrigin, class_names: Vec<String>) -> LoadDataset {
    LoadDataset {
        origin,
        class_names,
        validation_per_mille: params.validation_per_mille(),
        split_seed: params.seed,
    }
}

/// The Data tab.
#[function_component(DataContainer)]
pub fn data_container(props: &CtxProps) -> Html {
    let ctx = &props.ctx;
    let state = &ctx.state;
    let on_pick = {
        let (ctx, params) = (ctx.clone(), state.params.clone());
        Callback::from(move |picked: PickedDataset| {
            let names = picked.names();
            let request = request(&params, picked.origin, picked.class_names);
            if ctx
                .worker
                .send_with_files(&ToWorker::LoadDataset(request), &picked.files)
            {
                ctx.dispatcher().dispatch(Action::FilesPicked(names));
                ctx.dispatcher().dispatch(Action::LoadStarted);
            }
        })
    };
    let on_open = {
        let ctx = ctx.clone();
        Callback::from(move |data: Option<String>| {
            let mut params = ctx.state.params.clone();
            params.data = data.clone();
            ctx.worker
                .send(&ToWorker::LoadDataset(load_request(&params)));
            ctx.dispatcher().dispatch(Action::OpenDataset(data));
            ctx.dispatcher().dispatch(Action::LoadStarted);
        })
    };
    let on_delete = {
        let worker = ctx.worker.clone();
        Callback::from(move |id: String| {
            worker.send(&ToWorker::DeleteDataset { id });
        })
    };
    let on_frames = {
        let ctx = ctx.clone();
        Callback::from(
            move |(class_names, labels, pixels): (Vec<String>, Vec<u8>, Vec<u8>)| {
                let params = &ctx.state.params;
                let origin = DatasetOrigin::Captured {
                    class_names: class_names.clone(),
                    labels,
                    pixels,
                    options: params.import,
                };
                ctx.worker
                    .send(&ToWorker::LoadDataset(request(params, origin, class_names)));
                ctx.dispatcher()
                    .dispatch(Action::FilesPicked(vec!["camera frames".into()]));
                ctx.dispatcher().dispatch(Action::LoadStarted);
            },
        )
    };
    let summary = state.summary().cloned();
    let live_options = atelier_core::import::ImportOptions {
        size: summary.as_ref().map_or(28, |s| s.rows),
        gray: summary.as_ref().is_none_or(|s| s.channels == 1),
    };
    let on_live = {
        let (worker, summary) = (ctx.worker.clone(), summary.clone());
        Callback::from(move |pixels: Vec<u8>| {
            if let Some(s) = &summary {
                worker.send(&predict_request(s, CAMERA_LABEL.into(), pixels));
            }
        })
    };
    let on_resample = {
        let worker = ctx.worker.clone();
        Callback::from(move |seed: u64| {
            worker.send(&ToWorker::Resample {
                part: Part::Train,
                per_class: SAMPLES_PER_CLASS,
                seed,
            })
        })
    };
    let on_split = {
        let ctx = ctx.clone();
        Callback::from(move |(seed, val_percent): (u64, f64)| {
            ctx.dispatcher()
                .dispatch(Action::SetSplit { seed, val_percent });
            ctx.worker.send(&ToWorker::Resplit {
                validation_per_mille: (val_percent * 10.0).round() as u32,
                seed,
            });
        })
    };
    let body = match &state.dataset {
        DatasetStatus::Ready(summary) => html! {
            <DataTab summary={summary.clone()} samples={state.samples.clone()} enlarged={state.enlarged}
                {on_resample} on_enlarge={ctx.action(Action::Enlarge)} {on_split} />
        },
        DatasetStatus::Failed(_) => html! {
            <p class="panel">{ "The dataset could not be loaded. The message above says why and what to do." }</p>
        },
        DatasetStatus::Waiting => {
            html! { <p class="panel muted">{ "Starting the background worker…" }</p> }
        }
        DatasetStatus::Parsing if state.decoding.is_some() => {
            let (done, total, skipped) = state.decoding.unwrap_or_default();
            html! {
                <div class="panel">
                    <h2>{ "Decoding your pictures…" }</h2>
                    <progress max={total.max(1).to_string()} value={done.to_string()} data-testid="decode-progress" />
                    <p class="muted">{ format!("{} of {} pictures decoded and resized{}", atelier_core::study::thousands(done), atelier_core::study::thousands(total),
                        if skipped > 0 { format!(", {skipped} skipped so far") } else { String::new() }) }</p>
                </div>
            }
        }
        DatasetStatus::Downloading | DatasetStatus::Parsing => html! {
            <div class="panel">
                <h2>{ if state.dataset == DatasetStatus::Parsing { "Decompressing and parsing…" } else { "Downloading the dataset…" } }</h2>
                <DownloadProgress downloads={state.downloads.clone()} />
            </div>
        },
    };
    let class_names = state
        .summary()
        .map(|s| s.class_names.clone())
        .unwrap_or_else(|| load_request(&state.params).class_names);
    html! {
        <>
            { body }
            <CameraPanel options={state.params.import} {live_options} class_names={ctx.class_names()}
                can_predict={summary.is_some() && !state.models.is_empty()} predictions={state.predictions.clone()}
                on_dataset={on_frames} on_predict={on_live} on_error={ctx.action(Action::ShowError)} />
            <DatasetList saved={state.saved_datasets.clone()} current={state.params.data.clone()} {on_open} {on_delete} />
            <DatasetPicker {class_names} {on_pick} on_error={ctx.action(Action::ShowError)}
                import={state.params.import} on_import={ctx.action(Action::SetImport)} />
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_request_follows_the_url() {
        let request = load_request(&Params::parse("?seed=5&val=20&data=mnist&classes=3"));
        assert_eq!((request.split_seed, request.validation_per_mille), (5, 200));
        assert_eq!(request.class_names.len(), 3);
        match request.origin {
            DatasetOrigin::Urls { urls, colour } => {
                assert_eq!(urls[0], "mnist/train-images-idx3-ubyte.gz");
                assert!(!colour);
            }
            other => panic!("{other:?}"),
        }
    }
}
