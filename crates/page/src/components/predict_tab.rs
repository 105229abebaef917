//! The Predict tab: the user's own images (upload, drag and drop, paste, or a drawing), the visible
//! preprocessing pipeline with each step switchable, and every model's top-3 classes with Grad-CAM for the
//! networks. Images are decoded and classified in this page; nothing is sent anywhere.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlCanvasElement, HtmlInputElement, ImageBitmap};
use yew::prelude::*;

use super::draw_pad::{DRAW_SIDE, DrawPad};

use super::gradcam_panels::GradCamPanels;
use crate::charts::{context_2d, put_rgba};
use atelier_core::preprocess::{self, Stage, Steps};
use atelier_core::protocol::{ModelPrediction, ModelReport, Predictions};

/// The label of the drawn picture (a new drawing replaces the previous one).
const DRAWING: &str = "drawing";
/// Files above this size are refused before decoding.
pub const MAX_FILE_BYTES: f64 = 50e6;
/// Longer sides above this are downscaled by the browser before the pipeline (the result is 28x28).
pub const ANALYSIS_LIMIT: u32 = 1024;

/// A decoded picture: (label, width, height, RGBA).
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    pub label: String,
    pub width: usize,
    pub height: usize,
    pub rgba: Rc<Vec<u8>>,
}

/// Props of [`PredictTab`].
#[derive(Properties, PartialEq)]
pub struct PredictTabProps {
    pub class_names: Vec<String>,
    /// The dataset's image shape.
    #[prop_or(1)]
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
    pub models: Vec<Rc<ModelReport>>,
    /// The dataset is loaded (the worker can predict only then).
    pub ready: bool,
    pub predictions: Option<Rc<Predictions>>,
    /// (label, preprocessed pixels: `rows * cols` gray, or three planes of them in colour).
    pub on_predict: Callback<(String, Vec<u8>)>,
    pub on_error: Callback<String>,
    /// The current answers are ticked into the report.
    pub pinned: bool,
    /// Tick the current answers into the report (or out).
    pub on_pin: Callback<Rc<Predictions>>,
}

/// Why a file cannot be used, before decoding it; None when it may be an image.
pub fn refuse_file(name: &str, size: f64, mime: &str) -> Option<String> {
    if size <= 0.0 {
        return Some(format!("{name} is empty (0 bytes); pick an image file."));
    }
    if size > MAX_FILE_BYTES {
        return Some(format!(
            "{name} is {:.0} MB; images over 50 MB are refused. Pick a smaller image.",
            size / 1e6
        ));
    }
    if !mime.is_empty() && !mime.starts_with("image/") {
        return Some(format!(
            "{name} is not an image ({mime}); pick a PNG, JPEG or WebP file."
        ));
    }
    None
}

/// The pixels of a bitmap, downscaled so its longer side is at most [`ANALYSIS_LIMIT`].
fn bitmap_rgba(label: &str, bitmap: &ImageBitmap) -> Result<Picture, String> {
    let (w, h) = (bitmap.width(), bitmap.height());
    if w == 0 || h == 0 {
        return Err(format!(
            "{label} has no pixels (0 x 0); pick another image."
        ));
    }
    let factor = preprocess::downscale_factor(w, h, ANALYSIS_LIMIT);
    let dw = ((w as f64 * factor).round() as u32).max(1);
    let dh = ((h as f64 * factor).round() as u32).max(1);
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let canvas: HtmlCanvasElement = document
        .create_element("canvas")
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "not a canvas")?;
    canvas.set_width(dw);
    canvas.set_height(dh);
    let ctx = context_2d(&canvas)?;
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, dw as f64, dh as f64)
        .map_err(|e| format!("{e:?}"))?;
    let data = ctx
        .get_image_data(0.0, 0.0, dw as f64, dh as f64)
        .map_err(|e| format!("{e:?}"))?;
    Ok(Picture {
        label: label.to_string(),
        width: dw as usize,
        height: dh as usize,
        rgba: Rc::new(data.data().0),
    })
}

/// Decodes an image file in the browser.
async fn decode(file: web_sys::File) -> Result<Picture, String> {
    let name = file.name();
    if let Some(reason) = refuse_file(&name, file.size(), &file.type_()) {
        return Err(reason);
    }
    let window = web_sys::window().ok_or("no window")?;
    let promise = window
        .create_image_bitmap_with_blob(&file)
        .map_err(|e| format!("{e:?}"))?;
    let bitmap: ImageBitmap = JsFuture::from(promise)
        .await
        .map_err(|_| {
            format!(
                "{name} could not be read as an image: it is damaged or not a PNG, JPEG or WebP file."
            )
        })?
        .unchecked_into();
    let picture = bitmap_rgba(&name, &bitmap);
    bitmap.close();
    picture
}

/// A table row: the model's name and its three most likely classes with their probabilities.
pub fn top_three_row(m: &ModelPrediction, class_names: &[String]) -> Html {
    html! {
        <tr data-model={m.model.clone()}>
            <th scope="row">{ &m.model_name }</th>
            { for top_classes(&m.probabilities, 3).into_iter().map(|(c, p)| html! {
                <td>{ format!("{} {:.1}%", crate::class_name(class_names, c), p * 100.0) }</td>
            }) }
        </tr>
    }
}

/// The names of the top `n` classes with their probabilities, most likely first.
pub fn top_classes(probabilities: &[f32], n: usize) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = probabilities.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(n);
    ranked
}

/// The tab.
#[function_component(PredictTab)]
pub fn predict_tab(props: &PredictTabProps) -> Html {
    let pictures = use_state(Vec::<Picture>::new);
    let current = use_state(|| 0usize);
    let steps = use_state(Steps::default);
    let (channels, rows, cols) = (props.channels, props.rows, props.cols);
    let picture = pictures.get(*current).cloned();
    let stages: Rc<Result<Vec<Stage>, String>> = use_memo(
        (picture.clone(), *steps, channels, rows, cols),
        move |(picture, steps, channels, rows, cols)| match picture {
            Some(p) if *channels == 3 && !steps.gray => {
                preprocess::colour_pipeline(p.width, p.height, &p.rgba, steps.crop, *rows, *cols)
                    .map_err(|e| e.to_string())
            }
            Some(p) => preprocess::pipeline(p.width, p.height, &p.rgba, *steps, *rows)
                .map_err(|e| e.to_string()),
            None => Ok(Vec::new()),
        },
    );
    // Every new preprocessed image goes to the worker, and goes again when the models change: an image
    // chosen while the dataset loads or the saved models are restored (a reload straight onto this tab)
    // is classified once they are there, and a model trained meanwhile joins the answer.
    {
        let (on_predict, on_error) = (props.on_predict.clone(), props.on_error.clone());
        let label = picture
            .as_ref()
            .map(|p| p.label.clone())
            .unwrap_or_default();
        let model_ids: Vec<String> = props.models.iter().map(|m| m.id.clone()).collect();
        use_effect_with(
            (stages.clone(), props.ready, model_ids),
            move |(stages, ready, model_ids)| match stages.as_ref() {
                Ok(stages) => {
                    if let (Some(last), true, false) = (stages.last(), *ready, model_ids.is_empty())
                    {
                        on_predict.emit((label, last.image.pixels.clone()));
                    }
                }
                Err(e) => on_error.emit(e.clone()),
            },
        );
    }
    let add_files = {
        let (pictures, current, on_error) =
            (pictures.clone(), current.clone(), props.on_error.clone());
        Callback::from(move |files: Vec<web_sys::File>| {
            let (pictures, current, on_error) =
                (pictures.clone(), current.clone(), on_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let mut added = (*pictures).clone();
                let first_new = added.len();
                for file in files {
                    match decode(file).await {
                        Ok(p) => added.push(p),
                        Err(e) => on_error.emit(e),
                    }
                }
                if added.len() > first_new {
                    pictures.set(added);
                    current.set(first_new);
                }
            });
        })
    };
    let on_drawn = {
        let (pictures, current) = (pictures.clone(), current.clone());
        Callback::from(move |rgba: Rc<Vec<u8>>| {
            let drawn = Picture {
                label: DRAWING.into(),
                width: DRAW_SIDE as usize,
                height: DRAW_SIDE as usize,
                rgba,
            };
            let mut next = (*pictures).clone();
            // The drawing replaces the previous drawing.
            next.retain(|p| p.label != DRAWING);
            next.push(drawn);
            current.set(next.len() - 1);
            pictures.set(next);
        })
    };
    let accuracy_of = |id: &str| {
        props
            .models
            .iter()
            .find(|m| m.id == id)
            .map_or(0.0, |m| m.test_accuracy)
    };
    // The models' answers, best test accuracy first, for the current image only.
    let answers = props
        .predictions
        .as_ref()
        .filter(|p| picture.as_ref().is_some_and(|c| c.label == p.label))
        .map(|p| {
            let mut models = p.models.clone();
            models.sort_by(|a, b| accuracy_of(&b.model_id).total_cmp(&accuracy_of(&a.model_id)));
            (p.clone(), models)
        });
    html! {
        <section class="predict-tab" aria-label="Predict on your own images">
            <div class="panel">
                <h2>{ "Your images" }</h2>
                <p class="muted" data-testid="privacy-note">{ "Your images never leave this page: they are decoded, preprocessed and classified here, in your browser." }</p>
                <ImageInputs on_files={add_files} {on_drawn} on_error={props.on_error.clone()} />
                if pictures.len() > 1 {
                    <div class="picture-list" role="group" aria-label="Loaded images">
                        { for pictures.iter().enumerate().map(|(i, p)| {
                            let current = current.clone();
                            html! { <button class={classes!((i == *current).then_some("active"))} onclick={Callback::from(move |_: MouseEvent| current.set(i))}>{ &p.label }</button> }
                        }) }
                    </div>
                }
            </div>
            if let (Ok(stages), Some(picture)) = (stages.as_ref(), &picture) {
                if !stages.is_empty() {
                    <PipelineView label={picture.label.clone()} stages={stages.clone()} steps={*steps} colour={channels == 3}
                        on_steps={Callback::from({ let steps = steps.clone(); move |s| steps.set(s) })} />
                }
            }
            if let Some((predictions, models)) = answers {
                <Answers {predictions} {models} class_names={props.class_names.clone()}
                    pinned={props.pinned} on_pin={props.on_pin.clone()} />
            }
            if !props.ready {
                <p class="panel muted" data-testid="predict-waiting">{ "The dataset is still loading: the pipeline runs, and the predictions follow as soon as it and the saved models are ready." }</p>
            } else if props.models.is_empty() {
                <p class="panel muted" data-testid="predict-waiting">{ "No model is trained yet: the pipeline runs, and predictions appear once a model is trained (Train tab) or restored." }</p>
            }
        </section>
    }
}

/// Props of [`ImageInputs`].
#[derive(Properties, PartialEq)]
pub struct ImageInputsProps {
    /// Files uploaded, dropped or pasted.
    pub on_files: Callback<Vec<web_sys::File>>,
    /// The drawing after each stroke (RGBA, `DRAW_SIDE` a side).
    pub on_drawn: Callback<Rc<Vec<u8>>>,
    pub on_error: Callback<String>,
}

/// Every way in for a picture: a file input, a drop zone that also takes a paste, and the drawing pad.
#[function_component(ImageInputs)]
pub fn image_inputs(props: &ImageInputsProps) -> Html {
    let on_upload = {
        let on_files = props.on_files.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<HtmlInputElement>() {
                if let Some(list) = input.files() {
                    on_files.emit((0..list.length()).filter_map(|i| list.get(i)).collect());
                }
                input.set_value("");
            }
        })
    };
    let on_drop = {
        let on_files = props.on_files.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            if let Some(list) = e.data_transfer().and_then(|d| d.files()) {
                on_files.emit((0..list.length()).filter_map(|i| list.get(i)).collect());
            }
        })
    };
    let on_paste = {
        let (on_files, on_error) = (props.on_files.clone(), props.on_error.clone());
        Callback::from(move |e: Event| {
            let Ok(e) = e.dyn_into::<web_sys::ClipboardEvent>() else {
                return;
            };
            let files: Vec<web_sys::File> = e
                .clipboard_data()
                .and_then(|d| d.files())
                .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
                .unwrap_or_default();
            if files.is_empty() {
                on_error.emit(
                    "The clipboard holds no image; copy an image, then paste it here.".into(),
                );
            } else {
                e.prevent_default();
                on_files.emit(files);
            }
        })
    };
    html! {
                <div class="predict-inputs">
                    <div class="drop-zone" tabindex="0" data-testid="drop-zone" role="button"
                        aria-label="Drop or paste images here"
                        ondragover={Callback::from(|e: DragEvent| e.prevent_default())} ondrop={on_drop} onpaste={on_paste}>
                        <p>{ "Drop images here, or click here and paste (Ctrl+V)." }</p>
                        <label>{ "Or choose files: " }
                            <input type="file" accept="image/png,image/jpeg,image/webp,image/*" multiple=true
                                data-testid="upload-input" onchange={on_upload} />
                        </label>
                    </div>
                    <DrawPad on_drawn={props.on_drawn.clone()} />
                </div>
    }
}

/// Props of [`PipelineView`].
#[derive(Properties, PartialEq)]
pub struct PipelineViewProps {
    /// The picture's label.
    pub label: String,
    pub stages: Vec<Stage>,
    pub steps: Steps,
    pub on_steps: Callback<Steps>,
    /// The dataset is in colour: the picture keeps its colour unless the gray steps are switched on.
    #[prop_or_default]
    pub colour: bool,
}

/// The preprocessing steps, each switchable, and the image after each.
#[function_component(PipelineView)]
pub fn pipeline_view(props: &PipelineViewProps) -> Html {
    let toggle = |which: &'static str| {
        let (steps, on_steps) = (props.steps, props.on_steps.clone());
        Callback::from(move |_: Event| {
            let mut s = steps;
            match which {
                "gray" => s.gray = !s.gray,
                "invert" => s.invert_light_background = !s.invert_light_background,
                "crop" => s.crop = !s.crop,
                "pad" => s.pad_square = !s.pad_square,
                _ => s.normalise = !s.normalise,
            }
            on_steps.emit(s);
        })
    };
    html! {
    <div class="panel">
        <h2>{ format!("Preprocessing: {}", props.label) }</h2>
        <div class="steps" role="group" aria-label="Preprocessing steps">
            if props.colour {
                <label class="check"><input type="checkbox" checked={props.steps.gray} onchange={toggle("gray")} data-testid="step-gray" />{ "Gray steps (as for Fashion-MNIST: gray, inverted, cropped to the object)" }</label>
            }
            if props.colour && !props.steps.gray {
                <label class="check"><input type="checkbox" checked={props.steps.crop} onchange={toggle("crop")} data-testid="step-crop" />{ "Crop to a centred square" }</label>
            } else {
                <label class="check"><input type="checkbox" checked={props.steps.invert_light_background} onchange={toggle("invert")} data-testid="step-invert" />{ "Invert a light background" }</label>
                <label class="check"><input type="checkbox" checked={props.steps.crop} onchange={toggle("crop")} data-testid="step-crop" />{ "Crop to the object" }</label>
                <label class="check"><input type="checkbox" checked={props.steps.pad_square} onchange={toggle("pad")} data-testid="step-pad" />{ "Pad to a square" }</label>
                <label class="check"><input type="checkbox" checked={props.steps.normalise} onchange={toggle("normalise")} data-testid="step-normalise" />{ "Stretch the contrast" }</label>
            }
        </div>
        <div class="pipeline" data-testid="pipeline">
            { for props.stages.iter().map(|s| html! { <StageView stage={Rc::new(s.clone())} /> }) }
        </div>
    </div>
    }
}

/// Props of [`Answers`].
#[derive(Properties, PartialEq)]
pub struct AnswersProps {
    pub predictions: Rc<Predictions>,
    /// The models' answers, best test accuracy first.
    pub models: Vec<ModelPrediction>,
    pub class_names: Vec<String>,
    pub pinned: bool,
    pub on_pin: Callback<Rc<Predictions>>,
}

/// Every model's top 3 for the current image, and Grad-CAM for the networks.
#[function_component(Answers)]
pub fn answers(props: &AnswersProps) -> Html {
    let name = |i: usize| crate::class_name(&props.class_names, i);
    html! {
    <div class="panel">
        <h2>{ format!("What the models say ({:.0} ms)", props.predictions.milliseconds) }</h2>
        if let Some(best) = props.models.first() {
            <p>{ "Best model's answer: " }<strong data-testid="prediction-top1">{ name(top_classes(&best.probabilities, 1)[0].0) }</strong>
                { format!(" ({})", best.model_name) }</p>
        }
        <table data-testid="prediction-list" class="predictions">
            <thead><tr><th scope="col">{ "Model" }</th><th scope="col">{ "1st" }</th><th scope="col">{ "2nd" }</th><th scope="col">{ "3rd" }</th></tr></thead>
            <tbody>
                { for props.models.iter().map(|m| top_three_row(m, &props.class_names)) }
            </tbody>
        </table>
        <label class="pin-prediction">
            <input type="checkbox" data-testid="pin-prediction" checked={props.pinned}
                onchange={{ let (on_pin, p) = (props.on_pin.clone(), props.predictions.clone()); Callback::from(move |_: Event| on_pin.emit(p.clone())) }} />
            { " Include this image and its answers in the written report (it stays out unless ticked)" }
        </label>
        { for props.models.iter().enumerate().filter_map(|(k, m)| m.heatmap.as_ref().map(|h| (k, m, h))).map(|(k, m, h)| html! {
            <div class="prediction-gradcam">
                <h3>{ format!("{}: why {}", m.model_name, name(top_classes(&m.probabilities, 1)[0].0)) }</h3>
                <GradCamPanels image={Rc::new(props.predictions.image.clone())} heatmap={Rc::new(h.clone())}
                    rows={props.predictions.rows} cols={props.predictions.cols} scale={crate::charts::images::scale_for(props.predictions.rows.max(props.predictions.cols), 168)}
                    testid_prefix={format!("prediction-gradcam-{k}")} class_name={name(top_classes(&m.probabilities, 1)[0].0)} />
            </div>
        }) }
    </div>
    }
}

/// Props of [`StageView`].
#[derive(Properties, PartialEq)]
pub struct StageViewProps {
    pub stage: Rc<Stage>,
}

/// One step's image, shrunk or enlarged to a thumbnail.
#[function_component(StageView)]
pub fn stage_view(props: &StageViewProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with(props.stage.clone(), move |stage| {
            let image = &stage.image;
            // Thumbnails keep the aspect ratio within 84 x 84.
            let scale = 84.0 / image.width.max(image.height).max(1) as f64;
            let (w, h) = (
                ((image.width as f64 * scale).round() as usize).max(1),
                ((image.height as f64 * scale).round() as usize).max(1),
            );
            // One plane (gray) or three (colour), each resized on its own.
            let plane = (image.width * image.height).max(1);
            let thumbs: Vec<Vec<u8>> = image
                .pixels
                .chunks_exact(plane)
                .map(|pixels| {
                    let one = preprocess::Gray {
                        width: image.width,
                        height: image.height,
                        pixels: pixels.to_vec(),
                    };
                    preprocess::resize_area(&one, w, h).pixels
                })
                .collect();
            let joined: Vec<u8> = thumbs.concat();
            let rgba: Vec<u8> = (0..w * h)
                .flat_map(|i| {
                    let [r, g, b] = crate::charts::rgb_at(&joined, w * h, i);
                    [r, g, b, 255]
                })
                .collect();
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                let _ = put_rgba(&c, &rgba, w, h);
            }
        });
    }
    let s = &props.stage;
    html! {
        <figure class={classes!("stage", (!s.applied).then_some("off"))}>
            <canvas ref={canvas} role="img" aria-label={format!("{}: {} x {}", s.name, s.image.width, s.image.height)} />
            <figcaption>{ format!("{} ({}x{})", s.name, s.image.width, s.image.height) }</figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_checked_before_decoding() {
        assert!(refuse_file("a.png", 1000.0, "image/png").is_none());
        assert!(refuse_file("a", 1000.0, "").is_none());
        assert!(
            refuse_file("notes.txt", 10.0, "text/plain")
                .unwrap()
                .contains("not an image")
        );
        assert!(
            refuse_file("huge.png", 60e6, "image/png")
                .unwrap()
                .contains("50 MB")
        );
        assert!(
            refuse_file("empty.png", 0.0, "image/png")
                .unwrap()
                .contains("empty")
        );
    }

    #[test]
    fn top_classes_rank_by_probability() {
        assert_eq!(top_classes(&[0.1, 0.6, 0.3], 2), vec![(1, 0.6), (2, 0.3)]);
    }
}
