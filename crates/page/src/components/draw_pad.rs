//! The drawing pad of the Predict tab: draw an item in white on black with the mouse, a pen or a finger;
//! each finished stroke hands the whole drawing on as a picture.

use std::rc::Rc;

use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::charts::{context_2d, put_rgba};

/// The drawing canvas's side.
pub const DRAW_SIDE: u32 = 280;

/// Props of [`DrawPad`].
#[derive(Properties, PartialEq)]
pub struct DrawPadProps {
    /// The drawing after each stroke: RGBA pixels, [`DRAW_SIDE`] a side.
    pub on_drawn: Callback<Rc<Vec<u8>>>,
}

/// The pad.
#[function_component(DrawPad)]
pub fn draw_pad(props: &DrawPadProps) -> Html {
    let draw_ref = use_node_ref();
    let drawing = use_mut_ref(|| None::<(f64, f64)>);
    // The drawing canvas starts black.
    {
        let draw_ref = draw_ref.clone();
        use_effect_with((), move |_| {
            if let Some(canvas) = draw_ref.cast::<HtmlCanvasElement>() {
                let side = DRAW_SIDE as usize;
                let _ = put_rgba(&canvas, &[0, 0, 0, 255].repeat(side * side), side, side);
            }
        });
    }
    let stroke = |canvas: &HtmlCanvasElement, from: (f64, f64), to: (f64, f64)| {
        if let Ok(ctx) = context_2d(canvas) {
            ctx.set_stroke_style_str("#ffffff");
            ctx.set_line_width(22.0);
            ctx.set_line_cap("round");
            ctx.begin_path();
            ctx.move_to(from.0, from.1);
            ctx.line_to(to.0, to.1);
            ctx.stroke();
        }
    };
    let point = |canvas: &HtmlCanvasElement, e: &PointerEvent| {
        super::bar_chart_view::canvas_point(canvas, e)
    };
    let on_down = {
        let (draw_ref, drawing) = (draw_ref.clone(), drawing.clone());
        Callback::from(move |e: PointerEvent| {
            if let Some(canvas) = draw_ref.cast::<HtmlCanvasElement>() {
                let _ = canvas.set_pointer_capture(e.pointer_id());
                let p = point(&canvas, &e);
                stroke(&canvas, p, p);
                *drawing.borrow_mut() = Some(p);
            }
        })
    };
    let on_move = {
        let (draw_ref, drawing) = (draw_ref.clone(), drawing.clone());
        Callback::from(move |e: PointerEvent| {
            let last = *drawing.borrow();
            if let (Some(from), Some(canvas)) = (last, draw_ref.cast::<HtmlCanvasElement>()) {
                let to = point(&canvas, &e);
                stroke(&canvas, from, to);
                *drawing.borrow_mut() = Some(to);
            }
        })
    };
    let on_up = {
        let (draw_ref, drawing, on_drawn) =
            (draw_ref.clone(), drawing.clone(), props.on_drawn.clone());
        Callback::from(move |_: PointerEvent| {
            if drawing.borrow_mut().take().is_none() {
                return;
            }
            let Some(canvas) = draw_ref.cast::<HtmlCanvasElement>() else {
                return;
            };
            let side = DRAW_SIDE as f64;
            let Ok(data) = context_2d(&canvas).and_then(|c| {
                c.get_image_data(0.0, 0.0, side, side)
                    .map_err(|e| format!("{e:?}"))
            }) else {
                return;
            };
            on_drawn.emit(Rc::new(data.data().0));
        })
    };
    let on_clear = {
        let draw_ref = draw_ref.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(canvas) = draw_ref.cast::<HtmlCanvasElement>() {
                let side = DRAW_SIDE as usize;
                let _ = put_rgba(&canvas, &[0, 0, 0, 255].repeat(side * side), side, side);
            }
        })
    };
    html! {
        <figure class="draw">
            <canvas ref={draw_ref} width={DRAW_SIDE.to_string()} height={DRAW_SIDE.to_string()} data-testid="draw-canvas"
                role="img" aria-label="drawing canvas: draw an item in white" class="draw-canvas"
                onpointerdown={on_down} onpointermove={on_move} onpointerup={on_up.clone()} onpointerleave={on_up} />
            <figcaption>{ "Draw an item " }<button onclick={on_clear} data-testid="clear-drawing">{ "Clear" }</button></figcaption>
        </figure>
    }
}
