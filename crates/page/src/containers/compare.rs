//! The Compare tab: every model side by side, and the galleries and Grad-CAM that open over it.

use yew::prelude::*;

use super::ctx::CtxProps;
use super::overlays::{Overlays, on_model_cell};
use crate::bridge::download_bytes;
use crate::components::compare_tab::CompareTab;
use crate::state::{Action, ReportFormat};
use crate::url::Tab;

/// The Compare tab.
#[function_component(CompareContainer)]
pub fn compare_container(props: &CtxProps) -> Html {
    let ctx = &props.ctx;
    let on_open = {
        let dispatcher = ctx.dispatcher();
        Callback::from(move |id: String| {
            dispatcher.dispatch(Action::SelectModel(id));
            dispatcher.dispatch(Action::SetTab(Tab::Train));
        })
    };
    let on_save = {
        let dispatcher = ctx.dispatcher();
        Callback::from(move |(name, _mime, text): (String, String, String)| {
            let bytes = js_sys::Uint8Array::from(text.as_bytes());
            if let Err(e) = download_bytes(&name, &bytes.into()) {
                dispatcher.dispatch(Action::ShowError(format!("{name} could not be saved: {e}")));
            }
        })
    };
    let on_report = {
        let ctx = ctx.clone();
        Callback::from(move |format: ReportFormat| {
            crate::report::request(&ctx.state, &ctx.dispatcher(), &ctx.worker, format)
        })
    };
    let state = &ctx.state;
    html! {
        <>
            <CompareTab models={state.models.clone()} class_names={ctx.class_names()}
                {on_open} on_cell={on_model_cell(ctx)} {on_save} {on_report}
                report_status={state.report_status.clone()} writing={state.report.is_some()} pinned={state.pinned.len()} />
            <Overlays ctx={ctx.clone()} />
        </>
    }
}
