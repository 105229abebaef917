//! The Predict tab: the user's own images through every model.

use yew::prelude::*;

use super::ctx::CtxProps;
use crate::components::predict_tab::PredictTab;
use crate::state::{Action, Pin};
use atelier_core::protocol::{DatasetSummary, ToWorker};

/// Every model's answer for a preprocessed image of the dataset's size: one plane (gray, or the gray
/// steps on a colour dataset; the worker repeats it in each channel) or the dataset's channels.
pub fn predict_request(summary: &DatasetSummary, label: String, pixels: Vec<u8>) -> ToWorker {
    let plane = (summary.rows * summary.cols).max(1);
    ToWorker::Predict {
        label,
        channels: pixels.len() / plane,
        rows: summary.rows,
        cols: summary.cols,
        pixels,
    }
}

/// The Predict tab.
#[function_component(PredictContainer)]
pub fn predict_container(props: &CtxProps) -> Html {
    let ctx = &props.ctx;
    let summary = ctx.state.summary().cloned();
    let on_predict = {
        let (worker, summary) = (ctx.worker.clone(), summary.clone());
        Callback::from(move |(label, pixels): (String, Vec<u8>)| {
            if let Some(summary) = &summary {
                worker.send(&predict_request(summary, label, pixels));
            }
        })
    };
    html! {
        <PredictTab class_names={ctx.class_names()}
            channels={summary.as_ref().map_or(1, |s| s.channels)}
            rows={summary.as_ref().map_or(28, |s| s.rows)} cols={summary.as_ref().map_or(28, |s| s.cols)}
            models={ctx.state.models.clone()} ready={summary.is_some()} predictions={ctx.state.predictions.clone()}
            {on_predict} on_error={ctx.action(Action::ShowError)}
            pinned={ctx.state.predictions.as_ref().is_some_and(|p| ctx.state.is_pinned(&Pin::Prediction(p.clone())))}
            on_pin={ctx.action(|p| Action::TogglePin(Pin::Prediction(p)))} />
    }
}
