//! Grad-CAM's three canvases side by side (original, heatmap, overlay) with the colour legend and an
//! opacity slider for the overlay.

use std::rc::Rc;

use web_sys::{HtmlCanvasElement, HtmlInputElement};
use yew::prelude::*;

use crate::charts::heatmap;

/// Props of [`GradCamPanels`].
#[derive(Properties, PartialEq)]
pub struct GradCamPanelsProps {
    pub image: Rc<Vec<u8>>,
    /// `rows * cols` values in `[0, 1]`.
    pub heatmap: Rc<Vec<f32>>,
    pub rows: usize,
    pub cols: usize,
    /// Canvas pixels per image pixel.
    #[prop_or(8)]
    pub scale: usize,
    /// The canvases are `{prefix}-original`, `{prefix}-heatmap`, `{prefix}-overlay`.
    #[prop_or(AttrValue::Static("gradcam"))]
    pub testid_prefix: AttrValue,
    /// The class explained, for the text alternatives.
    pub class_name: AttrValue,
}

/// The panels.
#[function_component(GradCamPanels)]
pub fn gradcam_panels(props: &GradCamPanelsProps) -> Html {
    let opacity = use_state(|| 0.5f32);
    let (original, heat, overlay) = (use_node_ref(), use_node_ref(), use_node_ref());
    {
        let (original, heat, overlay) = (original.clone(), heat.clone(), overlay.clone());
        let (rows, cols, scale) = (props.rows, props.cols, props.scale);
        use_effect_with(
            (props.image.clone(), props.heatmap.clone(), *opacity),
            move |(image, map, opacity)| {
                let (w, h) = (cols * scale, rows * scale);
                let draw = |node: &NodeRef, rgba: Vec<u8>| {
                    if let Some(canvas) = node.cast::<HtmlCanvasElement>()
                        && let Err(err) = crate::charts::put_rgba(&canvas, &rgba, w, h)
                    {
                        web_sys::console::error_1(&format!("Grad-CAM: {err}").into());
                    }
                };
                draw(&original, heatmap::original_rgba(image, rows, cols, scale));
                draw(&heat, heatmap::heatmap_rgba(map, rows, cols, scale));
                draw(
                    &overlay,
                    heatmap::overlay_rgba(image, map, rows, cols, scale, *opacity),
                );
            },
        );
    }
    let on_opacity = {
        let opacity = opacity.clone();
        Callback::from(move |ev: InputEvent| {
            if let Some(input) = ev.target_dyn_into::<HtmlInputElement>() {
                opacity.set(input.value().parse::<f32>().unwrap_or(50.0) / 100.0);
            }
        })
    };
    let id = |suffix: &str| format!("{}-{suffix}", props.testid_prefix);
    html! {
        <div class="gradcam">
            <div class="gradcam-panels">
                <figure><canvas ref={original} data-testid={id("original")} role="img" aria-label="the image" /><figcaption>{ "Original" }</figcaption></figure>
                <figure><canvas ref={heat} data-testid={id("heatmap")} role="img" aria-label={format!("Grad-CAM heatmap for {}", props.class_name)} /><figcaption>{ "Heatmap" }</figcaption></figure>
                <figure><canvas ref={overlay} data-testid={id("overlay")} role="img" aria-label="heatmap over the image" /><figcaption>{ "Overlay" }</figcaption></figure>
            </div>
            <div class="legend"><span>{ "no evidence" }</span><span class="ramp" aria-hidden="true"></span><span>{ "strongest evidence" }</span></div>
            <label>{ "Overlay opacity " }
                <input type="range" min="0" max="100" value={((*opacity) * 100.0).round().to_string()} oninput={on_opacity} data-testid={id("opacity")} />
            </label>
        </div>
    }
}
