//! The Train tab: settings, Train/Stop, live progress and curves, and the evaluation of a model.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::confusion_view::ConfusionView;
use super::line_chart_view::LineChartView;
use crate::charts::lines::{Curve, LineChart, smooth, thin};
use crate::charts::palette;
use crate::state::{Run, RunStatus};
use atelier_core::defaults;
use atelier_core::protocol::{
    CONVOLUTIONAL_MODELS, GRADIENT_MODELS, MODELS, ModelReport, RECIPES, TrainSettings,
    model_label, widths_text,
};

/// Props of [`TrainTab`].
#[derive(Properties, PartialEq)]
pub struct TrainTabProps {
    pub settings: TrainSettings,
    pub run: Run,
    pub models: Vec<Rc<ModelReport>>,
    pub selected: Option<Rc<ModelReport>>,
    pub class_names: Vec<String>,
    pub dataset_ready: bool,
    pub on_settings: Callback<TrainSettings>,
    pub on_train: Callback<()>,
    pub on_stop: Callback<()>,
    /// (true, predicted) cell of the selected model's confusion matrix.
    pub on_cell: Callback<(usize, usize)>,
    pub on_mistakes: Callback<()>,
    /// Browse a sample of the test images (each opens Grad-CAM).
    pub on_browse: Callback<()>,
}

/// Points per curve at most; longer runs are averaged down.
const CURVE_POINTS: usize = 400;
/// TensorBoard's default smoothing weight.
const SMOOTHING: f64 = 0.6;

/// The loss and accuracy charts of a run: per-batch training values (smoothed) and per-epoch validation.
pub fn run_charts(run: &Run) -> (LineChart, LineChart) {
    let x = |b: &atelier_core::protocol::BatchPoint| {
        b.epoch as f64 + (b.batch + 1) as f64 / b.batches_per_epoch.max(1) as f64
    };
    let xs: Vec<f64> = run.batches.iter().map(x).collect();
    let losses = smooth(
        &run.batches
            .iter()
            .map(|b| b.loss as f64)
            .collect::<Vec<_>>(),
        SMOOTHING,
    );
    let accuracies = smooth(
        &run.batches
            .iter()
            .map(|b| b.accuracy as f64)
            .collect::<Vec<_>>(),
        SMOOTHING,
    );
    let zip = |ys: Vec<f64>| {
        thin(
            &xs.iter().copied().zip(ys).collect::<Vec<_>>(),
            CURVE_POINTS,
        )
    };
    // Epochs without a validation figure (a run with no validation part) draw no point.
    let per_epoch = |f: fn(&atelier_core::protocol::EpochPoint) -> Option<f64>| {
        run.epochs
            .iter()
            .filter_map(|e| Some((e.epoch as f64 + 1.0, f(e)?)))
            .collect()
    };
    let curve = |name: &str, color, points, markers| Curve {
        name: name.into(),
        color,
        points,
        markers,
    };
    let loss = LineChart {
        curves: vec![
            curve("train (smoothed)", palette::ORANGE, zip(losses), false),
            curve(
                "validation",
                palette::SKY_BLUE,
                per_epoch(|e| e.validation_loss),
                true,
            ),
        ],
        x_label: "epoch".into(),
        y_label: "loss".into(),
        y_range: None,
        x_max: run.epochs_planned.max(1) as f64,
    };
    let accuracy = LineChart {
        curves: vec![
            curve("train (smoothed)", palette::ORANGE, zip(accuracies), false),
            curve(
                "validation",
                palette::SKY_BLUE,
                per_epoch(|e| e.validation_accuracy),
                true,
            ),
        ],
        x_label: "epoch".into(),
        y_label: "accuracy".into(),
        y_range: Some((0.0, 1.0)),
        x_max: run.epochs_planned.max(1) as f64,
    };
    (loss, accuracy)
}

/// `95` -> `1 min 35 s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

fn value_of(e: &Event) -> String {
    let target = e.target();
    target
        .clone()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        .map(|i| {
            if i.type_() == "checkbox" {
                i.checked().to_string()
            } else {
                i.value()
            }
        })
        .or_else(|| {
            target
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                .map(|s| s.value())
        })
        .unwrap_or_default()
}

/// Applies one form field (named by its URL key) to the settings; a value that does not parse keeps the
/// old one.
pub fn apply_field(settings: &TrainSettings, field: &str, value: &str) -> TrainSettings {
    let mut s = settings.clone();
    s.set(field, value);
    s
}

/// Props of [`SettingsForm`].
#[derive(Properties, PartialEq)]
pub struct SettingsFormProps {
    pub settings: TrainSettings,
    /// The trained models (a classical model may take a network's features).
    pub models: Vec<Rc<ModelReport>>,
    /// A run is going: the settings are locked.
    pub active: bool,
    pub dataset_ready: bool,
    pub on_settings: Callback<TrainSettings>,
    pub on_train: Callback<()>,
    pub on_stop: Callback<()>,
}

/// The run's settings: the model, then the fields that model reads, then Train and Stop.
#[function_component(SettingsForm)]
pub fn settings_form(props: &SettingsFormProps) -> Html {
    let settings = &props.settings;
    let field = |name: &'static str| {
        let (on_settings, settings) = (props.on_settings.clone(), settings.clone());
        Callback::from(move |e: Event| {
            on_settings.emit(apply_field(&settings, name, &value_of(&e)))
        })
    };
    let gradient = GRADIENT_MODELS.contains(&settings.model.as_str());
    html! {
            <form class="panel settings" data-testid="train-form" onsubmit={props.on_train.reform(|e: SubmitEvent| e.prevent_default())}>
                <label>{ "Model" }
                    <select data-testid="model-select" onchange={field("model")} disabled={props.active}>
                        { for MODELS.iter().map(|(key, label)| html! {
                            <option value={*key} selected={settings.model == *key}>{ *label }</option>
                        }) }
                    </select>
                </label>
                <label title="Whole settings (a CNN and how to train it) measured to reach an accuracy soon in the page on two CPU cores; a field changed after picking one changes only that field">{ "Recipe" }
                    <select data-testid="recipe-select" onchange={field("recipe")} disabled={props.active}>
                        <option value="none" selected={settings.recipe.is_none()}>{ "none (the fields below)" }</option>
                        { for RECIPES.iter().map(|(key, label)| html! {
                            <option value={*key} selected={settings.recipe.as_deref() == Some(*key)}>{ *label }</option>
                        }) }
                    </select>
                </label>
                if gradient {
                    <label>{ "Epochs" }<input type="number" min="1" max="1000" value={settings.epochs.to_string()} onchange={field("epochs")} data-testid="epochs-input" disabled={props.active} /></label>
                    <label>{ "Batch size" }<input type="number" min="1" max="4096" value={settings.batch_size.to_string()} onchange={field("batch")} data-testid="batch-input" disabled={props.active} /></label>
                    <label>{ "Learning rate" }<input type="number" step="any" min="0" value={settings.learning_rate.to_string()} onchange={field("lr")} data-testid="lr-input" disabled={props.active} /></label>
                    <label>{ if settings.model == "svm" || settings.model == "logreg" { "L2 (weight decay)" } else { "Weight decay" } }<input type="number" step="any" min="0" value={settings.weight_decay.to_string()} onchange={field("wd")} data-testid="wd-input" disabled={props.active} /></label>
                    if settings.model != "svm" {
                        <label title="Share of each training label spread evenly over all classes (0: none); keeps the network from growing overconfident">{ "Label smoothing (0-1)" }<input type="number" min="0" max="0.999" step="0.05" value={settings.label_smoothing.to_string()} onchange={field("smoothing")} data-testid="smoothing-input" disabled={props.active} /></label>
                    }
                    <label>{ "Schedule" }
                        <select onchange={field("schedule")} disabled={props.active}>
                            { for [("cosine", "cosine decay"), ("onecycle", "one cycle (warm-up, then cosine)"), ("step", "step (halve 3 times)"), ("constant", "constant")].iter().map(|(k, l)| html! {
                                <option value={*k} selected={settings.schedule == *k}>{ *l }</option>
                            }) }
                        </select>
                    </label>
                }
                if settings.model == "resnet" {
                    <label title="Channels of the first stage; the second has twice as many, the third four times">{ "Width (first stage)" }<input type="number" min={defaults::RESNET_WIDTH_RANGE.start().to_string()} max={defaults::RESNET_WIDTH_RANGE.end().to_string()} value={settings.resnet_width.to_string()} onchange={field("width")} data-testid="resnet-width-input" disabled={props.active} /></label>
                    <label title="Residual blocks in each of the three stages: depth = 6 x blocks + 2 (3: ResNet-20)">{ "Blocks per stage" }<input type="number" min={defaults::RESNET_BLOCKS_RANGE.start().to_string()} max={defaults::RESNET_BLOCKS_RANGE.end().to_string()} value={settings.resnet_blocks.to_string()} onchange={field("blocks")} data-testid="resnet-blocks-input" disabled={props.active} /></label>
                }
                if settings.model == "cnn" {
                    <label title="Output channels of each block, first to last; each block halves the image side">{ "Channels per block" }<input type="text" value={widths_text(&settings.cnn_channels)} onchange={field("channels")} data-testid="cnn-channels-input" disabled={props.active} /></label>
                    <label title="3x3 convolutions (each with batch norm and ReLU) before each block's pooling">{ "Convolutions per block" }<input type="number" min={defaults::CNN_CONVS_RANGE.start().to_string()} max={defaults::CNN_CONVS_RANGE.end().to_string()} value={settings.cnn_convs.to_string()} onchange={field("convs")} data-testid="cnn-convs-input" disabled={props.active} /></label>
                    <label title="Width of the dense layer before the class scores (0: none)">{ "Dense layer" }<input type="number" min={defaults::CNN_DENSE_RANGE.start().to_string()} max={defaults::CNN_DENSE_RANGE.end().to_string()} value={settings.cnn_dense.to_string()} onchange={field("dense")} data-testid="cnn-dense-input" disabled={props.active} /></label>
                    <label title="Dropout before the last layer; each block drops half as much after its pooling">{ "Dropout" }<input type="number" step="0.05" min="0" max={defaults::DROPOUT.end().to_string()} value={settings.cnn_dropout.to_string()} onchange={field("dropout")} data-testid="cnn-dropout-input" disabled={props.active} /></label>
                }
                if settings.model == "mlp" {
                    <label>{ "Hidden layers (widths)" }<input type="text" value={widths_text(&settings.hidden)} onchange={field("hidden")} data-testid="hidden-input" disabled={props.active} /></label>
                    <label>{ "Dropout" }<input type="number" step="0.05" min="0" max={defaults::DROPOUT.end().to_string()} value={settings.dropout.to_string()} onchange={field("dropout")} disabled={props.active} /></label>
                }
                if settings.model == "svm" {
                    <label>{ "Kernel" }
                        <select onchange={field("kernel")} disabled={props.active} data-testid="kernel-select">
                            <option value="rbf" selected={settings.kernel == "rbf"}>{ "RBF (random Fourier features)" }</option>
                            <option value="linear" selected={settings.kernel == "linear"}>{ "linear" }</option>
                        </select>
                    </label>
                    if settings.kernel == "rbf" {
                        <label>{ "Random features" }<input type="number" min="1" max={defaults::RFF_RANGE.end().to_string()} value={settings.rff_features.to_string()} onchange={field("rff")} disabled={props.active} /></label>
                        <label>{ "Gamma" }<input type="number" step="any" min="0" value={settings.gamma.to_string()} onchange={field("gamma")} disabled={props.active} /></label>
                        <label title="The random features are drawn in this many principal components of the images (0: all pixels)">{ "Principal components" }<input type="number" min="0" max={defaults::PCA_RANGE.end().to_string()} value={settings.pca.to_string()} onchange={field("pca")} disabled={props.active} /></label>
                    }
                }
                if settings.model == "forest" {
                    <label>{ "Trees" }<input type="number" min="1" max="2000" value={settings.trees.to_string()} onchange={field("trees")} data-testid="trees-input" disabled={props.active} /></label>
                    <label>{ "Maximum depth" }<input type="number" min="1" max="64" value={settings.max_depth.to_string()} onchange={field("depth")} disabled={props.active} /></label>
                    <label>{ "Bins" }<input type="number" min="2" max="256" value={settings.bins.to_string()} onchange={field("bins")} disabled={props.active} /></label>
                    <label>{ "Features per split (0: square root)" }<input type="number" min="0" value={settings.features_per_split.to_string()} onchange={field("mtry")} disabled={props.active} /></label>
                    <label class="check"><input type="checkbox" checked={settings.bootstrap} onchange={field("bootstrap")} disabled={props.active} />{ "Bootstrap samples" }</label>
                }
                if settings.model == "knn" {
                    <label>{ "k" }<input type="number" min="1" max="100" value={settings.k.to_string()} onchange={field("k")} data-testid="k-input" disabled={props.active} /></label>
                    <label>{ "Weights" }
                        <select onchange={field("weights")} disabled={props.active}>
                            <option value="distance" selected={settings.knn_weights == "distance"}>{ "by distance" }</option>
                            <option value="uniform" selected={settings.knn_weights == "uniform"}>{ "uniform" }</option>
                        </select>
                    </label>
                }
                if !CONVOLUTIONAL_MODELS.contains(&settings.model.as_str()) {
                    <label>{ "Input features" }
                        <select onchange={field("features_from")} disabled={props.active} data-testid="features-from-select">
                            <option value="" selected={settings.features_from.is_none()}>{ "pixels" }</option>
                            { for props.models.iter().filter(|m| CONVOLUTIONAL_MODELS.contains(&m.model.as_str())).map(|m| html! {
                                <option value={m.id.clone()} selected={settings.features_from.as_deref() == Some(m.id.as_str())}>{ format!("penultimate layer of {}", m.name) }</option>
                            }) }
                        </select>
                    </label>
                }
                <label>{ "Training images (empty: all)" }<input type="number" min="1" value={settings.train_size.map(|v| v.to_string()).unwrap_or_default()} onchange={field("train_size")} data-testid="train-size-input" disabled={props.active} /></label>
                <label>{ "Test images (empty: all)" }<input type="number" min="1" value={settings.test_size.map(|v| v.to_string()).unwrap_or_default()} onchange={field("test_size")} disabled={props.active} /></label>
                <label class="check" title="Score each test image as the mean of the model's probabilities for it and for its mirror image (test-time augmentation). Helps a network trained with flipped images; hurts a model that never saw one. Twice the evaluation time"><input type="checkbox" checked={settings.tta} onchange={field("tta")} data-testid="tta-input" disabled={props.active} />{ "Test with mirror images too" }</label>
                <label>{ "Seed" }<input type="number" min="0" value={settings.seed.to_string()} onchange={field("seed")} disabled={props.active} /></label>
                if gradient {
                    <label class="check"><input type="checkbox" checked={settings.augment} onchange={field("augment")} disabled={props.active} />{ "Augment (shift, flip)" }</label>
                    <label title="On the CPU backend, Web Workers that train the network together, each on part of every batch">{ "Web Workers on the CPU (0: one per core)" }<input type="number" min="0" max="64" value={settings.workers.to_string()} onchange={field("workers")} disabled={props.active} /></label>
                    if settings.augment {
                        <label title="Largest shift of each training image in pixels, each way (0: flip only)">{ "Shift (px, 0-4)" }<input type="number" min="0" max="4" step="1" value={settings.shift.to_string()} onchange={field("shift")} disabled={props.active} /></label>
                        <label title="Probability of covering a random rectangle of each training image with noise (random erasing); helps long runs, slows short ones">{ "Random erasing (0-1)" }<input type="number" min="0" max="1" step="0.05" value={settings.erase.to_string()} onchange={field("erase")} disabled={props.active} /></label>
                    }
                }
                <div class="buttons">
                    <button type="submit" data-testid="train-button" disabled={props.active || !props.dataset_ready}>{ "Train" }</button>
                    <button type="button" data-testid="stop-button" disabled={!props.active} onclick={props.on_stop.reform(|_: MouseEvent| ())}>{ "Stop" }</button>
                </div>
            </form>
    }
}

/// The tab.
#[function_component(TrainTab)]
pub fn train_tab(props: &TrainTabProps) -> Html {
    let settings = &props.settings;
    let active = props.run.status.is_active();
    let charts = use_memo(
        (
            props.run.batches.len(),
            props.run.epochs.len(),
            props.run.epochs_planned,
        ),
        {
            let run = props.run.clone();
            move |_| run_charts(&run)
        },
    );
    let (loss_chart, accuracy_chart) = (Rc::new(charts.0.clone()), Rc::new(charts.1.clone()));
    let run = &props.run;
    let last = run.batches.last();
    let progress_text = match (run.status, last) {
        (RunStatus::Starting, _) => "Starting…".to_string(),
        (RunStatus::Evaluating, _) => "Training finished; evaluating on the test set…".to_string(),
        (RunStatus::Running, Some(b)) if run.model == "forest" => format!(
            "Tree {}/{} · validation accuracy so far {:.3} · ETA {}",
            b.batch + 1,
            b.batches_per_epoch,
            b.accuracy,
            run.eta_seconds()
                .map(duration)
                .unwrap_or_else(|| "…".into())
        ),
        (RunStatus::Running, Some(b)) => format!(
            "Epoch {}/{} · batch {}/{} · {:.0} samples/s · ETA {}",
            b.epoch + 1,
            run.epochs_planned,
            b.batch + 1,
            b.batches_per_epoch,
            b.samples_per_second,
            run.eta_seconds()
                .map(duration)
                .unwrap_or_else(|| "…".into())
        ),
        (RunStatus::Running, None) => format!(
            "Training {} on {}…",
            model_label(&run.model).unwrap_or(""),
            run.backend
        ),
        (RunStatus::Done, _) => "Done.".into(),
        (RunStatus::Stopped, _) => {
            "Stopped; the model trained so far was kept and evaluated.".into()
        }
        (RunStatus::Failed, _) => run
            .message
            .clone()
            .unwrap_or_else(|| "The run failed.".into()),
        (RunStatus::Idle, _) => "No run yet.".into(),
    };
    let live_rate = last
        .map(|b| format!("{:.0}", b.samples_per_second))
        .unwrap_or_default();
    html! {
        <section class="train-tab" aria-label="Train and evaluate">
            <SettingsForm settings={settings.clone()} models={props.models.clone()} {active}
                dataset_ready={props.dataset_ready} on_settings={props.on_settings.clone()}
                on_train={props.on_train.clone()} on_stop={props.on_stop.clone()} />
            <div class="panel">
                <div class="progress-line">
                    <span>{ "Status: " }<strong data-testid="run-status">{ run.status.label() }</strong></span>
                    <span class="muted" data-testid="live-samples-per-second" aria-label="training samples per second">{ live_rate }</span>
                </div>
                <progress data-testid="train-progress" max="100" value={run.percent().to_string()} aria-valuenow={run.percent().to_string()}
                    aria-valuemin="0" aria-valuemax="100" aria-label="training progress" />
                <p data-testid="train-progress-text" aria-live="polite">{ progress_text }</p>
                if run.device_lost {
                    <p class="field-error" role="alert" data-testid="device-lost">
                        { run.message.clone().unwrap_or_default() }{ " " }
                        <button type="button" data-testid="use-cpu-button" disabled={active || !props.dataset_ready}
                            onclick={props.on_train.reform(|_: MouseEvent| ())}>{ "Train on the CPU backend" }</button>
                    </p>
                }
                <div class="charts">
                    <LineChartView chart={loss_chart} title="Loss" testid="loss-chart" />
                    <LineChartView chart={accuracy_chart} title="Accuracy" testid="accuracy-chart" />
                </div>
            </div>
            if let Some(report) = &props.selected {
                <Evaluation report={report.clone()} class_names={props.class_names.clone()} on_cell={props.on_cell.clone()} on_mistakes={props.on_mistakes.clone()} on_browse={props.on_browse.clone()} />
            }
        </section>
    }
}

/// Props of [`Evaluation`].
#[derive(Properties, PartialEq)]
pub struct EvaluationProps {
    pub report: Rc<ModelReport>,
    pub class_names: Vec<String>,
    pub on_cell: Callback<(usize, usize)>,
    pub on_mistakes: Callback<()>,
    pub on_browse: Callback<()>,
}

/// The summary, per-class table and confusion matrix of one model.
#[function_component(Evaluation)]
pub fn evaluation(props: &EvaluationProps) -> Html {
    let r = &props.report;
    let last = r.epochs.last();
    let row = |label: &str, value: Html| html! { <tr><th scope="row">{ label.to_string() }</th><td>{ value }</td></tr> };
    let name = |i: usize| crate::class_name(&props.class_names, i);
    html! {
        <div class="panel evaluation" data-testid="evaluation">
            <h2>{ format!("{} · {} · {}", r.name, r.backend, if r.end == atelier_core::protocol::RunEnd::Stopped { "stopped early" } else { "complete" }) }</h2>
            <div class="eval-grid">
                <table class="summary" data-testid="model-summary">
                    <tbody>
                        { row("Test accuracy", html! { <span data-testid="metric-test-accuracy">{ format!("{:.4}", r.test_accuracy) }</span> }) }
                        { row("Test loss", html! { format!("{:.4}", r.test_loss) }) }
                        { row("Macro F1", html! { format!("{:.4}", r.macro_f1) }) }
                        { row("Test images", html! { <span data-testid="metric-test-images">{ if r.settings.tta { format!("{}, each with its mirror image (tta)", r.test_images) } else { r.test_images.to_string() } }</span> }) }
                        { row("Final train accuracy / loss", html! { last.map(|e| format!("{:.4} / {:.4}", e.train_accuracy, e.train_loss)).unwrap_or_else(|| "–".into()) }) }
                        { row("Final validation accuracy / loss", html! { last.map(|e| match (e.validation_accuracy, e.validation_loss) {
                            (Some(accuracy), Some(loss)) => format!("{accuracy:.4} / {loss:.4}"),
                            _ => "– (no validation part)".into(),
                        }).unwrap_or_else(|| "–".into()) }) }
                        { row("Epochs run / best", html! { format!("{} / {}", r.epochs.len(), r.best_epoch) }) }
                        { row("Training time (steps only)", html! { <span data-testid="metric-train-seconds">{ format!("{:.1}", r.train_seconds) }</span> }) }
                        { row("Training samples/s", html! { <span data-testid="metric-samples-per-second">{ format!("{:.0}", r.samples_per_second) }</span> }) }
                        { row("Inference images/s", html! { <span data-testid="metric-inference-images-per-second">{ format!("{:.0}", r.inference_images_per_second) }</span> }) }
                        { row("Parameters", html! { r.parameters.to_string() }) }
                        { row("Saved size", html! { format!("{:.2} MB", r.size_bytes as f64 / 1e6) }) }
                    </tbody>
                </table>
                <ConfusionView counts={r.confusion.clone()} class_names={props.class_names.clone()} on_cell={props.on_cell.clone()} />
            </div>
            <div class="table-scroll">
            <table class="per-class" data-testid="per-class-table">
                <caption>{ "Per class (test set)" }</caption>
                <thead><tr><th scope="col">{ "Class" }</th><th scope="col">{ "Precision" }</th><th scope="col">{ "Recall" }</th><th scope="col">{ "F1" }</th><th scope="col">{ "Support" }</th></tr></thead>
                <tbody>
                    { for r.per_class.iter().enumerate().map(|(i, c)| html! {
                        <tr><th scope="row">{ name(i) }</th><td>{ format!("{:.3}", c.precision) }</td><td>{ format!("{:.3}", c.recall) }</td><td>{ format!("{:.3}", c.f1) }</td><td>{ c.support }</td></tr>
                    }) }
                </tbody>
            </table>
            </div>
            <button data-testid="mistakes-button" onclick={props.on_mistakes.reform(|_: MouseEvent| ())}>
                { format!("Show the {} most confident mistakes", r.mistakes.len()) }
            </button>
            { " " }
            <button data-testid="browse-test-button" onclick={props.on_browse.reform(|_: MouseEvent| ())}>
                { "Browse test images" }
            </button>
            if !r.confused_pairs.is_empty() {
                <div class="confused-pairs" data-testid="confused-pairs">
                    <h3>{ "Most confused pairs" }</h3>
                    <p class="muted">{ "Open a pair to see its mistakes; click an image for its Grad-CAM." }</p>
                    <ol>
                        { for r.confused_pairs.iter().map(|&(t, p, count)| {
                            let on_cell = props.on_cell.clone();
                            html! {
                                <li><button class="link" onclick={Callback::from(move |_: MouseEvent| on_cell.emit((t, p)))}>
                                    { format!("{} taken for {}: {}", name(t), name(p), crate::text::count_of(count as usize, "time", "times")) }
                                </button></li>
                            }
                        }) }
                    </ol>
                </div>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::protocol::{BatchPoint, EpochPoint};

    #[test]
    fn fields_parse_or_keep_the_old_value() {
        let s = TrainSettings::default();
        assert_eq!(apply_field(&s, "epochs", "3").epochs, 3);
        assert_eq!(apply_field(&s, "epochs", "zero").epochs, s.epochs);
        assert_eq!(apply_field(&s, "model", "resnet").model, "resnet");
        assert_eq!(apply_field(&s, "model", "bert").model, "cnn");
        assert_eq!(apply_field(&s, "train_size", "").train_size, None);
        assert_eq!(apply_field(&s, "train_size", "2000").train_size, Some(2000));
        assert!(apply_field(&s, "augment", "true").augment);
        assert!(apply_field(&s, "tta", "true").tta);
        assert!(!apply_field(&TrainSettings::for_model("resnet"), "augment", "false").augment);
        assert_eq!(apply_field(&s, "lr", "-1").learning_rate, s.learning_rate);
    }

    #[test]
    fn charts_follow_the_run() {
        let run = Run {
            epochs_planned: 2,
            batches: (0..4)
                .map(|b| BatchPoint {
                    epoch: b / 2,
                    batch: b % 2,
                    batches_per_epoch: 2,
                    loss: 1.0,
                    accuracy: 0.5,
                    samples_per_second: 1.0,
                    train_seconds: 1.0,
                })
                .collect(),
            epochs: vec![EpochPoint {
                epoch: 0,
                train_loss: 1.0,
                train_accuracy: 0.5,
                validation_loss: Some(0.8),
                validation_accuracy: Some(0.7),
                best: true,
            }],
            ..Run::default()
        };
        // A run without a validation part draws no validation points (not points at zero).
        let unvalidated = Run {
            epochs: vec![EpochPoint {
                validation_loss: None,
                validation_accuracy: None,
                ..run.epochs[0].clone()
            }],
            ..run.clone()
        };
        let (loss_without, accuracy_without) = run_charts(&unvalidated);
        assert!(loss_without.curves[1].points.is_empty());
        assert!(accuracy_without.curves[1].points.is_empty());
        let (loss, accuracy) = run_charts(&run);
        assert_eq!(loss.curves[0].points.len(), 4);
        assert_eq!(loss.curves[0].points[3].0, 2.0);
        assert_eq!(loss.curves[1].points, vec![(1.0, 0.8)]);
        assert_eq!(accuracy.curves[1].points, vec![(1.0, 0.7)]);
        assert_eq!(accuracy.y_range, Some((0.0, 1.0)));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(5.2), "5 s");
        assert_eq!(duration(95.0), "1 min 35 s");
        assert_eq!(duration(7300.0), "2 h 1 min");
    }
}
