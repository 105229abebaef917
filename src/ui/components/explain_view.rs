//! Grad-CAM: the original image, the heatmap and the overlay side by side, with the class explained and an
//! opacity slider.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::protocol::Explanation;
use crate::ui::charts::heatmap;

/// Canvas pixels per image pixel: 28 px images show at 224 px.
const SCALE: usize = 8;

/// Props of [`ExplainView`].
#[derive(Properties, PartialEq)]
pub struct ExplainViewProps {
    pub explanation: Rc<Explanation>,
    pub class_names: Vec<String>,
    /// Explain another class.
    pub on_class: Callback<usize>,
    pub on_close: Callback<()>,
}

/// The three panels.
#[function_component(ExplainView)]
pub fn explain_view(props: &ExplainViewProps) -> Html {
    let e = &props.explanation;
    let opacity = use_state(|| 0.5f32);
    let (original, heat, overlay) = (use_node_ref(), use_node_ref(), use_node_ref());
    {
        let (original, heat, overlay) = (original.clone(), heat.clone(), overlay.clone());
        use_effect_with((e.clone(), *opacity), move |(e, opacity)| {
            let (w, h) = (e.cols * SCALE, e.rows * SCALE);
            let draw = |node: &NodeRef, rgba: Vec<u8>| {
                if let Some(canvas) = node.cast::<HtmlCanvasElement>()
                    && let Err(err) = crate::ui::charts::put_rgba(&canvas, &rgba, w, h)
                {
                    web_sys::console::error_1(&format!("Grad-CAM: {err}").into());
                }
            };
            draw(
                &original,
                heatmap::original_rgba(&e.image, e.rows, e.cols, SCALE),
            );
            draw(
                &heat,
                heatmap::heatmap_rgba(&e.heatmap, e.rows, e.cols, SCALE),
            );
            draw(
                &overlay,
                heatmap::overlay_rgba(&e.image, &e.heatmap, e.rows, e.cols, SCALE, *opacity),
            );
        });
    }
    let name = |i: usize| crate::ui::class_name(&props.class_names, i);
    let on_class = {
        let on_class = props.on_class.clone();
        Callback::from(move |ev: Event| {
            if let Some(select) = ev
                .target()
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                && let Ok(class) = select.value().parse::<usize>()
            {
                on_class.emit(class);
            }
        })
    };
    let on_opacity = {
        let opacity = opacity.clone();
        Callback::from(move |ev: InputEvent| {
            if let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            {
                opacity.set(input.value().parse::<f32>().unwrap_or(50.0) / 100.0);
            }
        })
    };
    let predicted = crate::ui::components::explain_view::top_class(&e.probabilities);
    html! {
        <section class="panel explain" data-testid="explain" aria-label="Grad-CAM explanation">
            <h2>{ format!("Why {} said {}: test image #{} (truly {})", e.model_name, name(predicted), e.test_index, name(e.truth as usize)) }</h2>
            <label>{ "Explain the class " }
                <select data-testid="gradcam-class" onchange={on_class}>
                    { for e.probabilities.iter().enumerate().map(|(i, p)| html! {
                        <option value={i.to_string()} selected={i == e.class}>{ format!("{} ({:.1}%)", name(i), p * 100.0) }</option>
                    }) }
                </select>
            </label>
            <div class="gradcam-panels">
                <figure><canvas ref={original} data-testid="gradcam-original" role="img" aria-label="the original image" /><figcaption>{ "Original" }</figcaption></figure>
                <figure><canvas ref={heat} data-testid="gradcam-heatmap" role="img" aria-label={format!("Grad-CAM heatmap for {}", name(e.class))} /><figcaption>{ "Heatmap" }</figcaption></figure>
                <figure><canvas ref={overlay} data-testid="gradcam-overlay" role="img" aria-label="heatmap over the image" /><figcaption>{ "Overlay" }</figcaption></figure>
            </div>
            <div class="legend"><span>{ "no evidence" }</span><span class="ramp" aria-hidden="true"></span><span>{ "strongest evidence" }</span></div>
            <label>{ "Overlay opacity " }
                <input type="range" min="0" max="100" value={((*opacity) * 100.0).round().to_string()} oninput={on_opacity} data-testid="gradcam-opacity" />
            </label>
            <button onclick={props.on_close.reform(|_: MouseEvent| ())}>{ "Close" }</button>
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
