//! The Predict tab: the user's own images through every model.

use yew::prelude::*;

use super::ctx::CtxProps;
use crate::components::predict_tab::PredictTab;
use crate::state::{Action, Pin};
use atelier_core::protocol::ToWorker;

/// The Predict tab.
#[function_component(PredictContainer)]
pub fn predict_container(props: &CtxProps) -> Html {
    let ctx = &props.ctx;
    let summary = ctx.state.summary().cloned();
    let on_predict = {
        let (worker, summary) = (ctx.worker.clone(), summary.clone());
        Callback::from(move |(label, pixels): (String, Vec<u8>)| {
            if let Some(summary) = &summary {
                let plane = (summary.rows * summary.cols).max(1);
                worker.send(&ToWorker::Predict {
                    label,
                    // The gray steps give one plane; the colour pipeline three.
                    channels: pixels.len() / plane,
                    rows: summary.rows,
                    cols: summary.cols,
                    pixels,
                });
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
