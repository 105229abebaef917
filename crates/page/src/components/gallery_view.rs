//! A gallery of test images with captions (a confusion-matrix cell, a model's mistakes).

use std::rc::Rc;

use yew::prelude::*;

use super::image_grid_view::ImageGridView;
use crate::charts::images::GridLayout;
use crate::state::Gallery;

/// Props of [`GalleryView`].
#[derive(Properties, PartialEq)]
pub struct GalleryViewProps {
    pub gallery: Gallery,
    pub on_close: Callback<()>,
    /// A test index was clicked (explain it).
    pub on_select: Callback<usize>,
}

/// Images per row.
const COLUMNS: usize = 8;

/// The gallery.
#[function_component(GalleryView)]
pub fn gallery_view(props: &GalleryViewProps) -> Html {
    let g = &props.gallery;
    let body = match &g.images {
        _ if g.indices.is_empty() => html! { <p class="muted">{ "No test image falls here." }</p> },
        None => html! { <p class="muted">{ "Loading images…" }</p> },
        Some((rows, cols, images)) => html! {
            <>
                <ImageGridView images={Rc::new(images.clone())} rows={*rows} cols={*cols}
                    layout={GridLayout { columns: COLUMNS, scale: crate::charts::images::scale_for((*rows).max(*cols), 84), gap: 4 }} testid="gallery-grid"
                    label={format!("{}: {}", g.title, g.captions.join("; "))}
                    on_select={Some({ let (select, indices) = (props.on_select.clone(), g.indices.clone());
                        Callback::from(move |i: usize| if let Some(&index) = indices.get(i) { select.emit(index) }) })} />
                <p class="muted">{ "Click an image, or a line below (keyboard: Tab, then Enter), to see what the model looked at (Grad-CAM)." }</p>
                <ol class="captions">
                    { for g.captions.iter().zip(&g.indices).map(|(c, &i)| {
                        let select = props.on_select.clone();
                        html! { <li><button class="link" data-testid="gallery-item" onclick={Callback::from(move |_: MouseEvent| select.emit(i))}>{ format!("#{i}: {c}") }</button></li> }
                    }) }
                </ol>
            </>
        },
    };
    html! {
        <section class="panel gallery" data-testid="gallery" aria-label={g.title.clone()}>
            <h2>{ g.title.clone() }</h2>
            { body }
            <button onclick={props.on_close.reform(|_: MouseEvent| ())}>{ "Close" }</button>
        </section>
    }
}
