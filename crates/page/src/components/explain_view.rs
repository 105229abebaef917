//! Grad-CAM: the original image, the heatmap and the overlay side by side, with the class explained and an
//! opacity slider.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::gradcam_panels::GradCamPanels;
use atelier_core::protocol::Explanation;

/// Props of [`ExplainView`].
#[derive(Properties, PartialEq)]
pub struct ExplainViewProps {
    pub explanation: Rc<Explanation>,
    pub class_names: Vec<String>,
    /// Explain another (class, layer).
    pub on_class: Callback<(usize, usize)>,
    pub on_close: Callback<()>,
    /// The image is pinned to the report.
    pub pinned: bool,
    /// Pin it (or unpin it).
    pub on_pin: Callback<()>,
}

/// The three panels.
#[function_component(ExplainView)]
pub fn explain_view(props: &ExplainViewProps) -> Html {
    let e = &props.explanation;
    let name = |i: usize| crate::class_name(&props.class_names, i);
    let choose = |is_layer: bool| {
        let (on_class, class, layer) = (props.on_class.clone(), e.class, e.layer);
        Callback::from(move |ev: Event| {
            if let Some(select) = ev
                .target()
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                && let Ok(value) = select.value().parse::<usize>()
            {
                on_class.emit(if is_layer {
                    (class, value)
                } else {
                    (value, layer)
                });
            }
        })
    };
    let predicted = crate::components::explain_view::top_class(&e.probabilities);
    html! {
        <section class="panel explain" data-testid="explain" aria-label="Grad-CAM explanation">
            <h2>{ format!("Why {} said {}: test image #{} (truly {})", e.model_name, name(predicted), e.test_index, name(e.truth as usize)) }</h2>
            <label>{ "Explain the class " }
                <select data-testid="gradcam-class" onchange={choose(false)}>
                    { for e.probabilities.iter().enumerate().map(|(i, p)| html! {
                        <option value={i.to_string()} selected={i == e.class}>{ format!("{} ({:.1}%)", name(i), p * 100.0) }</option>
                    }) }
                </select>
            </label>
            if e.layers.len() > 1 {
                <label>{ " at the layer " }
                    <select data-testid="gradcam-layer" onchange={choose(true)}>
                        { for e.layers.iter().enumerate().map(|(i, l)| html! {
                            <option value={i.to_string()} selected={i == e.layer}>{ if i + 1 == e.layers.len() { format!("{l} (last)") } else { l.clone() } }</option>
                        }) }
                    </select>
                </label>
            }
            <GradCamPanels image={Rc::new(e.image.clone())} heatmap={Rc::new(e.heatmap.clone())} rows={e.rows} cols={e.cols} scale={crate::charts::images::scale_for(e.rows.max(e.cols), 224)}
                class_name={name(e.class)} />
            <div class="buttons">
                <button data-testid="pin-to-report" aria-pressed={props.pinned.to_string()} onclick={props.on_pin.reform(|_: MouseEvent| ())}
                    title="Put this explanation in the written report (Compare tab)">
                    { if props.pinned { "Pinned to report ✓" } else { "Pin to report" } }
                </button>
                <button onclick={props.on_close.reform(|_: MouseEvent| ())}>{ "Close" }</button>
            </div>
        </section>
    }
}

/// Index of the largest probability.
pub fn top_class(probabilities: &[f32]) -> usize {
    probabilities
        .iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, &p)| if p > b.1 { (i, p) } else { b })
        .0
}
