//! A grid of grey images on a canvas; clicking one selects it.

use std::rc::Rc;

use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use super::bar_chart_view::canvas_point;
use crate::charts::images::{self, GridLayout};

/// Props of [`ImageGridView`].
#[derive(Properties, PartialEq)]
pub struct ImageGridViewProps {
    pub images: Rc<Vec<Vec<u8>>>,
    pub rows: usize,
    pub cols: usize,
    pub layout: GridLayout,
    pub testid: AttrValue,
    pub label: AttrValue,
    #[prop_or_default]
    pub on_select: Option<Callback<usize>>,
}

/// The grid.
#[function_component(ImageGridView)]
pub fn image_grid_view(props: &ImageGridViewProps) -> Html {
    let canvas = use_node_ref();
    let draw_error = use_state(|| None::<String>);
    {
        let canvas = canvas.clone();
        let draw_error = draw_error.clone();
        let deps = (props.images.clone(), props.rows, props.cols, props.layout);
        use_effect_with(deps, move |(images_, rows, cols, layout)| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                let refs: Vec<&[u8]> = images_.iter().map(Vec::as_slice).collect();
                draw_error.set(images::draw(&canvas, &refs, *rows, *cols, *layout).err());
            }
        });
    }
    let onclick = props.on_select.clone().map(|select| {
        let canvas = canvas.clone();
        let (count, rows, cols, layout) =
            (props.images.len(), props.rows, props.cols, props.layout);
        Callback::from(move |event: MouseEvent| {
            let Some(element) = canvas.cast::<HtmlCanvasElement>() else {
                return;
            };
            let (x, y) = canvas_point(&element, &event);
            if let Some(index) = layout.cell_at(count, rows, cols, x, y) {
                select.emit(index);
            }
        })
    });
    let clickable = if props.on_select.is_some() {
        "image-grid clickable"
    } else {
        "image-grid"
    };
    html! {
        <>
            <canvas ref={canvas} class={clickable} data-testid={props.testid.clone()} role="img"
                aria-label={props.label.clone()} {onclick} />
            if let Some(error) = &*draw_error {
                <p class="muted">{ format!("The images could not be drawn: {error}") }</p>
            }
        </>
    }
}
