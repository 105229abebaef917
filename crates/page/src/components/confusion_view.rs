//! The confusion matrix: counts or row shares, the hovered cell named, a click opens its images.

use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use super::bar_chart_view::canvas_point;
use crate::charts::confusion::{self, CellValues};

/// Props of [`ConfusionView`].
#[derive(Properties, PartialEq)]
pub struct ConfusionViewProps {
    /// `counts[true][predicted]`.
    pub counts: Vec<Vec<u32>>,
    pub class_names: Vec<String>,
    #[prop_or(AttrValue::Static("confusion-matrix"))]
    pub testid: AttrValue,
    /// (true, predicted) of a clicked cell.
    pub on_cell: Callback<(usize, usize)>,
}

/// A text description of the matrix for screen readers: per class, the recall and the top confusion.
pub fn describe(counts: &[Vec<u32>], names: &[String]) -> String {
    let name = |i: usize| crate::class_name(names, i);
    let parts: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(t, row)| {
            let sum: u32 = row.iter().sum();
            let top = row
                .iter()
                .enumerate()
                .filter(|&(p, _)| p != t)
                .max_by_key(|&(_, c)| *c);
            let recall = if sum > 0 {
                row[t] as f64 / sum as f64 * 100.0
            } else {
                0.0
            };
            match top {
                Some((p, &c)) if c > 0 => format!(
                    "{}: {} of {} right ({recall:.0}%), most often taken for {} ({c})",
                    name(t),
                    row[t],
                    sum,
                    name(p)
                ),
                _ => format!("{}: {} of {} right ({recall:.0}%)", name(t), row[t], sum),
            }
        })
        .collect();
    format!("Confusion matrix. {}.", parts.join("; "))
}

/// The matrix.
#[function_component(ConfusionView)]
pub fn confusion_view(props: &ConfusionViewProps) -> Html {
    let canvas = use_node_ref();
    let values = use_state(|| CellValues::Counts);
    let hover = use_state(|| None::<(usize, usize)>);
    {
        let canvas = canvas.clone();
        let deps = (props.counts.clone(), props.class_names.clone(), *values);
        use_effect_with(deps, move |(counts, names, values)| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>()
                && let Err(e) = confusion::draw(&canvas, counts, names, *values)
            {
                web_sys::console::error_1(&format!("confusion matrix: {e}").into());
            }
        });
    }
    let n = props.counts.len();
    let locate = {
        let canvas = canvas.clone();
        move |event: &MouseEvent| {
            let element = canvas.cast::<HtmlCanvasElement>()?;
            let (x, y) = canvas_point(&element, event);
            confusion::cell_at(n, x, y)
        }
    };
    let on_move = {
        let (hover, locate) = (hover.clone(), locate.clone());
        Callback::from(move |e: MouseEvent| hover.set(locate(&e)))
    };
    let on_click = {
        let on_cell = props.on_cell.clone();
        Callback::from(move |e: MouseEvent| {
            if let Some(cell) = locate(&e) {
                on_cell.emit(cell);
            }
        })
    };
    let toggle = {
        let values = values.clone();
        Callback::from(move |_: MouseEvent| {
            values.set(if *values == CellValues::Counts {
                CellValues::RowShares
            } else {
                CellValues::Counts
            })
        })
    };
    let name = |i: usize| crate::class_name(&props.class_names, i);
    let hover_text = match *hover {
        Some((t, p)) => {
            let row_sum: u32 = props.counts[t].iter().sum();
            let c = props.counts[t][p];
            format!(
                "True {}, predicted {}: {} images ({:.1}% of {}). Click to see them.",
                name(t),
                name(p),
                c,
                if row_sum > 0 {
                    c as f64 / row_sum as f64 * 100.0
                } else {
                    0.0
                },
                name(t)
            )
        }
        None => "Hover a cell to read it; click it to see its images.".into(),
    };
    html! {
        <figure class="chart">
            <figcaption>
                { "Confusion matrix (test set) " }
                <button data-testid="confusion-toggle" onclick={toggle}>
                    { if *values == CellValues::Counts { "Show row shares" } else { "Show counts" } }
                </button>
            </figcaption>
            <canvas ref={canvas} class="clickable" data-testid={props.testid.clone()} role="img"
                aria-label={describe(&props.counts, &props.class_names)} onmousemove={on_move} onclick={on_click} />
            <p class="muted" data-testid="confusion-hover">{ hover_text }</p>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_names_recall_and_top_confusion() {
        let names = vec!["Shirt".to_string(), "T-shirt".to_string()];
        let text = describe(&[vec![8, 2], vec![0, 10]], &names);
        assert!(
            text.contains("Shirt: 8 of 10 right (80%), most often taken for T-shirt (2)"),
            "{text}"
        );
        assert!(text.contains("T-shirt: 10 of 10 right (100%)"), "{text}");
    }
}
