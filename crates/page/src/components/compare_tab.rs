//! The Compare tab: every model trained in this browser in one sortable table, bar charts of accuracy and
//! fit time, two confusion matrices side by side, and the table exported as CSV or JSON.

use std::rc::Rc;

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::bar_chart_view::BarChartView;
use super::confusion_view::ConfusionView;
use crate::charts::bars::{BarChart, BarSeries};
use crate::charts::palette;
use crate::state::ReportFormat;
use atelier_core::protocol::{ModelReport, TrainSettings, model_label};

/// Props of [`CompareTab`].
#[derive(Properties, PartialEq)]
pub struct CompareTabProps {
    pub models: Vec<Rc<ModelReport>>,
    pub class_names: Vec<String>,
    /// Open a model in the Train tab.
    pub on_open: Callback<String>,
    /// A confusion cell of a model: (model id, true, predicted).
    pub on_cell: Callback<(String, usize, usize)>,
    /// Save a file: (name, MIME type, text).
    pub on_save: Callback<(String, String, String)>,
    /// Write the report in this format.
    pub on_report: Callback<ReportFormat>,
    /// What became of the last report.
    pub report_status: Option<String>,
    /// A report is being written.
    pub writing: bool,
    /// Images pinned to the report.
    pub pinned: usize,
}

/// The report's buttons and what became of the last one.
fn report_actions(props: &CompareTabProps) -> Html {
    let make = |format| props.on_report.reform(move |_: MouseEvent| format);
    html! {
        <div class="report-actions">
            <button data-testid="report-button" disabled={props.writing} onclick={make(ReportFormat::Html)}
                title="One HTML file with every section and figure: data, methods, results, explanations, error analysis, conclusions">
                { "Write report (HTML)" }
            </button>
            <button data-testid="report-markdown-button" disabled={props.writing} onclick={make(ReportFormat::Markdown)}
                title="The same report as Markdown, with its figures as PNG files, in a zip">
                { "Markdown (zip)" }
            </button>
            if props.pinned > 0 {
                <span class="muted">{ format!(" {} pinned to the report.", crate::text::count_of(props.pinned, "image", "images")) }</span>
            }
            if let Some(status) = &props.report_status {
                <p role="status" data-testid="report-status">{ status }</p>
            }
        </div>
    }
}

/// The columns a table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Accuracy,
    MacroF1,
    FitSeconds,
    ImagesPerSecond,
    Size,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub model: String,
    pub kind: String,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub class_f1: Vec<f64>,
    pub fit_seconds: f64,
    pub images_per_second: f64,
    pub size_bytes: usize,
    pub parameters: usize,
    pub backend: String,
    pub test_images: usize,
}

/// What a model is, as the table's Kind column says it: its label, and how it was fed and tested when that
/// differs from the plain way, so that figures measured differently are not compared unmarked.
pub fn kind(settings: &TrainSettings) -> String {
    let mut kind = model_label(&settings.model).unwrap_or("?").to_string();
    if let Some(recipe) = &settings.recipe {
        kind.push_str(&format!(" ({recipe} recipe)"));
    }
    if settings.features_from.is_some() {
        kind.push_str(" on network features");
    }
    if settings.tta {
        kind.push_str(", mirrored test");
    }
    kind
}

/// The rows of the reports, in the given order.
pub fn rows(models: &[Rc<ModelReport>]) -> Vec<Row> {
    models
        .iter()
        .map(|m| Row {
            id: m.id.clone(),
            name: m.name.clone(),
            model: m.model.clone(),
            kind: kind(&m.settings),
            accuracy: m.test_accuracy,
            macro_f1: m.macro_f1,
            class_f1: m.per_class.iter().map(|c| c.f1).collect(),
            fit_seconds: m.train_seconds,
            images_per_second: m.inference_images_per_second,
            size_bytes: m.size_bytes,
            parameters: m.parameters,
            backend: m.backend.clone(),
            test_images: m.test_images,
        })
        .collect()
}

/// Sorts rows by a column; ties keep their order.
pub fn sort_rows(rows: &mut [Row], key: SortKey, descending: bool) {
    rows.sort_by(|a, b| {
        let order = match key {
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Accuracy => a.accuracy.total_cmp(&b.accuracy),
            SortKey::MacroF1 => a.macro_f1.total_cmp(&b.macro_f1),
            SortKey::FitSeconds => a.fit_seconds.total_cmp(&b.fit_seconds),
            SortKey::ImagesPerSecond => a.images_per_second.total_cmp(&b.images_per_second),
            SortKey::Size => a.size_bytes.cmp(&b.size_bytes),
        };
        if descending { order.reverse() } else { order }
    });
}

/// Quotes a CSV field when it needs it (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The table as CSV, one header line then one line per row.
pub fn to_csv(rows: &[Row], class_names: &[String]) -> String {
    let mut header: Vec<String> = [
        "name",
        "model",
        "kind",
        "test_accuracy",
        "macro_f1",
        "fit_seconds",
        "inference_images_per_second",
        "size_bytes",
        "parameters",
        "backend",
        "test_images",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let classes = rows.iter().map(|r| r.class_f1.len()).max().unwrap_or(0);
    header.extend((0..classes).map(|i| format!("f1_{}", crate::class_name(class_names, i))));
    let mut out = header
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in rows {
        let mut fields = vec![
            csv_field(&r.name),
            csv_field(&r.model),
            csv_field(&r.kind),
            format!("{:.4}", r.accuracy),
            format!("{:.4}", r.macro_f1),
            format!("{:.2}", r.fit_seconds),
            format!("{:.0}", r.images_per_second),
            r.size_bytes.to_string(),
            r.parameters.to_string(),
            csv_field(&r.backend),
            r.test_images.to_string(),
        ];
        fields.extend((0..classes).map(|i| {
            r.class_f1
                .get(i)
                .map(|f| format!("{f:.4}"))
                .unwrap_or_default()
        }));
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// The table as a JSON array of objects.
pub fn to_json(rows: &[Row], class_names: &[String]) -> String {
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let per_class: serde_json::Map<String, serde_json::Value> = r
                .class_f1
                .iter()
                .enumerate()
                .map(|(i, f)| (crate::class_name(class_names, i), (*f).into()))
                .collect();
            serde_json::json!({
                "name": r.name, "model": r.model, "kind": r.kind,
                "test_accuracy": r.accuracy, "macro_f1": r.macro_f1, "f1_per_class": per_class,
                "fit_seconds": r.fit_seconds, "inference_images_per_second": r.images_per_second,
                "size_bytes": r.size_bytes, "parameters": r.parameters, "backend": r.backend,
                "test_images": r.test_images,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("plain values always serialise")
}

/// Bar charts of test accuracy (percent) and fit time (seconds), one bar per model.
pub fn charts(rows: &[Row]) -> (BarChart, BarChart) {
    let categories: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    let chart = |name: &str, color, values: Vec<f64>, y_label: &str| BarChart {
        categories: categories.clone(),
        series: vec![BarSeries {
            name: name.into(),
            color,
            values,
        }],
        y_label: y_label.into(),
        category_labels: true,
    };
    (
        chart(
            "Test accuracy",
            palette::SKY_BLUE,
            rows.iter()
                .map(|r| (r.accuracy * 1000.0).round() / 10.0)
                .collect(),
            "test accuracy (%)",
        ),
        chart(
            "Fit time",
            palette::ORANGE,
            rows.iter()
                .map(|r| (r.fit_seconds * 10.0).round() / 10.0)
                .collect(),
            "fit time (s)",
        ),
    )
}

/// The tab.
#[function_component(CompareTab)]
pub fn compare_tab(props: &CompareTabProps) -> Html {
    let sort = use_state(|| (SortKey::Accuracy, true));
    let left = use_state(|| None::<String>);
    let right = use_state(|| None::<String>);
    if props.models.is_empty() {
        return html! {
            <section class="panel" aria-label="Compare models">
                <p data-testid="comparison-empty">{ "No model yet. Train one (or load a model file) in the Train tab; every model lands here." }</p>
                { report_actions(props) }
            </section>
        };
    }
    let mut table = rows(&props.models);
    sort_rows(&mut table, sort.0, sort.1);
    let (accuracy_chart, time_chart) = charts(&table);
    let classes = table.iter().map(|r| r.class_f1.len()).max().unwrap_or(0);
    let header = |label: &str, key: SortKey| {
        let (active, descending_now) = (sort.0 == key, sort.1);
        let sort = sort.clone();
        let aria = match (active, descending_now) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        };
        let onclick = Callback::from(move |_: MouseEvent| {
            let descending = if sort.0 == key {
                !sort.1
            } else {
                key != SortKey::Name
            };
            sort.set((key, descending));
        });
        html! {
            <th scope="col" aria-sort={aria}>
                <button class="link" {onclick} data-testid={format!("sort-{key:?}").to_lowercase()}>
                    { label.to_string() }{ if active { if descending_now { " ▼" } else { " ▲" } } else { "" } }
                </button>
            </th>
        }
    };
    let save = |format: &'static str| {
        let (on_save, table, names) = (
            props.on_save.clone(),
            table.clone(),
            props.class_names.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (text, mime) = match format {
                "csv" => (to_csv(&table, &names), "text/csv"),
                _ => (to_json(&table, &names), "application/json"),
            };
            on_save.emit((format!("atelier-comparison.{format}"), mime.into(), text));
        })
    };
    let pick = |state: &UseStateHandle<Option<String>>| {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let value = e
                .target_dyn_into::<HtmlSelectElement>()
                .map(|s| s.value())
                .unwrap_or_default();
            state.set(Some(value));
        })
    };
    let chosen = |state: &UseStateHandle<Option<String>>, fallback: usize| {
        state
            .as_ref()
            .and_then(|id| props.models.iter().find(|m| &m.id == id))
            .or_else(|| {
                table
                    .get(fallback)
                    .and_then(|r| props.models.iter().find(|m| m.id == r.id))
            })
            .cloned()
    };
    let matrices = [
        (chosen(&left, 0), pick(&left), "compare-left"),
        (
            chosen(&right, 1.min(table.len() - 1)),
            pick(&right),
            "compare-right",
        ),
    ];
    let name = |i: usize| crate::class_name(&props.class_names, i);
    html! {
        <section class="compare-tab" aria-label="Compare models">
            <div class="panel">
                <div class="progress-line">
                    <h2>{ crate::text::count_of(table.len(), "model", "models") }</h2>
                    <span class="buttons">
                        <button data-testid="export-csv" onclick={save("csv")}>{ "Export CSV" }</button>
                        <button data-testid="export-json" onclick={save("json")}>{ "Export JSON" }</button>
                    </span>
                </div>
                { report_actions(props) }
                <div class="table-scroll">
                    <table class="comparison" data-testid="comparison-table">
                        <caption>{ "Every model trained or loaded in this browser, on the test images. Click a column to sort." }</caption>
                        <thead><tr>
                            { header("Model", SortKey::Name) }
                            <th scope="col">{ "Kind" }</th>
                            { header("Test accuracy", SortKey::Accuracy) }
                            { header("Macro F1", SortKey::MacroF1) }
                            { for (0..classes).map(|i| html! { <th scope="col" class="f1" title={format!("F1 of {}", name(i))}>{ format!("F1 {}", name(i)) }</th> }) }
                            { header("Fit time (s)", SortKey::FitSeconds) }
                            { header("Inference img/s", SortKey::ImagesPerSecond) }
                            { header("Size (MB)", SortKey::Size) }
                            <th scope="col">{ "Backend" }</th>
                        </tr></thead>
                        <tbody>
                            { for table.iter().map(|r| {
                                let open = { let (on_open, id) = (props.on_open.clone(), r.id.clone()); Callback::from(move |_: MouseEvent| on_open.emit(id.clone())) };
                                html! {
                                    <tr data-model={r.model.clone()} data-id={r.id.clone()}>
                                        <th scope="row"><button class="link" onclick={open}>{ &r.name }</button></th>
                                        <td>{ &r.kind }</td>
                                        <td data-testid="row-accuracy">{ format!("{:.4}", r.accuracy) }</td>
                                        <td>{ format!("{:.4}", r.macro_f1) }</td>
                                        { for (0..classes).map(|i| html! { <td class="f1">{ r.class_f1.get(i).map(|f| format!("{f:.3}")).unwrap_or_default() }</td> }) }
                                        <td>{ format!("{:.1}", r.fit_seconds) }</td>
                                        <td>{ format!("{:.0}", r.images_per_second) }</td>
                                        <td>{ format!("{:.2}", r.size_bytes as f64 / 1e6) }</td>
                                        <td>{ &r.backend }</td>
                                    </tr>
                                }
                            }) }
                        </tbody>
                    </table>
                </div>
            </div>
            <div class="panel charts">
                <BarChartView chart={Rc::new(accuracy_chart)} title="Test accuracy (%)" testid="compare-accuracy-chart" height={240} />
                <BarChartView chart={Rc::new(time_chart)} title="Fit time (s)" testid="compare-time-chart" height={240} />
            </div>
            <div class="panel side-by-side">
                { for matrices.into_iter().map(|(model, onchange, testid)| html! {
                    <div>
                        <label>{ "Confusion matrix of " }
                            <select {onchange} data-testid={format!("{testid}-select")}>
                                { for props.models.iter().map(|m| html! {
                                    <option value={m.id.clone()} selected={model.as_ref().is_some_and(|c| c.id == m.id)}>{ &m.name }</option>
                                }) }
                            </select>
                        </label>
                        if let Some(model) = model {
                            <ConfusionView counts={model.confusion.clone()} class_names={props.class_names.clone()} testid={testid}
                                on_cell={{ let (on_cell, id) = (props.on_cell.clone(), model.id.clone()); Callback::from(move |(t, p)| on_cell.emit((id.clone(), t, p))) }} />
                        }
                    </div>
                }) }
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, accuracy: f64, seconds: f64) -> Row {
        Row {
            id: name.into(),
            name: name.into(),
            model: "knn".into(),
            kind: "KNN".into(),
            accuracy,
            macro_f1: accuracy - 0.01,
            class_f1: vec![0.5, 0.25],
            fit_seconds: seconds,
            images_per_second: 10.0,
            size_bytes: 1000,
            parameters: 5,
            backend: "CPU".into(),
            test_images: 100,
        }
    }

    #[test]
    fn the_kind_says_how_a_model_was_fed_and_tested() {
        let mut settings = TrainSettings::for_model("logreg");
        assert_eq!(kind(&settings), model_label("logreg").unwrap());
        settings.tta = true;
        settings.features_from = Some("resnet-1".into());
        assert_eq!(
            kind(&settings),
            format!(
                "{} on network features, mirrored test",
                model_label("logreg").unwrap()
            )
        );
        let fast = TrainSettings::recipe("fast").unwrap();
        assert_eq!(
            kind(&fast),
            format!(
                "{} (fast recipe), mirrored test",
                model_label("cnn").unwrap()
            )
        );
    }

    #[test]
    fn rows_sort_by_any_column() {
        let mut rows = vec![row("b", 0.8, 3.0), row("a", 0.9, 1.0), row("c", 0.7, 2.0)];
        sort_rows(&mut rows, SortKey::Accuracy, true);
        assert_eq!(
            rows.iter().map(|r| r.name.as_str()).collect::<String>(),
            "abc"
        );
        sort_rows(&mut rows, SortKey::FitSeconds, false);
        assert_eq!(
            rows.iter().map(|r| r.name.as_str()).collect::<String>(),
            "acb"
        );
        sort_rows(&mut rows, SortKey::Name, false);
        assert_eq!(rows[0].name, "a");
    }

    #[test]
    fn csv_and_json_hold_every_row() {
        let rows = vec![row("KNN #1", 0.85, 1.5), row("odd, \"name\"", 0.5, 2.0)];
        let names = vec!["T-shirt/top".to_string(), "Trouser".to_string()];
        let csv = to_csv(&rows, &names);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("f1_T-shirt/top,f1_Trouser"));
        assert!(
            lines[1]
                .starts_with("KNN #1,knn,KNN,0.8500,0.8400,1.50,10,1000,5,CPU,100,0.5000,0.2500")
        );
        assert!(lines[2].starts_with("\"odd, \"\"name\"\"\","));
        let json: serde_json::Value = serde_json::from_str(&to_json(&rows, &names)).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 2);
        assert_eq!(json[0]["f1_per_class"]["Trouser"], 0.25);
        let (accuracy, time) = charts(&rows);
        assert_eq!(accuracy.series[0].values, vec![85.0, 50.0]);
        assert_eq!(time.series[0].values, vec![1.5, 2.0]);
    }
}
