//! The root component: owns the state, the worker and the URL, draws the page's frame (header, messages,
//! tabs) and hands the open tab to its container.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

use super::bridge::{WorkerBridge, WorkerHandle, download_bytes};
use super::components::error_banner::ErrorBanner;
use super::components::header::Header;
use super::containers::compare::CompareContainer;
use super::containers::ctx::Ctx;
use super::containers::data::{DataContainer, load_request};
use super::containers::predict::PredictContainer;
use super::containers::train::TrainContainer;
use super::state::{Action, DatasetStatus, PendingBatches, State};
use super::url::{Params, Tab};
use atelier_core::protocol::{FromWorker, ToWorker};

fn location_search() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// How long training batches wait to be shown together ([`PendingBatches`]).
const BATCH_DELAY_MS: i32 = 250;

/// Hands the waiting batches to the reducer, if any.
fn show_batches(pending: &RefCell<PendingBatches>, dispatcher: &UseReducerDispatcher<State>) {
    let taken = pending.borrow_mut().take();
    if let Some(action) = taken {
        dispatcher.dispatch(action);
    }
}

/// Shows the waiting batches in [`BATCH_DELAY_MS`], or now where no timer can be set.
fn show_batches_later(
    pending: Rc<RefCell<PendingBatches>>,
    dispatcher: UseReducerDispatcher<State>,
) {
    let Some(window) = web_sys::window() else {
        return show_batches(&pending, &dispatcher);
    };
    let (p, d) = (pending.clone(), dispatcher.clone());
    let later = Closure::once_into_js(move || show_batches(&p, &d));
    if window
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            later.unchecked_ref(),
            BATCH_DELAY_MS,
        )
        .is_err()
    {
        show_batches(&pending, &dispatcher);
    }
}

/// Spawns the worker (again whenever the state's worker generation moves on, after a crash) and
/// routes its messages to the reducer; a ready worker is sent the backend and dataset the URL asks for.
#[hook]
fn use_worker(state: &UseReducerHandle<State>) -> WorkerHandle {
    let worker = (*use_memo((), |_| WorkerHandle::default())).clone();
    // The latest parameters, read when a (re)started worker asks for its first job.
    let latest_params = use_mut_ref(Params::default);
    *latest_params.borrow_mut() = state.params.clone();
    let dispatcher = state.dispatcher();
    let handle = worker.clone();
    use_effect_with(state.worker_generation, move |_| {
        let pending = Rc::new(RefCell::new(PendingBatches::default()));
        let on_message = {
            let (dispatcher, worker, pending) =
                (dispatcher.clone(), handle.clone(), pending.clone());
            Callback::from(move |(message, attachment): (FromWorker, JsValue)| {
                // Batches wait to be shown together; anything else shows them first, in order.
                if let FromWorker::TrainBatch(point) = message {
                    if pending.borrow_mut().push(point) {
                        show_batches_later(pending.clone(), dispatcher.clone());
                    }
                    return;
                }
                show_batches(&pending, &dispatcher);
                if let FromWorker::ModelFile { name } = &message
                    && let Err(e) = download_bytes(name, &attachment)
                {
                    dispatcher.dispatch(Action::ShowError(format!(
                        "The download of {name} failed: {e}"
                    )));
                }
                if message == FromWorker::Ready {
                    let params = latest_params.borrow().clone();
                    worker.send(&ToWorker::InitBackend {
                        preference: params.backend,
                        workers: params.train.workers,
                    });
                    worker.send(&ToWorker::LoadDataset(load_request(&params)));
                    dispatcher.dispatch(Action::LoadStarted);
                }
                dispatcher.dispatch(Action::FromWorker(message));
            })
        };
        let on_failure = {
            let dispatcher = dispatcher.clone();
            Callback::from(move |message: String| {
                show_batches(&pending, &dispatcher);
                dispatcher.dispatch(Action::WorkerFailed(message))
            })
        };
        match WorkerBridge::spawn(on_message, on_failure) {
            Ok(spawned) => handle.set(Some(spawned)),
            Err(message) => dispatcher.dispatch(Action::WorkerFailed(message)),
        }
        move || handle.set(None)
    });
    worker
}

/// `autorun=1`: starts the run in the URL once the data and the backend are ready, once per page load.
#[hook]
fn use_autorun(state: &UseReducerHandle<State>, worker: &WorkerHandle) {
    let ready = state.summary().is_some() && state.backend.is_some() && state.worker_ready;
    let fire =
        ready && state.params.autorun && !state.autorun_fired && !state.run.status.is_active();
    let (worker, dispatcher, settings, lose) = (
        worker.clone(),
        state.dispatcher(),
        state.params.train.clone(),
        state.params.lose_device_after,
    );
    use_effect_with(fire, move |fire| {
        if *fire {
            dispatcher.dispatch(Action::AutorunFired);
            dispatcher.dispatch(Action::TrainRequested);
            worker.train(settings, lose);
        }
    });
}

/// Retry after a failed load: the same request again, or a reload when the worker itself failed.
fn on_retry(state: &UseReducerHandle<State>, worker: &WorkerHandle) -> Option<Callback<()>> {
    matches!(state.dataset, DatasetStatus::Failed(_)).then(|| {
        let (worker, dispatcher, params) =
            (worker.clone(), state.dispatcher(), state.params.clone());
        if state.worker_ready {
            Callback::from(move |_| {
                worker.send(&ToWorker::LoadDataset(load_request(&params)));
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
    })
}

/// The page.
#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| State::from_query(&location_search()));
    let worker = use_worker(&state);
    use_autorun(&state, &worker);
    super::report::use_report(&state, &worker);
    // Every change of the parameters is written to the URL, so the address bar can be shared.
    use_effect_with(state.params.clone(), |params| {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&params.to_query()));
        }
    });
    let ctx = Ctx::new(state.clone(), worker.clone());
    let on_dismiss_notice = ctx.action(Action::DismissNotice);
    let on_tab = ctx.action(Action::SetTab);
    let tab_body = match state.params.tab {
        Tab::Data => html! { <DataContainer ctx={ctx.clone()} /> },
        Tab::Train => html! { <TrainContainer ctx={ctx.clone()} /> },
        Tab::Predict => html! { <PredictContainer ctx={ctx.clone()} /> },
        Tab::Compare => html! { <CompareContainer ctx={ctx.clone()} /> },
    };
    html! {
        <>
            <Header backend={state.backend.clone()} status={state.dataset.clone()} />
            <ErrorBanner errors={state.errors.clone()} on_dismiss={ctx.action(Action::DismissError)}
                on_retry={on_retry(&state, &worker)} />
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
