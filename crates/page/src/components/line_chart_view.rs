//! A line chart on a canvas, redrawn when its data changes.

use std::rc::Rc;

use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::charts::lines::{self, LineChart};

/// Props of [`LineChartView`].
#[derive(Properties, PartialEq)]
pub struct LineChartViewProps {
    pub chart: Rc<LineChart>,
    pub title: AttrValue,
    pub testid: AttrValue,
    #[prop_or(560)]
    pub width: u32,
    #[prop_or(260)]
    pub height: u32,
}

/// The chart.
#[function_component(LineChartView)]
pub fn line_chart_view(props: &LineChartViewProps) -> Html {
    let canvas = use_node_ref();
    let draw_error = use_state(|| None::<String>);
    {
        let canvas = canvas.clone();
        let draw_error = draw_error.clone();
        use_effect_with(props.chart.clone(), move |chart| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                let result = lines::draw(&canvas, chart).err();
                if *draw_error != result {
                    draw_error.set(result);
                }
            }
        });
    }
    html! {
        <figure class="chart">
            <figcaption>{ props.title.clone() }</figcaption>
            <canvas ref={canvas} width={props.width.to_string()} height={props.height.to_string()}
                data-testid={props.testid.clone()} role="img" aria-label={props.chart.describe()} />
            if let Some(error) = &*draw_error {
                <p class="muted">{ format!("The chart could not be drawn: {error}") }</p>
            }
        </figure>
    }
}
