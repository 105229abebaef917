//! The Train tab: the settings form and the run, the selected model's evaluation, the model list, and
//! the galleries and Grad-CAM that open over them.

use yew::prelude::*;

use super::ctx::CtxProps;
use super::overlays::{GALLERY_LIMIT, Overlays, on_model_cell, open_gallery, test_sample};
use crate::components::model_list::ModelList;
use crate::components::train_tab::TrainTab;
use crate::state::Action;
use atelier_core::protocol::ToWorker;

/// The Train tab.
#[function_component(TrainContainer)]
pub fn train_container(props: &CtxProps) -> Html {
    let ctx = &props.ctx;
    let state = &ctx.state;
    let selected = ctx.selected();
    let on_train = {
        let (ctx, settings) = (ctx.clone(), state.params.train.clone());
        Callback::from(move |_| {
            ctx.dispatcher().dispatch(Action::TrainRequested);
            ctx.worker.train(settings.clone(), None);
        })
    };
    let on_stop = {
        let worker = ctx.worker.clone();
        Callback::from(move |_| worker.send(&ToWorker::Stop))
    };
    let on_cell = {
        let (on_model_cell, selected) = (on_model_cell(ctx), state.selected.clone());
        Callback::from(move |(truth, predicted): (usize, usize)| {
            if let Some(id) = selected.clone() {
                on_model_cell.emit((id, truth, predicted));
            }
        })
    };
    let on_mistakes = {
        let (ctx, selected) = (ctx.clone(), selected.clone());
        Callback::from(move |_| {
            let Some(model) = &selected else { return };
            let names = ctx.class_names();
            let name = |i: u8| crate::class_name(&names, i as usize);
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
            open_gallery(&ctx, title, indices, captions);
        })
    };
    let on_browse = {
        let (ctx, selected) = (ctx.clone(), selected.clone());
        Callback::from(move |_| {
            let (Some(model), Some(summary)) = (&selected, ctx.state.summary()) else {
                return;
            };
            let names = ctx.class_names();
            let name = |i: u8| crate::class_name(&names, i as usize);
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
            open_gallery(&ctx, title, indices, captions);
        })
    };
    let on_export = {
        let worker = ctx.worker.clone();
        Callback::from(move |(id, format): (String, String)| {
            worker.send(&ToWorker::ExportModel { id, format })
        })
    };
    let on_delete = {
        let worker = ctx.worker.clone();
        Callback::from(move |id| worker.send(&ToWorker::DeleteModel { id }))
    };
    let on_import = {
        let worker = ctx.worker.clone();
        Callback::from(move |file: web_sys::File| {
            worker.send_with_attachment(&ToWorker::ImportModel { name: file.name() }, &file);
        })
    };
    html! {
        <>
            <TrainTab settings={state.params.train.clone()} run={state.run.clone()} models={state.models.clone()}
                {selected} class_names={ctx.class_names()} dataset_ready={state.summary().is_some()}
                on_settings={ctx.action(|settings| Action::SetTrain(Box::new(settings)))}
                {on_train} {on_stop} {on_cell} {on_mistakes} {on_browse} />
            <Overlays ctx={ctx.clone()} />
            <ModelList models={state.models.clone()} selected={state.selected.clone()}
                on_select={ctx.action(Action::SelectModel)} {on_export} {on_delete} {on_import} />
        </>
    }
}
