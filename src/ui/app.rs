//! The root component: owns the state, the worker and the URL.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use yew::prelude::*;

use super::bridge::{WorkerBridge, download_bytes};
use super::components::compare_tab::CompareTab;
use super::components::data_tab::DataTab;
use super::components::dataset_picker::{DatasetPicker, PickedDataset};
use super::components::download_progress::DownloadProgress;
use super::components::error_banner::ErrorBanner;
use super::components::explain_view::ExplainView;
use super::components::gallery_view::GalleryView;
use super::components::header::Header;
use super::components::model_list::ModelList;
use super::components::predict_tab::PredictTab;
use super::components::train_tab::TrainTab;
use super::state::{Action, DatasetStatus, Gallery, State};
use super::url::{Params, Tab};
use crate::data::dataset::Part;
use crate::data::source::DataSource;
use crate::protocol::{
    CONVOLUTIONAL_MODELS, DatasetOrigin, FromWorker, LoadDataset, ModelReport, ToWorker,
};

/// Images shown at most in a confusion-cell gallery.
const GALLERY_LIMIT: usize = 64;

/// Up to `limit` test positions spread over the first `n` (a stride coprime with most sizes).
pub fn test_sample(n: usize, limit: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let mut picked: Vec<usize> = (0..limit.min(n)).map(|k| (k * 7919 + 13) % n).collect();
    picked.sort_unstable();
    picked.dedup();
    picked
}

/// Test positions where the truth is `truth` and the model predicted `predicted`, at most `limit`.
pub fn cell_indices(
    labels: &[u8],
    predictions: &[u8],
    truth: usize,
    predicted: usize,
    limit: usize,
) -> Vec<usize> {
    labels
        .iter()
        .zip(predictions)
        .enumerate()
        .filter(|(_, (t, p))| **t as usize == truth && **p as usize == predicted)
        .map(|(i, _)| i)
        .take(limit)
        .collect()
}

/// Samples per class in the explorer grid.
const SAMPLES_PER_CLASS: usize = 10;

/// The load request the URL parameters describe.
pub fn load_request(params: &Params) -> LoadDataset {
    let source = DataSource::from_params(params.data.as_deref(), params.classes.as_deref());
    LoadDataset {
        origin: DatasetOrigin::Urls {
            urls: source.urls(),
        },
        class_names: source.class_names,
        validation_per_mille: params.validation_per_mille(),
        split_seed: params.seed,
    }
}

fn location_search() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

type SharedBridge = Rc<RefCell<Option<WorkerBridge>>>;

/// Shows a gallery and asks the worker for its images.
/// Opens a gallery of test images; their pixels are asked of the worker and fill it when they arrive.
fn open_gallery(
    bridge: &SharedBridge,
    dispatcher: &UseReducerDispatcher<State>,
    title: String,
    indices: Vec<usize>,
    captions: Vec<String>,
) {
    send(
        bridge,
        &ToWorker::TestImages {
            indices: indices.clone(),
        },
    );
    dispatcher.dispatch(Action::OpenGallery(Gallery {
        title,
        indices,
        captions,
        images: None,
    }));
}

fn send(bridge: &SharedBridge, message: &ToWorker) {
    if let Some(b) = bridge.borrow().as_ref() {
        b.send(message);
    }
}

/// Starts a run; with `?lose_device_after=N` the worker first arms the lost-device test.
fn send_train(
    bridge: &SharedBridge,
    settings: crate::protocol::TrainSettings,
    lose_device_after: Option<usize>,
) {
    if let Some(batches) = lose_device_after {
        send(bridge, &ToWorker::LoseDeviceAfter { batches });
    }
    send(bridge, &ToWorker::Train { settings });
}

/// The page.
#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| State::from_query(&location_search()));
    let bridge: SharedBridge = use_mut_ref(|| None);
    // The latest parameters, read when a (re)started worker asks for its first job.
    let latest_params = use_mut_ref(Params::default);
    *latest_params.borrow_mut() = state.params.clone();

    {
        let dispatcher = state.dispatcher();
        let bridge = bridge.clone();
        use_effect_with(state.worker_generation, move |_| {
            let on_message = {
                let dispatcher = dispatcher.clone();
                let bridge = bridge.clone();
                Callback::from(move |(message, attachment): (FromWorker, JsValue)| {
                    if let FromWorker::ModelFile { name } = &message
                        && let Err(e) = download_bytes(name, &attachment)
                    {
                        dispatcher.dispatch(Action::ShowError(format!(
                            "The download of {name} failed: {e}"
                        )));
                    }
                    if message == FromWorker::Ready {
                        let params = latest_params.borrow().clone();
                        send(
                            &bridge,
                            &ToWorker::InitBackend {
                                preference: params.backend,
                            },
                        );
                        send(&bridge, &ToWorker::LoadDataset(load_request(&params)));
                        dispatcher.dispatch(Action::LoadStarted);
                    }
                    dispatcher.dispatch(Action::FromWorker(message));
                })
            };
            let on_failure = {
                let dispatcher = dispatcher.clone();
                Callback::from(move |message: String| {
                    dispatcher.dispatch(Action::WorkerFailed(message))
                })
            };
            match WorkerBridge::spawn(on_message, on_failure) {
                Ok(spawned) => *bridge.borrow_mut() = Some(spawned),
                Err(message) => dispatcher.dispatch(Action::WorkerFailed(message)),
            }
            move || {
                bridge.borrow_mut().take();
            }
        });
    }

    // Every change of the parameters is written to the URL, so the address bar can be shared.
    use_effect_with(state.params.clone(), |params| {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&params.to_query()));
        }
    });

    let on_dismiss = {
        let dispatcher = state.dispatcher();
        Callback::from(move |i: usize| dispatcher.dispatch(Action::DismissError(i)))
    };
    let on_error = {
        let dispatcher = state.dispatcher();
        Callback::from(move |m: String| dispatcher.dispatch(Action::ShowError(m)))
    };
    let on_retry = matches!(state.dataset, DatasetStatus::Failed(_)).then(|| {
        let (bridge, dispatcher, params) =
            (bridge.clone(), state.dispatcher(), state.params.clone());
        if state.worker_ready {
            Callback::from(move |_| {
                send(&bridge, &ToWorker::LoadDataset(load_request(&params)));
                dispatcher.dispatch(Action::LoadStarted);
            })
        } else {
            // The worker itself failed: reloading is the only way to get a new one.
            Callback::from(|_| {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            })
        }
    });
    let on_pick = {
        let (bridge, dispatcher, params) =
            (bridge.clone(), state.dispatcher(), state.params.clone());
        Callback::from(move |picked: PickedDataset| {
            let request = LoadDataset {
                origin: DatasetOrigin::PickedFiles {
                    names: picked.names.clone(),
                },
                class_names: picked.class_names,
                validation_per_mille: params.validation_per_mille(),
                split_seed: params.seed,
            };
            if let Some(b) = bridge.borrow().as_ref() {
                b.send_with_files(&ToWorker::LoadDataset(request), &picked.files);
                dispatcher.dispatch(Action::LoadStarted);
            }
        })
    };
    let on_resample = {
        let bridge = bridge.clone();
        Callback::from(move |seed: u64| {
            send(
                &bridge,
                &ToWorker::Resample {
                    part: Part::Train,
                    per_class: SAMPLES_PER_CLASS,
                    seed,
                },
            )
        })
    };
    let on_enlarge = {
        let dispatcher = state.dispatcher();
        Callback::from(move |which| dispatcher.dispatch(Action::Enlarge(which)))
    };
    let on_split = {
        let (bridge, dispatcher) = (bridge.clone(), state.dispatcher());
        Callback::from(move |(seed, val_percent): (u64, f64)| {
            dispatcher.dispatch(Action::SetSplit { seed, val_percent });
            let validation_per_mille = (val_percent * 10.0).round() as u32;
            send(
                &bridge,
                &ToWorker::Resplit {
                    validation_per_mille,
                    seed,
                },
            );
        })
    };

    // `autorun=1`: start the run in the URL once the data and the backend are ready, once per page load.
    {
        let ready = state.summary().is_some() && state.backend.is_some() && state.worker_ready;
        let fire =
            ready && state.params.autorun && !state.autorun_fired && !state.run.status.is_active();
        let (bridge, dispatcher, settings, lose) = (
            bridge.clone(),
            state.dispatcher(),
            state.params.train.clone(),
            state.params.lose_device_after,
        );
        use_effect_with(fire, move |fire| {
            if *fire {
                dispatcher.dispatch(Action::AutorunFired);
                dispatcher.dispatch(Action::TrainRequested);
                send_train(&bridge, settings, lose);
            }
        });
    }
    let on_tab = {
        let dispatcher = state.dispatcher();
        Callback::from(move |tab: Tab| dispatcher.dispatch(Action::SetTab(tab)))
    };
    let on_settings = {
        let dispatcher = state.dispatcher();
        Callback::from(move |settings| dispatcher.dispatch(Action::SetTrain(Box::new(settings))))
    };
    let on_train = {
        let (bridge, dispatcher, settings) = (
            bridge.clone(),
            state.dispatcher(),
            state.params.train.clone(),
        );
        Callback::from(move |_| {
            dispatcher.dispatch(Action::TrainRequested);
            send_train(&bridge, settings.clone(), None);
        })
    };
    let on_stop = {
        let bridge = bridge.clone();
        Callback::from(move |_| send(&bridge, &ToWorker::Stop))
    };
    let selected: Option<Rc<ModelReport>> = state
        .selected
        .as_ref()
        .and_then(|id| state.models.iter().find(|m| &m.id == id).cloned());
    let class_names_shown = state
        .summary()
        .map(|s| s.class_names.clone())
        .unwrap_or_default();
    let on_model_cell = {
        let (bridge, dispatcher) = (bridge.clone(), state.dispatcher());
        let (models, summary, names) = (
            state.models.clone(),
            state.summary().cloned(),
            class_names_shown.clone(),
        );
        Callback::from(move |(id, truth, predicted): (String, usize, usize)| {
            let (Some(model), Some(summary)) = (models.iter().find(|m| m.id == id), &summary)
            else {
                return;
            };
            dispatcher.dispatch(Action::SelectModel(id));
            let indices = cell_indices(
                &summary.test_labels,
                &model.predicted,
                truth,
                predicted,
                GALLERY_LIMIT,
            );
            let name = |i: usize| super::class_name(&names, i);
            let title = format!(
                "{}: true {}, predicted {} ({} shown)",
                model.name,
                name(truth),
                name(predicted),
                indices.len()
            );
            let captions = indices
                .iter()
                .map(|_| format!("{} as {}", name(truth), name(predicted)))
                .collect();

            open_gallery(&bridge, &dispatcher, title, indices, captions);
        })
    };
    let on_cell = {
        let (on_model_cell, selected) = (on_model_cell.clone(), state.selected.clone());
        Callback::from(move |(truth, predicted): (usize, usize)| {
            if let Some(id) = selected.clone() {
                on_model_cell.emit((id, truth, predicted));
            }
        })
    };
    let on_mistakes = {
        let (bridge, dispatcher, selected, names) = (
            bridge.clone(),
            state.dispatcher(),
            selected.clone(),
            class_names_shown.clone(),
        );
        Callback::from(move |_| {
            let Some(model) = &selected else { return };
            let name = |i: u8| super::class_name(&names, i as usize);
            let indices: Vec<usize> = model.mistakes.iter().map(|m| m.index).collect();
            let captions = model
                .mistakes
                .iter()
                .map(|m| {
                    format!(
                        "{} taken for {} ({:.0}% sure)",
                        name(m.truth),
                        name(m.predicted),
                        m.confidence * 100.0
                    )
                })
                .collect();

            let title = format!("{}: the most confident mistakes", model.name);
            open_gallery(&bridge, &dispatcher, title, indices, captions);
        })
    };
    let on_browse = {
        let (bridge, dispatcher, selected, summary, names) = (
            bridge.clone(),
            state.dispatcher(),
            selected.clone(),
            state.summary().cloned(),
            class_names_shown.clone(),
        );
        Callback::from(move |_| {
            let (Some(model), Some(summary)) = (&selected, &summary) else {
                return;
            };
            let name = |i: u8| super::class_name(&names, i as usize);
            let indices = test_sample(model.predicted.len(), GALLERY_LIMIT);
            let captions = indices
                .iter()
                .map(
                    |&i| match (summary.test_labels.get(i), model.predicted.get(i)) {
                        (Some(&t), Some(&p)) if t == p => format!("{}, predicted right", name(t)),
                        (Some(&t), Some(&p)) => format!("{}, predicted {}", name(t), name(p)),
                        _ => String::new(),
                    },
                )
                .collect();
            let title = format!("{}: test images", model.name);
            open_gallery(&bridge, &dispatcher, title, indices, captions);
        })
    };
    let on_explain = {
        // The selected model when it has convolutions, else the newest one that has.
        let convolutional = |m: &Rc<ModelReport>| CONVOLUTIONAL_MODELS.contains(&m.model.as_str());
        let explainer = selected
            .clone()
            .filter(convolutional)
            .or_else(|| {
                state
                    .models
                    .iter()
                    .rev()
                    .find(|m| convolutional(m))
                    .cloned()
            })
            .map(|m| m.id.clone());
        let (bridge, dispatcher) = (bridge.clone(), state.dispatcher());
        Callback::from(move |test_index: usize| {
            if explainer.is_none() {
                dispatcher.dispatch(Action::ShowError(
                    "Grad-CAM needs a network with convolutions: train a CNN, ResNet or Reference CNN first.".into(),
                ));
            }
            if let Some(model_id) = explainer.clone() {
                send(
                    &bridge,
                    &ToWorker::Explain {
                        model_id,
                        test_index,
                        class: None,
                        layer: None,
                    },
                );
            }
        })
    };
    let on_explain_class = {
        let (bridge, explanation) = (bridge.clone(), state.explanation.clone());
        Callback::from(move |(class, layer): (usize, usize)| {
            if let Some(e) = &explanation {
                send(
                    &bridge,
                    &ToWorker::Explain {
                        model_id: e.model_id.clone(),
                        test_index: e.test_index,
                        class: Some(class),
                        layer: Some(layer),
                    },
                );
            }
        })
    };
    let on_close_explanation = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::CloseExplanation))
    };
    let on_close_gallery = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::CloseGallery))
    };
    let on_select = {
        let dispatcher = state.dispatcher();
        Callback::from(move |id| dispatcher.dispatch(Action::SelectModel(id)))
    };
    let on_export = {
        let bridge = bridge.clone();
        Callback::from(move |(id, format): (String, String)| {
            send(&bridge, &ToWorker::ExportModel { id, format })
        })
    };
    let on_delete = {
        let bridge = bridge.clone();
        Callback::from(move |id| send(&bridge, &ToWorker::DeleteModel { id }))
    };
    let on_import = {
        let bridge = bridge.clone();
        Callback::from(move |file: web_sys::File| {
            if let Some(b) = bridge.borrow().as_ref() {
                b.send_with_attachment(&ToWorker::ImportModel { name: file.name() }, &file);
            }
        })
    };
    let on_open_model = {
        let dispatcher = state.dispatcher();
        Callback::from(move |id: String| {
            dispatcher.dispatch(Action::SelectModel(id));
            dispatcher.dispatch(Action::SetTab(Tab::Train));
        })
    };
    let on_save_text = {
        let dispatcher = state.dispatcher();
        Callback::from(move |(name, _mime, text): (String, String, String)| {
            let bytes = js_sys::Uint8Array::from(text.as_bytes());
            if let Err(e) = download_bytes(&name, &bytes.into()) {
                dispatcher.dispatch(Action::ShowError(format!("{name} could not be saved: {e}")));
            }
        })
    };
    let on_predict = {
        let (bridge, summary) = (bridge.clone(), state.summary().cloned());
        Callback::from(move |(label, pixels): (String, Vec<u8>)| {
            if let Some(summary) = &summary {
                send(
                    &bridge,
                    &ToWorker::Predict {
                        label,
                        rows: summary.rows,
                        cols: summary.cols,
                        pixels,
                    },
                );
            }
        })
    };
    let on_predict_error = {
        let dispatcher = state.dispatcher();
        Callback::from(move |message: String| dispatcher.dispatch(Action::ShowError(message)))
    };
    let on_dismiss_notice = {
        let dispatcher = state.dispatcher();
        Callback::from(move |i: usize| dispatcher.dispatch(Action::DismissNotice(i)))
    };

    let data_body = match &state.dataset {
        DatasetStatus::Ready(summary) => html! {
            <DataTab summary={summary.clone()} samples={state.samples.clone()} enlarged={state.enlarged}
                {on_resample} {on_enlarge} {on_split} />
        },
        DatasetStatus::Failed(_) => html! {
            <p class="panel">{ "The dataset could not be loaded. The message above says why and what to do." }</p>
        },
        DatasetStatus::Waiting => {
            html! { <p class="panel muted">{ "Starting the background worker…" }</p> }
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
    // The explanation and the gallery open over whichever tab asked for them.
    let overlays = html! {
        <>
            if let Some(explanation) = &state.explanation {
                <ExplainView explanation={explanation.clone()} class_names={class_names_shown.clone()}
                    on_class={on_explain_class} on_close={on_close_explanation} />
            }
            if let Some(gallery) = &state.gallery {
                <GalleryView gallery={gallery.clone()} on_close={on_close_gallery} on_select={on_explain} />
            }
        </>
    };
    let tab_body = match state.params.tab {
        Tab::Data => html! {
            <>
                { data_body }
                <DatasetPicker {class_names} {on_pick} {on_error} />
            </>
        },
        Tab::Train => html! {
            <>
                <TrainTab settings={state.params.train.clone()} run={state.run.clone()} models={state.models.clone()}
                    selected={selected.clone()} class_names={class_names_shown.clone()} dataset_ready={state.summary().is_some()}
                    {on_settings} {on_train} {on_stop} {on_cell} {on_mistakes} {on_browse} />
                { overlays }
                <ModelList models={state.models.clone()} selected={state.selected.clone()} {on_select} {on_export} {on_delete} {on_import} />
            </>
        },
        Tab::Predict => html! {
            <PredictTab class_names={class_names_shown.clone()}
                rows={state.summary().map_or(28, |s| s.rows)} cols={state.summary().map_or(28, |s| s.cols)}
                models={state.models.clone()} predictions={state.predictions.clone()}
                on_predict={on_predict} on_error={on_predict_error} />
        },
        Tab::Compare => html! {
            <>
                <CompareTab models={state.models.clone()} class_names={class_names_shown.clone()}
                    on_open={on_open_model} on_cell={on_model_cell} on_save={on_save_text} />
                { overlays }
            </>
        },
    };
    html! {
        <>
            <Header backend={state.backend.clone()} status={state.dataset.clone()} />
            <ErrorBanner errors={state.errors.clone()} {on_dismiss} {on_retry} />
            if !state.notices.is_empty() {
                <div class="notices" role="status" data-testid="notice">
                    { for state.notices.iter().enumerate().map(|(i, n)| html! {
                        <p>{ n }<button class="link" onclick={on_dismiss_notice.reform(move |_: MouseEvent| i)}>{ "Dismiss" }</button></p>
                    }) }
                </div>
            }
            <nav class="tabs" role="tablist" aria-label="Views">
                { for Tab::ALL.iter().map(|&tab| {
                    let active = state.params.tab == tab;
                    html! {
                        <button role="tab" aria-selected={active.to_string()} class={classes!("tab", active.then_some("active"))}
                            data-testid={format!("tab-{}", tab.as_str())} onclick={on_tab.reform(move |_: MouseEvent| tab)}>
                            { tab.label() }
                        </button>
                    }
                }) }
            </nav>
            <main>
                { tab_body }
            </main>
            <footer class="muted">{ "Everything runs in this page: no image or model leaves your computer." }</footer>
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_samples_are_spread_and_in_range() {
        let s = test_sample(10_000, 64);
        assert_eq!(s.len(), 64);
        assert!(s.iter().all(|&i| i < 10_000));
        assert!(s.last().unwrap() - s[0] > 5_000, "spread over the set");
        assert_eq!(test_sample(5, 64).len(), 5);
        assert!(test_sample(0, 64).is_empty());
    }

    #[test]
    fn cell_indices_match_truth_and_prediction() {
        let labels = [0, 1, 1, 2, 1];
        let predicted = [0, 2, 1, 2, 2];
        assert_eq!(cell_indices(&labels, &predicted, 1, 2, 10), vec![1, 4]);
        assert_eq!(cell_indices(&labels, &predicted, 1, 2, 1), vec![1]);
        assert!(cell_indices(&labels, &predicted, 0, 1, 10).is_empty());
    }

    #[test]
    fn load_request_follows_the_url() {
        let request = load_request(&Params::parse("?seed=5&val=20&data=mnist&classes=3"));
        assert_eq!((request.split_seed, request.validation_per_mille), (5, 200));
        assert_eq!(request.class_names.len(), 3);
        match request.origin {
            DatasetOrigin::Urls { urls } => assert_eq!(urls[0], "mnist/train-images-idx3-ubyte.gz"),
            other => panic!("{other:?}"),
        }
    }
}
