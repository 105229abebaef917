//! The written report: asks the worker for what it needs (Grad-CAM of the best network's mistakes, example
//! images of the confused pairs), draws the figures (charts as SVG with plotters for the HTML file, every
//! figure as PNG for the Markdown zip) and hands them to `atelier_core::study`, which words and writes it.

use std::rc::Rc;

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, IntoDrawingArea};
use plotters_canvas::CanvasBackend;
use yew::prelude::*;

use crate::bridge::WorkerHandle;
use crate::charts::bars::{self, BarChart};
use crate::charts::heatmap;
use crate::charts::images::{GridLayout, grid_rgba_on};
use crate::charts::lines::{self, Curve, LineChart};
use crate::charts::palette;
use crate::components::compare_tab;
use crate::components::data_tab::balance_chart;
use crate::components::explain_view::top_class;
use crate::state::{Action, Pin, ReportFormat, ReportJob, RunStatus, State};
use crate::url::{Params, Tab};
use atelier_core::protocol::{Explanation, ModelReport, Predictions, ReportMaterial, ToWorker};
use atelier_core::study::analysis::{self, Plan};
use atelier_core::study::document::{Figure, FigureData};
use atelier_core::study::encode::png_rgba;
use atelier_core::study::{DataPart, Environment, ModelPart, PairPart, Panel, Study, svg};

/// Size of the charts in the report, in pixels.
const CHART: (u32, u32) = (500, 300);
/// Grad-CAM panels and example images are drawn this many times their size.
const SCALE: usize = 4;

/// What the user sees when the report cannot be made, or None when it can.
pub fn refusal(state: &State) -> Option<String> {
    if state.models.is_empty() {
        return Some(
            "No model yet: train one in the Train tab (or load a model file there), then make the report. It is written from the models in this table."
                .into(),
        );
    }
    if state.summary().is_none() {
        return Some("The dataset is still loading: make the report once it is ready.".into());
    }
    state
        .report
        .is_some()
        .then(|| "A report is being written; wait for it to be saved.".into())
}

/// Asks for a report: says why not, or sends the worker the plan's requests.
pub fn request(
    state: &State,
    dispatcher: &UseReducerDispatcher<State>,
    worker: &WorkerHandle,
    format: ReportFormat,
) {
    if let Some(reason) = refusal(state) {
        dispatcher.dispatch(Action::ReportEnded(reason));
        return;
    }
    let labels = state
        .summary()
        .map(|s| s.test_labels.clone())
        .unwrap_or_default();
    let reports: Vec<&ModelReport> = state.models.iter().map(|m| m.as_ref()).collect();
    let plan = analysis::plan(&reports, &labels);
    dispatcher.dispatch(Action::ReportRequested(format, Rc::new(plan.clone())));
    worker.send(&ToWorker::ReportMaterial {
        explain: plan.explain.clone(),
        images: plan.images(),
    });
}

/// `report=1`: true once the report should be asked for: after the autorun's run, or once the data and the
/// saved models are there when there is no autorun.
pub fn report_due(state: &State) -> bool {
    let ready = state.summary().is_some() && state.restored && state.worker_ready;
    let run_over = if state.params.autorun {
        state.autorun_fired
            && matches!(
                state.run.status,
                RunStatus::Done | RunStatus::Stopped | RunStatus::Failed
            )
    } else {
        !state.run.status.is_active()
    };
    state.params.report && !state.report_fired && ready && run_over
}

/// Writes the report once the worker's material is there, and answers `report=1`.
#[hook]
pub fn use_report(state: &UseReducerHandle<State>, worker: &WorkerHandle) {
    let due = report_due(state);
    {
        let (state, worker) = (state.clone(), worker.clone());
        use_effect_with(due, move |due| {
            if *due {
                state.dispatcher().dispatch(Action::ReportFired);
                request(&state, &state.dispatcher(), &worker, ReportFormat::Html);
            }
        });
    }
    let ready = state
        .report
        .as_ref()
        .is_some_and(|job| job.material.is_some());
    let state = state.clone();
    use_effect_with(ready, move |ready| {
        if !*ready {
            return;
        }
        let Some(job) = state.report.clone() else {
            return;
        };
        let status = match write(&state, &job) {
            Ok(status) => status,
            Err(e) => format!("The report could not be written: {e}"),
        };
        state.dispatcher().dispatch(Action::ReportEnded(status));
    });
}

/// Builds, writes and downloads the report; returns the sentence saying what was saved.
fn write(state: &State, job: &ReportJob) -> Result<String, String> {
    let material = job.material.as_ref().ok_or("the worker sent nothing")?;
    let study = study(
        state,
        job.format,
        &job.plan,
        material,
        environment(state),
        &page_address(),
    )?;
    let date = study.environment.date.get(..10).unwrap_or("").to_string();
    let name = match job.format {
        ReportFormat::Html => format!("atelier-report-{date}.html"),
        ReportFormat::Markdown => format!("atelier-report-{date}.zip"),
    };
    let (bytes, figures) = study.write(job.format);
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    crate::bridge::download_bytes(&name, &array.into())?;
    Ok(format!(
        "Report saved as {name} ({:.1} MB): {}, {figures} figures.",
        bytes.len() as f64 / 1e6,
        crate::text::count_of(study.models.len(), "model", "models"),
    ))
}

/// The page's address without its query (the base of the links that rerun each model).
fn page_address() -> String {
    web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?))
        })
        .unwrap_or_default()
}

/// Where the report is written: browser, cores, backend, date.
fn environment(state: &State) -> Environment {
    let navigator = web_sys::window().map(|w| w.navigator());
    let date = String::from(js_sys::Date::new_0().to_iso_string());
    let backend = state.backend.as_ref();
    Environment {
        date: format!(
            "{} {} UTC",
            date.get(..10).unwrap_or(""),
            date.get(11..16).unwrap_or("")
        ),
        version: env!("CARGO_PKG_VERSION").into(),
        browser: navigator
            .as_ref()
            .and_then(|n| n.user_agent().ok())
            .unwrap_or_else(|| "a browser".into()),
        cores: navigator.map_or(0, |n| n.hardware_concurrency() as usize),
        backend: backend.map_or("not known".into(), |b| match b.kind {
            atelier_core::protocol::BackendKind::WebGpu => format!("WebGPU ({})", b.reason),
            atelier_core::protocol::BackendKind::Cpu => format!("CPU ({})", b.reason),
        }),
        adapter: backend
            .and_then(|b| b.adapter.as_ref())
            .map(|a| {
                format!("{} {} {}", a.vendor, a.architecture, a.description)
                    .trim()
                    .to_string()
            })
            .filter(|a| !a.is_empty()),
    }
}

/// The address that trains this model again with all its settings, on the same data and split.
pub fn rerun_link(page: &str, params: &Params, report: &ModelReport) -> String {
    let again = Params {
        tab: Tab::Train,
        seed: report.settings.seed,
        train: report.settings.clone(),
        autorun: true,
        report: false,
        lose_device_after: None,
        other: Vec::new(),
        ..params.clone()
    };
    format!("{page}{}", again.to_query())
}

/// A chart's drawing function on a canvas's plotters backend.
type DrawOnCanvas<C> =
    fn(DrawingArea<CanvasBackend, Shift>, &C, palette::Surface) -> Result<(), String>;

/// A plotters chart as a figure: SVG for the HTML file, PNG (drawn on a canvas) for the Markdown zip; both
/// on the light surface. `draw` draws it on either backend.
fn chart_figure<C>(
    name: String,
    caption: String,
    format: ReportFormat,
    chart: &C,
    svg: fn(&C, u32, u32) -> Result<String, String>,
    draw: DrawOnCanvas<C>,
) -> Result<Figure, String> {
    let (width, height) = CHART;
    let data = match format {
        ReportFormat::Html => FigureData::Svg(svg(chart, width, height)?),
        ReportFormat::Markdown => FigureData::Png(canvas_png(width, height, |canvas| {
            let backend = CanvasBackend::with_canvas_object(canvas.clone())
                .ok_or("the canvas has no 2D context")?;
            draw(backend.into_drawing_area(), chart, palette::LIGHT)
        })?),
    };
    Ok(Figure {
        name,
        caption,
        width,
        height,
        data,
    })
}

/// Draws on a canvas of its own and returns the canvas as PNG bytes.
fn canvas_png(
    width: u32,
    height: u32,
    draw: impl FnOnce(&web_sys::HtmlCanvasElement) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    use wasm_bindgen::JsCast;
    let canvas: web_sys::HtmlCanvasElement = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document to draw in")?
        .create_element("canvas")
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "not a canvas")?;
    canvas.set_width(width);
    canvas.set_height(height);
    draw(&canvas)?;
    let url = canvas.to_data_url().map_err(|e| format!("{e:?}"))?;
    let (_, coded) = url.split_once(',').ok_or("the canvas gave no PNG")?;
    atelier_core::study::encode::base64_decode(coded).ok_or_else(|| "the canvas gave no PNG".into())
}

fn bar_figure(
    name: &str,
    caption: String,
    chart: &BarChart,
    format: ReportFormat,
) -> Result<Figure, String> {
    chart_figure(
        name.into(),
        caption,
        format,
        chart,
        bars::svg,
        bars::draw_on,
    )
}

fn line_figure(
    name: String,
    caption: String,
    chart: &LineChart,
    format: ReportFormat,
) -> Result<Figure, String> {
    chart_figure(name, caption, format, chart, lines::svg, lines::draw_on)
}

/// A figure of RGBA pixels.
fn pixels(name: String, caption: String, width: usize, height: usize, rgba: &[u8]) -> Figure {
    Figure {
        name,
        caption,
        width: width as u32,
        height: height as u32,
        data: FigureData::Png(png_rgba(rgba, width, height)),
    }
}

/// A model's loss and accuracy per epoch (training and validation).
pub fn epoch_charts(report: &ModelReport) -> (LineChart, LineChart) {
    let per_epoch = |f: &dyn Fn(&atelier_core::protocol::EpochPoint) -> Option<f64>| {
        report
            .epochs
            .iter()
            .filter_map(|e| Some((e.epoch as f64 + 1.0, f(e)?)))
            .collect::<Vec<_>>()
    };
    let curve = |name: &str, color, points| Curve {
        name: name.into(),
        color,
        points,
        markers: true,
    };
    let chart = |y_label: &str, train, validation, y_range| LineChart {
        curves: vec![
            curve("train", palette::ORANGE, train),
            curve("validation", palette::SKY_BLUE, validation),
        ],
        x_label: "epoch".into(),
        y_label: y_label.into(),
        y_range,
        x_max: report.settings.epochs.max(1) as f64,
    };
    (
        chart(
            "loss",
            per_epoch(&|e| Some(e.train_loss)),
            per_epoch(&|e| e.validation_loss),
            None,
        ),
        chart(
            "accuracy",
            per_epoch(&|e| Some(e.train_accuracy)),
            per_epoch(&|e| e.validation_accuracy),
            Some((0.0, 1.0)),
        ),
    )
}

/// Grad-CAM of one image as a panel: original, heatmap, overlay.
fn cam_panel(
    name: &str,
    title: String,
    caption: String,
    image: &[u8],
    heatmap_values: &[f32],
    rows: usize,
    cols: usize,
) -> Panel {
    let (w, h) = (cols * SCALE, rows * SCALE);
    Panel {
        title,
        caption,
        figures: vec![
            pixels(
                format!("{name}-original"),
                "original".into(),
                w,
                h,
                &heatmap::original_rgba(image, rows, cols, SCALE),
            ),
            pixels(
                format!("{name}-heatmap"),
                "Grad-CAM heatmap".into(),
                w,
                h,
                &heatmap::heatmap_rgba(heatmap_values, rows, cols, SCALE),
            ),
            pixels(
                format!("{name}-overlay"),
                "overlay".into(),
                w,
                h,
                &heatmap::overlay_rgba(image, heatmap_values, rows, cols, SCALE, 0.5),
            ),
        ],
    }
}

fn explanation_panel(name: &str, e: &Explanation, names: &[String]) -> Panel {
    let class = |i: usize| crate::class_name(names, i);
    let said = top_class(&e.probabilities);
    cam_panel(
        name,
        format!("Test image #{} by {}", e.test_index, e.model_name),
        format!(
            "Truly {}; {} said {} ({:.1}% sure). The heatmap explains the class {}.",
            class(e.truth as usize),
            e.model_name,
            class(said),
            e.probabilities.get(said).copied().unwrap_or(0.0) * 100.0,
            class(e.class)
        ),
        &e.image,
        &e.heatmap,
        e.rows,
        e.cols,
    )
}

fn prediction_panels(at: usize, p: &Predictions, names: &[String]) -> Vec<Panel> {
    let class = |i: usize| crate::class_name(names, i);
    let answers: Vec<String> = p
        .models
        .iter()
        .map(|m| {
            let top = top_class(&m.probabilities);
            format!(
                "{} said {} ({:.1}%)",
                m.model_name,
                class(top),
                m.probabilities.get(top).copied().unwrap_or(0.0) * 100.0
            )
        })
        .collect();
    let caption = format!("Your image \"{}\": {}.", p.label, answers.join("; "));
    let with_cam: Vec<Panel> = p
        .models
        .iter()
        .filter_map(|m| Some((m, m.heatmap.as_ref()?)))
        .enumerate()
        .map(|(k, (m, heat))| {
            cam_panel(
                &format!("pinned-{at}-{k}"),
                format!("{} by {}", p.label, m.model_name),
                caption.clone(),
                &p.image,
                heat,
                p.rows,
                p.cols,
            )
        })
        .collect();
    if !with_cam.is_empty() {
        return with_cam;
    }
    let (w, h) = (p.cols * SCALE, p.rows * SCALE);
    vec![Panel {
        title: p.label.clone(),
        caption,
        figures: vec![pixels(
            format!("pinned-{at}"),
            "your image as the models saw it".into(),
            w,
            h,
            &heatmap::original_rgba(&p.image, p.rows, p.cols, SCALE),
        )],
    }]
}

/// Everything the report says, from the state, the plan and the worker's material.
pub fn study(
    state: &State,
    format: ReportFormat,
    plan: &Plan,
    material: &ReportMaterial,
    environment: Environment,
    page: &str,
) -> Result<Study, String> {
    let summary = state.summary().ok_or("the dataset is not loaded")?;
    let names = &summary.class_names;
    let class = |i: usize| crate::class_name(names, i);
    let light = palette::LIGHT.background;
    // Data: the balance chart and a sample grid.
    let mut data_figures = vec![bar_figure(
        "class-balance",
        "Images per class in each split".into(),
        &balance_chart(summary),
        format,
    )?];
    if let Some(grid) = &state.samples {
        let images: Vec<&[u8]> = grid
            .images
            .iter()
            .flat_map(|row| row.iter().take(8).map(Vec::as_slice))
            .collect();
        let layout = GridLayout {
            columns: 8,
            scale: 2,
            gap: 2,
        };
        let (w, h, rgba) = grid_rgba_on(&images, grid.rows, grid.cols, layout, light);
        data_figures.push(pixels(
            "samples".into(),
            "Training images, a row per class (up to 8 each), in class order".into(),
            w,
            h,
            &rgba,
        ));
    }
    let (source, licence) = match (&state.picked_files, &state.params.data) {
        (Some(names), _) => (
            format!(
                "the files {} picked from disk (the links that rerun a model load the data their address names: pick the same files again after opening one)",
                names.join(", ")
            ),
            "Their licence is not known to Atelier: check it with the data's owner before publishing.".to_string(),
        ),
        (None, None) => (
            "Fashion-MNIST (Zalando Research, Xiao, Rasul and Vollgraf, 2017), bundled with Atelier".to_string(),
            "The images and labels are © Zalando SE, released under the MIT licence.".to_string(),
        ),
        (None, Some(url)) if url == "fashion" => (
            "Fashion-MNIST (Zalando Research, Xiao, Rasul and Vollgraf, 2017), bundled with Atelier".to_string(),
            "The images and labels are © Zalando SE, released under the MIT licence.".to_string(),
        ),
        (None, Some(url)) if url == atelier_core::source::FASHION_COLOUR => (
            "Fashion-MNIST (Zalando Research, Xiao, Rasul and Vollgraf, 2017), bundled with Atelier and tinted by it: \
             each garment and its background take a colour drawn per image from a seeded generator, whatever the class"
                .to_string(),
            "The images and labels are © Zalando SE, released under the MIT licence.".to_string(),
        ),
        (None, Some(url)) if url.starts_with(atelier_core::saved::PREFIX) => (
            format!(
                "{}, brought from disk and kept in this browser (the links that rerun a model open it there)",
                state
                    .saved_datasets
                    .iter()
                    .find(|d| url.ends_with(&d.id))
                    .map_or("a dataset", |d| d.name.as_str())
            ),
            "Its licence is not known to Atelier: check it with the data's owner before publishing.".to_string(),
        ),
        (None, Some(url)) if url.starts_with("cifar") => (
            format!(
                "CIFAR's binary files (Krizhevsky, \"Learning Multiple Layers of Features from Tiny Images\", 2009) read from {}",
                url.split_once(':').map_or(url.as_str(), |(_, base)| base)
            ),
            "Their licence is not known to Atelier: check it with the data's owner before publishing.".to_string(),
        ),
        (None, Some(url)) => (
            format!("IDX files read from {url}"),
            "Their licence is not known to Atelier: check it with the data's owner before publishing.".to_string(),
        ),
    };
    let data = DataPart {
        source,
        licence,
        channels: 1,
        rows: summary.rows,
        cols: summary.cols,
        class_names: names.clone(),
        balance: summary.balance.clone(),
        split_seed: summary.split_seed,
        validation_per_mille: summary.validation_per_mille,
        figures: data_figures,
    };
    // Per model: curves and the confusion matrix.
    let mut models = Vec::new();
    for (i, m) in state.models.iter().enumerate() {
        let mut figures = Vec::new();
        if !m.epochs.is_empty() {
            let (loss, accuracy) = epoch_charts(m);
            figures.push(line_figure(
                format!("model-{i}-loss"),
                format!("Loss per epoch of {}", m.name),
                &loss,
                format,
            )?);
            figures.push(line_figure(
                format!("model-{i}-accuracy"),
                format!("Accuracy per epoch of {}", m.name),
                &accuracy,
                format,
            )?);
        }
        if !m.confusion.is_empty() {
            let caption = format!(
                "Confusion matrix of {} on {} test images (rows: true class, columns: predicted)",
                m.name, m.test_images
            );
            let (svg_text, w, h) = svg::confusion(&m.confusion, names);
            let data = match format {
                ReportFormat::Html => FigureData::Svg(svg_text),
                ReportFormat::Markdown => FigureData::Png(canvas_png(w, h, |canvas| {
                    crate::charts::confusion::draw_with(
                        canvas,
                        &m.confusion,
                        names,
                        crate::charts::confusion::CellValues::Counts,
                        palette::LIGHT,
                    )
                    .map(|_| ())
                })?),
            };
            // The canvas drawing sizes itself; the SVG's size is the one stated.
            let (w, h) = match &data {
                FigureData::Png(png) => {
                    atelier_core::study::encode::png_size(png).unwrap_or((w, h))
                }
                FigureData::Svg(_) => (w, h),
            };
            figures.push(Figure {
                name: format!("model-{i}-confusion"),
                caption,
                width: w,
                height: h,
                data,
            });
        }
        models.push(ModelPart {
            report: (**m).clone(),
            rerun: rerun_link(page, &state.params, m),
            figures,
        });
    }
    // The comparison charts, most accurate first as on the Compare tab.
    let mut rows = compare_tab::rows(&state.models);
    compare_tab::sort_rows(&mut rows, compare_tab::SortKey::Accuracy, true);
    let (accuracy_chart, time_chart) = compare_tab::charts(&rows);
    let comparison = if state.models.len() > 1 {
        vec![
            bar_figure(
                "compare-accuracy",
                "Test accuracy of each model (%)".into(),
                &accuracy_chart,
                format,
            )?,
            bar_figure(
                "compare-fit-time",
                "Fit time of each model (s)".into(),
                &time_chart,
                format,
            )?,
        ]
    } else {
        Vec::new()
    };
    let explanations = material
        .explanations
        .iter()
        .enumerate()
        .map(|(k, e)| explanation_panel(&format!("mistake-{k}"), e, names))
        .collect();
    let mut pinned = Vec::new();
    for (at, pin) in state.pinned.iter().enumerate() {
        match pin {
            Pin::Explanation(e) => {
                pinned.push(explanation_panel(&format!("pinned-{at}"), e, names))
            }
            Pin::Prediction(p) => pinned.extend(prediction_panels(at, p, names)),
        }
    }
    // The confused pairs with their example images.
    let image = |index: usize| {
        material
            .images
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, p)| p.as_slice())
    };
    let pairs = plan
        .pairs
        .iter()
        .enumerate()
        .map(|(k, (pair, one, other))| {
            let mut figures = Vec::new();
            for (dir, (examples, truth, said)) in [(one, pair.a, pair.b), (other, pair.b, pair.a)]
                .into_iter()
                .enumerate()
            {
                let indices = &examples.indices;
                let shown: Vec<&[u8]> = indices.iter().filter_map(|&i| image(i)).collect();
                if shown.is_empty() {
                    continue;
                }
                let layout = GridLayout {
                    columns: shown.len(),
                    scale: 3,
                    gap: 3,
                };
                let (w, h, rgba) =
                    grid_rgba_on(&shown, material.rows, material.cols, layout, light);
                let numbers: Vec<String> = indices.iter().map(|i| format!("#{i}")).collect();
                figures.push(pixels(
                    format!("pair-{k}-{dir}"),
                    format!(
                        "{} taken for {} by {} (test images {})",
                        class(truth),
                        class(said),
                        examples.model,
                        numbers.join(", ")
                    ),
                    w,
                    h,
                    &rgba,
                ));
            }
            PairPart {
                pair: pair.clone(),
                figures,
            }
        })
        .collect();
    Ok(Study {
        data,
        environment,
        models,
        comparison,
        test_labels: summary.test_labels.clone(),
        explanations,
        pinned,
        pairs,
        problems: material.problems.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::protocol::{
        ClassBalance, ClassScore, DatasetSummary, EpochPoint, FromWorker, Mistake, RunEnd,
        TrainSettings,
    };
    use yew::Reducible;

    fn summary() -> DatasetSummary {
        DatasetSummary {
            class_names: vec!["Shirt".into(), "Coat".into()],
            channels: 1,
            rows: 4,
            cols: 4,
            train_count: 8,
            validation_count: 2,
            test_count: 4,
            split_seed: 42,
            validation_per_mille: 100,
            balance: ClassBalance {
                train: vec![4, 4],
                validation: vec![1, 1],
                test: vec![2, 2],
            },
            mean_images: vec![],
            histograms: vec![],
            parse_ms: 0.0,
            import: None,
            test_labels: vec![0, 1, 0, 1],
        }
    }

    fn model(id: &str, model: &str, predicted: Vec<u8>, accuracy: f64) -> ModelReport {
        ModelReport {
            id: id.into(),
            model: model.into(),
            name: format!(
                "{} #{id}",
                atelier_core::protocol::model_label(model).unwrap()
            ),
            backend: "CPU".into(),
            settings: TrainSettings::for_model(model),
            end: RunEnd::Done,
            epochs: vec![EpochPoint {
                epoch: 0,
                train_loss: 0.5,
                train_accuracy: 0.8,
                validation_loss: Some(0.6),
                validation_accuracy: Some(0.75),
                best: true,
            }],
            best_epoch: 1,
            parameters: 10,
            train_seconds: 2.0,
            samples_per_second: 4.0,
            test_images: 4,
            test_accuracy: accuracy,
            test_loss: 0.4,
            macro_f1: accuracy,
            per_class: vec![
                ClassScore {
                    precision: 0.5,
                    recall: 0.5,
                    f1: 0.5,
                    support: 2
                };
                2
            ],
            confusion: vec![vec![1, 1], vec![0, 2]],
            inference_images_per_second: 100.0,
            mistakes: vec![Mistake {
                index: 2,
                truth: 0,
                predicted: 1,
                confidence: 0.9,
            }],
            predicted,
            size_bytes: 100,
            created_ms: 1_764_633_600_000.0,
            confused_pairs: vec![],
        }
    }

    fn state_with_two_models() -> State {
        let mut s = State::from_query("?tab=compare");
        s = (*Rc::new(s).reduce(Action::FromWorker(FromWorker::DatasetReady(Box::new(
            summary(),
        )))))
        .clone();
        for m in [
            model("1", "cnn", vec![0, 1, 1, 1], 0.75),
            model("2", "logreg", vec![1, 1, 1, 1], 0.5),
        ] {
            s = (*Rc::new(s).reduce(Action::FromWorker(FromWorker::ModelReady(Box::new(m)))))
                .clone();
        }
        s
    }

    #[test]
    fn nothing_to_report_says_what_to_do() {
        let s = State::default();
        assert!(refusal(&s).unwrap().starts_with("No model yet: train one"));
        assert!(refusal(&state_with_two_models()).is_none());
    }

    #[test]
    fn report_one_waits_for_the_autorun_to_end() {
        let mut s = state_with_two_models();
        s.params.report = true;
        s.params.autorun = true;
        s.worker_ready = true;
        s.autorun_fired = true;
        s.run.status = RunStatus::Done;
        assert!(!report_due(&s), "the saved models are not back yet");
        s.restored = true;
        s.autorun_fired = false;
        s.run.status = RunStatus::Idle;
        assert!(!report_due(&s), "the autorun has not run yet");
        s.autorun_fired = true;
        s.run.status = RunStatus::Running;
        assert!(!report_due(&s));
        s.run.status = RunStatus::Done;
        assert!(report_due(&s));
        s.report_fired = true;
        assert!(!report_due(&s), "once per page load");
    }

    #[test]
    fn the_study_has_svg_charts_and_png_pixels_for_every_model_and_pair() {
        let s = state_with_two_models();
        let reports: Vec<&ModelReport> = s.models.iter().map(|m| m.as_ref()).collect();
        let plan = analysis::plan(&reports, &[0, 1, 0, 1]);
        assert_eq!(plan.explain, vec![("1".to_string(), 2)]);
        let material = ReportMaterial {
            explanations: vec![Explanation {
                model_id: "1".into(),
                model_name: "CNN #1".into(),
                test_index: 2,
                truth: 0,
                class: 1,
                probabilities: vec![0.1, 0.9],
                channels: 1,
                rows: 4,
                cols: 4,
                image: vec![200; 16],
                heatmap: vec![0.5; 16],
                layer: 0,
                layers: vec!["conv".into()],
            }],
            channels: 1,
            rows: 4,
            cols: 4,
            images: plan
                .images()
                .into_iter()
                .map(|i| (i, vec![9u8; 16]))
                .collect(),
            problems: vec![],
        };
        let study = study(
            &s,
            ReportFormat::Html,
            &plan,
            &material,
            Environment::default(),
            "http://127.0.0.1:8080/",
        )
        .unwrap();
        assert_eq!(study.models.len(), 2);
        // Loss, accuracy and confusion per model; the loss chart is a plotters SVG.
        for m in &study.models {
            assert_eq!(m.figures.len(), 3);
            assert!(
                matches!(&m.figures[0].data, FigureData::Svg(svg) if svg.contains("<svg") && svg.contains("epoch"))
            );
            assert!(m.rerun.starts_with("http://127.0.0.1:8080/?tab=train"));
            assert!(m.rerun.contains("autorun=1"));
        }
        assert!(study.models[1].rerun.contains("model=logreg"));
        assert_eq!(study.comparison.len(), 2);
        assert_eq!(study.explanations.len(), 1);
        assert_eq!(study.explanations[0].figures.len(), 3);
        assert!(
            study.explanations[0]
                .caption
                .starts_with("Truly Shirt; CNN #1 said Coat (90.0% sure)")
        );
        // Shirt taken for Coat (by the CNN, the most accurate): test image 2.
        assert_eq!(study.pairs.len(), 1);
        assert_eq!(study.pairs[0].figures.len(), 1);
        assert!(
            study.pairs[0].figures[0]
                .caption
                .contains("Shirt taken for Coat by CNN #1 (test images #2)")
        );
        let html = study.to_html();
        assert!(html.contains("CNN #1") && html.contains("Logistic regression #2"));
        assert!(html.contains("data:image/svg+xml;base64,"));
    }

    #[test]
    fn the_data_section_names_where_the_data_came_from() {
        let material = ReportMaterial {
            rows: 4,
            cols: 4,
            ..ReportMaterial::default()
        };
        let source = |s: &State| {
            study(
                s,
                ReportFormat::Html,
                &Plan::default(),
                &material,
                Environment::default(),
                "",
            )
            .unwrap()
            .data
        };
        let mut s = state_with_two_models();
        assert!(source(&s).source.starts_with("Fashion-MNIST"));
        assert!(source(&s).licence.contains("MIT licence"));
        s.params.data = Some("https://example.org/mnist/".into());
        assert_eq!(
            source(&s).source,
            "IDX files read from https://example.org/mnist/"
        );
        s.params.data = Some("fashion-colour".into());
        assert!(source(&s).source.contains("tinted"));
        s.params.data = Some("cifar10:https://example.org/c10/".into());
        assert!(
            source(&s)
                .source
                .contains("read from https://example.org/c10/")
        );
        let names = ["a.gz", "b.gz", "c.gz", "d.gz"].map(String::from).to_vec();
        s = (*Rc::new(s).reduce(Action::FilesPicked(names))).clone();
        let data = source(&s);
        assert!(
            data.source
                .starts_with("the files a.gz, b.gz, c.gz, d.gz picked from disk"),
            "{}",
            data.source
        );
        assert!(data.licence.contains("not known"));
    }

    #[test]
    fn ten_models_with_long_runs_stay_well_under_ten_megabytes() {
        let mut s = state_with_two_models();
        for i in 3..=10 {
            let mut m = model(&i.to_string(), "resnet", vec![0, 1, 0, 1], 1.0);
            m.epochs = (0..50)
                .map(|e| EpochPoint {
                    epoch: e,
                    train_loss: 1.0 / (e + 1) as f64,
                    train_accuracy: 0.9,
                    validation_loss: Some(0.5),
                    validation_accuracy: Some(0.88),
                    best: false,
                })
                .collect();
            s = (*Rc::new(s).reduce(Action::FromWorker(FromWorker::ModelReady(Box::new(m)))))
                .clone();
        }
        let reports: Vec<&ModelReport> = s.models.iter().map(|m| m.as_ref()).collect();
        let plan = analysis::plan(&reports, &[0, 1, 0, 1]);
        let material = ReportMaterial {
            rows: 4,
            cols: 4,
            ..ReportMaterial::default()
        };
        let study = study(
            &s,
            ReportFormat::Html,
            &plan,
            &material,
            Environment::default(),
            "",
        )
        .unwrap();
        let html = study.to_html();
        assert_eq!(study.models.len(), 10);
        assert!(html.len() < 3_000_000, "{} bytes", html.len());
    }
}
