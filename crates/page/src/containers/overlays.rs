//! The views that open over the Train and Compare tabs: a gallery of test images (a confusion cell, the
//! mistakes, a sample) and the Grad-CAM explanation of one of them.

use yew::prelude::*;

use super::ctx::{Ctx, CtxProps};
use crate::components::explain_view::ExplainView;
use crate::components::gallery_view::GalleryView;
use crate::state::{Action, Gallery, Pin};
use atelier_core::protocol::{CONVOLUTIONAL_MODELS, ModelReport, ToWorker};

/// Images shown at most in a gallery.
pub const GALLERY_LIMIT: usize = 64;

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
pub use atelier_core::study::analysis::examples as cell_indices;

/// Opens a gallery of test images; their pixels are asked of the worker and fill it when they arrive.
pub fn open_gallery(ctx: &Ctx, title: String, indices: Vec<usize>, captions: Vec<String>) {
    ctx.worker.send(&ToWorker::TestImages {
        indices: indices.clone(),
    });
    ctx.dispatcher().dispatch(Action::OpenGallery(Gallery {
        title,
        indices,
        captions,
        images: None,
    }));
}

/// Opens the gallery of a model's confusion cell: (model id, true class, predicted class).
pub fn on_model_cell(ctx: &Ctx) -> Callback<(String, usize, usize)> {
    let ctx = ctx.clone();
    Callback::from(move |(id, truth, predicted): (String, usize, usize)| {
        let (Some(model), Some(summary)) = (
            ctx.state.models.iter().find(|m| m.id == id).cloned(),
            ctx.state.summary().cloned(),
        ) else {
            return;
        };
        ctx.dispatcher().dispatch(Action::SelectModel(id));
        let indices = cell_indices(
            &summary.test_labels,
            &model.predicted,
            truth,
            predicted,
            GALLERY_LIMIT,
        );
        let names = ctx.class_names();
        let name = |i: usize| crate::class_name(&names, i);
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
        open_gallery(&ctx, title, indices, captions);
    })
}

/// The model Grad-CAM explains: the selected one when it has convolutions, else the newest that has.
fn explainer(ctx: &Ctx) -> Option<String> {
    let convolutional = |m: &ModelReport| CONVOLUTIONAL_MODELS.contains(&m.model.as_str());
    ctx.selected()
        .filter(|m| convolutional(m))
        .or_else(|| {
            ctx.state
                .models
                .iter()
                .rev()
                .find(|m| convolutional(m))
                .cloned()
        })
        .map(|m| m.id.clone())
}

/// The gallery and the explanation, when open.
#[function_component(Overlays)]
pub fn overlays(props: &CtxProps) -> Html {
    let ctx = &props.ctx;
    let on_explain = {
        let (ctx, explainer) = (ctx.clone(), explainer(ctx));
        Callback::from(move |test_index: usize| {
            match explainer.clone() {
            Some(model_id) => ctx.worker.send(&ToWorker::Explain {
                model_id,
                test_index,
                class: None,
                layer: None,
            }),
            None => ctx.dispatcher().dispatch(Action::ShowError(
                "Grad-CAM needs a network with convolutions: train a CNN, ResNet or Reference CNN first.".into(),
            )),
        }
        })
    };
    let on_explain_class = {
        let (worker, explanation) = (ctx.worker.clone(), ctx.state.explanation.clone());
        Callback::from(move |(class, layer): (usize, usize)| {
            if let Some(e) = &explanation {
                worker.send(&ToWorker::Explain {
                    model_id: e.model_id.clone(),
                    test_index: e.test_index,
                    class: Some(class),
                    layer: Some(layer),
                });
            }
        })
    };
    let on_close_explanation = ctx.action(|_| Action::CloseExplanation);
    let on_close_gallery = ctx.action(|_| Action::CloseGallery);
    html! {
        <>
            if let Some(explanation) = &ctx.state.explanation {
                <ExplainView explanation={explanation.clone()} class_names={ctx.class_names()}
                    on_class={on_explain_class} on_close={on_close_explanation}
                    pinned={ctx.state.is_pinned(&Pin::Explanation(explanation.clone()))}
                    on_pin={{ let e = explanation.clone(); ctx.action(move |_| Action::TogglePin(Pin::Explanation(e.clone()))) }} />
            }
            if let Some(gallery) = &ctx.state.gallery {
                <GalleryView gallery={gallery.clone()} on_close={on_close_gallery} on_select={on_explain} />
            }
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
}
