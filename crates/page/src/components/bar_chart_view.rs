//! A bar chart on a canvas, with a tooltip showing the value under the pointer.

use std::rc::Rc;

use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::charts::bars::{self, BarChart, format_count};

/// Props of [`BarChartView`].
#[derive(Properties, PartialEq)]
pub struct BarChartViewProps {
    pub chart: Rc<BarChart>,
    pub title: AttrValue,
    pub testid: AttrValue,
    #[prop_or(640)]
    pub width: u32,
    #[prop_or(280)]
    pub height: u32,
}

/// Converts a mouse event to canvas pixel coordinates (the canvas may be scaled by CSS).
pub fn canvas_point(canvas: &HtmlCanvasElement, event: &MouseEvent) -> (f64, f64) {
    let rect = canvas.get_bounding_client_rect();
    let sx = if rect.width() > 0.0 {
        canvas.width() as f64 / rect.width()
    } else {
        1.0
    };
    let sy = if rect.height() > 0.0 {
        canvas.height() as f64 / rect.height()
    } else {
        1.0
    };
    (
        (event.client_x() as f64 - rect.left()) * sx,
        (event.client_y() as f64 - rect.top()) * sy,
    )
}

/// The chart.
#[function_component(BarChartView)]
pub fn bar_chart_view(props: &BarChartViewProps) -> Html {
    let canvas = use_node_ref();
    let tooltip = use_state(|| None::<(i32, i32, String)>);
    let draw_error = use_state(|| None::<String>);
    {
        let canvas = canvas.clone();
        let draw_error = draw_error.clone();
        use_effect_with(props.chart.clone(), move |chart| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                draw_error.set(bars::draw(&canvas, chart).err());
            }
        });
    }
    let on_move = {
        let canvas = canvas.clone();
        let chart = props.chart.clone();
        let tooltip = tooltip.clone();
        Callback::from(move |event: MouseEvent| {
            let Some(element) = canvas.cast::<HtmlCanvasElement>() else {
                return;
            };
            let (x, y) = canvas_point(&element, &event);
            let hit = chart.bar_at(element.width(), element.height(), x, y);
            tooltip.set(hit.map(|(c, s)| {
                let series = &chart.series[s];
                let text = format!(
                    "{} · {}: {}",
                    series.name,
                    chart.categories[c],
                    format_count(series.values[c])
                );
                (event.offset_x() + 12, event.offset_y() - 8, text)
            }));
        })
    };
    let on_leave = {
        let tooltip = tooltip.clone();
        Callback::from(move |_: MouseEvent| tooltip.set(None))
    };
    html! {
        <figure class="chart">
            <figcaption>{ props.title.clone() }</figcaption>
            <div class="canvas-wrap">
                <canvas ref={canvas} width={props.width.to_string()} height={props.height.to_string()}
                    data-testid={props.testid.clone()} role="img" aria-label={props.chart.describe()}
                    onmousemove={on_move} onmouseleave={on_leave} />
                if let Some((x, y, text)) = &*tooltip {
                    <div class="tooltip" data-testid="chart-tooltip" style={format!("left:{x}px;top:{y}px")}>{ text }</div>
                }
            </div>
            if let Some(error) = &*draw_error {
                <p class="muted">{ format!("The chart could not be drawn: {error}") }</p>
            }
        </figure>
    }
}
