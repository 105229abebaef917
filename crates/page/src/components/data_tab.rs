//! The Data tab: counts, the split, samples per class, class balance, mean images and pixel histogram.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::bar_chart_view::BarChartView;
use super::image_grid_view::ImageGridView;
use crate::charts::bars::{BarChart, BarSeries, format_count};
use crate::charts::images::{self, GridLayout};
use crate::charts::palette;
use atelier_core::protocol::{DatasetSummary, SampleGrid};

/// Props of [`DataTab`].
#[derive(Properties, PartialEq)]
pub struct DataTabProps {
    pub summary: Rc<DatasetSummary>,
    pub samples: Option<Rc<SampleGrid>>,
    pub enlarged: Option<(usize, usize)>,
    pub on_resample: Callback<u64>,
    pub on_enlarge: Callback<Option<(usize, usize)>>,
    /// New split: (seed, validation percent).
    pub on_split: Callback<(u64, f64)>,
}

/// The class balance chart's data: one series per part.
pub fn balance_chart(summary: &DatasetSummary) -> BarChart {
    let series = |name: &str, color, counts: &[usize]| BarSeries {
        name: name.into(),
        color,
        values: counts.iter().map(|&c| c as f64).collect(),
    };
    BarChart {
        categories: summary.class_names.clone(),
        series: vec![
            series("Train", palette::ORANGE, &summary.balance.train),
            series("Validation", palette::SKY_BLUE, &summary.balance.validation),
            series("Test", palette::BLUISH_GREEN, &summary.balance.test),
        ],
        y_label: "Images".into(),
        category_labels: true,
    }
}

/// The pixel histogram's data: one bar per bin, labelled with its level range; one series for gray
/// images, one per channel (red, green, blue) for colour ones.
pub fn histogram_chart(summary: &DatasetSummary) -> BarChart {
    let bins = summary.histograms.first().map_or(0, Vec::len).max(1);
    let width = 256 / bins;
    let names: &[(&str, (u8, u8, u8))] = if summary.histograms.len() == 3 {
        &[
            ("Red", palette::VERMILLION),
            ("Green", palette::BLUISH_GREEN),
            ("Blue", palette::SKY_BLUE),
        ]
    } else {
        &[("Pixels", palette::SKY_BLUE)]
    };
    BarChart {
        categories: (0..bins)
            .map(|b| format!("{}–{}", b * width, b * width + width - 1))
            .collect(),
        series: summary
            .histograms
            .iter()
            .zip(names)
            .map(|(counts, (name, color))| BarSeries {
                name: (*name).into(),
                color: *color,
                values: counts.iter().map(|&c| c as f64).collect(),
            })
            .collect(),
        y_label: "Pixels (training part)".into(),
        category_labels: false,
    }
}

fn input_value(e: &Event) -> Option<String> {
    e.target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        .map(|i| i.value())
}

/// The explorer.
#[function_component(DataTab)]
pub fn data_tab(props: &DataTabProps) -> Html {
    let summary = &props.summary;
    let balance = use_memo(summary.clone(), |s| balance_chart(s));
    let histogram = use_memo(summary.clone(), |s| histogram_chart(s));
    let means = use_memo(summary.clone(), |s| s.mean_images.clone());
    let seed_text = use_state(|| summary.split_seed.to_string());
    let val_text = use_state(|| format!("{}", summary.validation_per_mille as f64 / 10.0));
    let split_error = use_state(|| None::<String>);
    {
        let (seed_text, val_text) = (seed_text.clone(), val_text.clone());
        use_effect_with(summary.clone(), move |s| {
            seed_text.set(s.split_seed.to_string());
            val_text.set(format!("{}", s.validation_per_mille as f64 / 10.0));
        });
    }
    let on_seed = {
        let seed_text = seed_text.clone();
        Callback::from(move |e: Event| seed_text.set(input_value(&e).unwrap_or_default()))
    };
    let on_val = {
        let val_text = val_text.clone();
        Callback::from(move |e: Event| val_text.set(input_value(&e).unwrap_or_default()))
    };
    let apply_split = {
        let (seed_text, val_text, split_error) =
            (seed_text.clone(), val_text.clone(), split_error.clone());
        let on_split = props.on_split.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let seed = seed_text.trim().parse::<u64>();
            let val = val_text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| (0.0..100.0).contains(v) && *v > 0.0);
            match (seed, val) {
                (Ok(seed), Some(val)) => {
                    split_error.set(None);
                    on_split.emit((seed, val));
                }
                (Err(_), _) => split_error.set(Some(
                    "The seed must be a whole number from 0 to 18446744073709551615.".into(),
                )),
                (_, None) => split_error.set(Some(
                    "The validation share must be a percentage above 0 and below 100.".into(),
                )),
            }
        })
    };
    let samples_html = match &props.samples {
        None => html! { <p class="muted">{ "Picking samples…" }</p> },
        Some(grid) => {
            let per_row = grid.images.iter().map(Vec::len).max().unwrap_or(0);
            // Row c holds class c; missing images (a class with few items) are left blank.
            let blank = vec![0u8; grid.rows * grid.cols];
            let flat: Vec<Vec<u8>> = grid
                .images
                .iter()
                .flat_map(|class| (0..per_row).map(move |i| class.get(i).cloned()))
                .map(|img| img.unwrap_or_else(|| blank.clone()))
                .collect();
            let layout = GridLayout {
                columns: per_row.max(1),
                scale: images::scale_for(grid.rows.max(grid.cols), 56),
                gap: 2,
            };
            let on_select = {
                let on_enlarge = props.on_enlarge.clone();
                let grid = grid.clone();
                Callback::from(move |index: usize| {
                    let (class, i) = (index / per_row.max(1), index % per_row.max(1));
                    if grid.images.get(class).is_some_and(|c| i < c.len()) {
                        on_enlarge.emit(Some((class, i)));
                    }
                })
            };
            let next_seed = grid.seed.wrapping_add(1);
            let label = format!(
                "{} sample images per class, one row per class: {}",
                per_row,
                summary.class_names.join(", ")
            );
            html! {
                <div class="sample-grid-wrap">
                    <div class="row-labels">
                        { for summary.class_names.iter().map(|n| html! { <span>{ n }</span> }) }
                    </div>
                    <ImageGridView images={Rc::new(flat)} rows={grid.rows} cols={grid.cols} {layout}
                        testid="sample-grid" label={label} on_select={Some(on_select)} />
                    <div class="under">
                        <button data-testid="resample-button" onclick={props.on_resample.reform(move |_: MouseEvent| next_seed)}>
                            { "Show other samples" }
                        </button>
                        <span class="muted">{ format!("Sample seed {}. Click an image to enlarge it.", grid.seed) }</span>
                    </div>
                </div>
            }
        }
    };
    let enlarged_html = match (props.enlarged, &props.samples) {
        (Some((class, i)), Some(grid)) if grid.images.get(class).is_some_and(|c| i < c.len()) => {
            let image = Rc::new(vec![grid.images[class][i].clone()]);
            let close = props.on_enlarge.reform(|_: MouseEvent| None);
            html! {
                <div class="enlarged panel" data-testid="enlarged-image">
                    <ImageGridView images={image} rows={grid.rows} cols={grid.cols}
                        layout={GridLayout { columns: 1, scale: images::scale_for(grid.rows.max(grid.cols), 280), gap: 0 }} testid="enlarged-canvas"
                        label={format!("Enlarged image of class {}", summary.class_names[class])} />
                    <p>{ format!("{} · training item {}", summary.class_names[class], grid.positions[class][i]) }</p>
                    <button onclick={close}>{ "Close" }</button>
                </div>
            }
        }
        _ => html! {},
    };
    html! {
        <section class="data-tab" aria-label="Dataset explorer">
            <div class="panel counts">
                <div><span class="big" data-testid="dataset-train-count">{ summary.train_count }</span><span>{ " train" }</span></div>
                <div><span class="big" data-testid="dataset-val-count">{ summary.validation_count }</span><span>{ " validation" }</span></div>
                <div><span class="big" data-testid="dataset-test-count">{ summary.test_count }</span><span>{ " test" }</span></div>
                <div class="muted">{ format!("{} · ", crate::text::count_of(summary.class_names.len(), "class", "classes")) }
                    <span data-testid="dataset-channels" data-channels={summary.channels.to_string()}>{ if summary.channels == 3 { "colour" } else { "gray" } }</span>{ " · " }
                    <span data-testid="dataset-image-size">{ format!("{}×{} px", summary.rows, summary.cols) }</span>
                    { format!(" · parsed in {:.0} ms", summary.parse_ms) }</div>
                <form class="split" onsubmit={apply_split}>
                    <label>{ "Validation %" }<input type="number" min="0.1" max="99.9" step="0.1" value={(*val_text).clone()} onchange={on_val} data-testid="split-val" /></label>
                    <label>{ "Split seed" }<input type="number" min="0" value={(*seed_text).clone()} onchange={on_seed} data-testid="split-seed" /></label>
                    <button type="submit" data-testid="split-apply">{ "Re-split" }</button>
                    if let Some(error) = &*split_error { <span class="field-error" role="alert">{ error }</span> }
                </form>
            </div>
            if let Some(import) = &summary.import {
                <div class="panel" data-testid="import-report">
                    <p>{ format!("{} pictures decoded{}; {}.",
                        atelier_core::study::thousands(import.decoded),
                        if import.decoded > 0 { format!(" from {}×{} to {}×{} px, each cropped to its centred square and resized to {}×{}",
                            import.sizes.0, import.sizes.1, import.sizes.2, import.sizes.3, summary.rows, summary.cols) } else { String::new() },
                        if import.by_folders { "the train/ and test/ folders give the parts" } else { "a fifth of each class is held out for testing" }) }</p>
                    <p>{ "Skipped: " }<strong data-testid="dataset-skipped">{ import.skipped.len() }</strong></p>
                    if !import.skipped.is_empty() {
                        <details>
                            <summary>{ "Which files, and why" }</summary>
                            <ul class="skipped-list">
                                { for import.skipped.iter().take(200).map(|(path, why)| html! { <li><code>{ path }</code>{ format!(": {why}") }</li> }) }
                            </ul>
                            if import.skipped.len() > 200 { <p class="muted">{ format!("… and {} more", import.skipped.len() - 200) }</p> }
                        </details>
                    }
                </div>
            }
            <div class="panel">
                <h2>{ "Samples per class" }</h2>
                { samples_html }
                { enlarged_html }
            </div>
            <div class="panel">
                <BarChartView chart={balance} title="Class balance: train, validation and test" testid="class-balance-chart" />
                <p class="muted">{ format!("Largest class in train: {} images.", format_count(summary.balance.train.iter().copied().max().unwrap_or(0) as f64)) }</p>
            </div>
            <div class="panel">
                <h2>{ "Mean image of each class (training part)" }</h2>
                <ImageGridView images={means} rows={summary.rows} cols={summary.cols}
                    layout={GridLayout { columns: 10, scale: images::scale_for(summary.rows.max(summary.cols), 56), gap: 4 }} testid="mean-images"
                    label={format!("Mean images of {}", summary.class_names.join(", "))} />
                <div class="mean-labels">{ for summary.class_names.iter().map(|n| html! { <span>{ n }</span> }) }</div>
            </div>
            <div class="panel">
                <BarChartView chart={histogram}  title={if summary.channels == 3 { "Pixel values per channel (0 = none, 255 = full)" } else { "Pixel intensities (0 = black, 255 = white)" }} testid="pixel-histogram" />
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::protocol::ClassBalance;

    #[test]
    fn charts_carry_the_summary_numbers() {
        let summary = DatasetSummary {
            class_names: vec!["a".into(), "b".into()],
            channels: 1,
            rows: 2,
            cols: 2,
            train_count: 9,
            validation_count: 1,
            test_count: 4,
            split_seed: 1,
            validation_per_mille: 100,
            balance: ClassBalance {
                train: vec![5, 4],
                validation: vec![1, 0],
                test: vec![2, 2],
            },
            mean_images: vec![vec![0; 4]; 2],
            histograms: vec![vec![1; 32]],
            parse_ms: 0.0,
            import: None,
            test_labels: vec![],
        };
        let balance = balance_chart(&summary);
        assert_eq!(balance.series.len(), 3);
        assert_eq!(balance.series[1].values, vec![1.0, 0.0]);
        let hist = histogram_chart(&summary);
        assert_eq!(hist.categories.len(), 32);
        assert_eq!(hist.categories[31], "248–255");
        assert_eq!(hist.series.len(), 1);
        let colour = DatasetSummary {
            channels: 3,
            histograms: vec![vec![1; 32], vec![2; 32], vec![3; 32]],
            ..summary
        };
        let hist = histogram_chart(&colour);
        let names: Vec<&str> = hist.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Red", "Green", "Blue"]);
        assert_eq!(hist.series[2].values[0], 3.0);
    }
}
