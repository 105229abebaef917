//! Teach with the camera (Teachable Machine's way): name a class, hold a button to capture frames, add
//! classes, use the frames as the dataset and train; then every model's top 3 and the Grad-CAM overlay on
//! the live picture, five times a second. Frames never leave the page.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlCanvasElement, HtmlVideoElement, MediaStream, MediaStreamConstraints};
use yew::prelude::*;

use super::gradcam_panels::GradCamPanels;
use super::predict_tab::{top_classes, top_three_row};
use atelier_core::import::ImportOptions;
use atelier_core::protocol::Predictions;

/// The label of camera predictions (the Predict tab keeps its own).
pub const CAMERA_LABEL: &str = "camera";
/// Milliseconds between captured frames while the button is held (10 a second).
const CAPTURE_MS: i32 = 100;
/// Milliseconds between live frames (up to 6.7 a second); a frame waits for the previous answer, so the
/// rate is what the worker keeps up with (BENCHMARKS.md).
const PREDICT_MS: i32 = 150;
/// Frames a class needs before the frames can become a dataset (a fifth is held out for testing).
pub const MIN_FRAMES: usize = 5;

/// A repeating timer that stops when dropped.
struct Interval {
    id: i32,
    _tick: Closure<dyn FnMut()>,
}

impl Interval {
    fn new(ms: i32, tick: impl FnMut() + 'static) -> Option<Self> {
        let tick = Closure::<dyn FnMut()>::new(tick);
        let id = web_sys::window()?
            .set_interval_with_callback_and_timeout_and_arguments_0(
                tick.as_ref().unchecked_ref(),
                ms,
            )
            .ok()?;
        Some(Self { id, _tick: tick })
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        if let Some(w) = web_sys::window() {
            w.clear_interval_with_handle(self.id);
        }
    }
}

/// The centred square of the video's current frame at `size x size`, planar (gray: Rec. 601 luma).
fn grab(video: &HtmlVideoElement, options: &ImportOptions) -> Option<Vec<u8>> {
    let (w, h) = (video.video_width() as f64, video.video_height() as f64);
    if w < 1.0 || h < 1.0 {
        return None;
    }
    let size = options.size;
    let canvas: HtmlCanvasElement = web_sys::window()?
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into()
        .ok()?;
    canvas.set_width(size as u32);
    canvas.set_height(size as u32);
    let ctx: web_sys::CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    let side = w.min(h);
    ctx.draw_image_with_html_video_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
        video,
        (w - side) / 2.0,
        (h - side) / 2.0,
        side,
        side,
        0.0,
        0.0,
        size as f64,
        size as f64,
    )
    .ok()?;
    let rgba = ctx
        .get_image_data(0.0, 0.0, size as f64, size as f64)
        .ok()?
        .data()
        .0;
    Some(atelier_core::preprocess::planar_from_rgba(
        &rgba,
        options.gray,
    ))
}

/// Why the frames cannot become a dataset yet, if they cannot.
pub fn not_ready(counts: &[usize]) -> Option<String> {
    if counts.len() < 2 {
        return Some("add at least two classes".into());
    }
    counts
        .iter()
        .any(|&n| n < MIN_FRAMES)
        .then(|| format!("capture at least {MIN_FRAMES} frames of each class"))
}

/// Props of [`CameraPanel`].
#[derive(Properties, PartialEq)]
pub struct CameraPanelProps {
    /// Size and gray of the captured frames (the import options).
    pub options: ImportOptions,
    /// Size and gray of the frames classified live: the dataset in use's.
    pub live_options: ImportOptions,
    /// The class names of the dataset in use (for the live answers).
    pub class_names: Vec<String>,
    /// Trained models that take this dataset exist: live predictions run.
    pub can_predict: bool,
    /// The latest answers (those labelled [`CAMERA_LABEL`] are the camera's).
    pub predictions: Option<Rc<Predictions>>,
    /// (class names, labels, planar pixels): the frames as the dataset.
    pub on_dataset: Callback<(Vec<String>, Vec<u8>, Vec<u8>)>,
    /// A frame to classify (planar pixels of the options' shape).
    pub on_predict: Callback<Vec<u8>>,
    pub on_error: Callback<String>,
}

/// The camera panel.
#[function_component(CameraPanel)]
pub fn camera_panel(props: &CameraPanelProps) -> Html {
    let video = use_node_ref();
    let stream = use_mut_ref(|| None::<MediaStream>);
    let running = use_state(|| false);
    let problem = use_state(|| None::<String>);
    let name = use_state(String::new);
    // (class name, frames), and every frame with its class.
    let classes = use_state(Vec::<(String, usize)>::new);
    let frames = use_mut_ref(Vec::<(u8, Vec<u8>)>::new);
    let capturing = use_state(|| None::<usize>);
    let waiting = use_mut_ref(|| false);
    let start = {
        let (video, stream, running, problem) = (
            video.clone(),
            stream.clone(),
            running.clone(),
            problem.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let (video, stream, running, problem) = (
                video.clone(),
                stream.clone(),
                running.clone(),
                problem.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match open_camera().await {
                    Ok(s) => {
                        if let Some(v) = video.cast::<HtmlVideoElement>() {
                            v.set_src_object(Some(&s));
                            let _ = v.play();
                        }
                        *stream.borrow_mut() = Some(s);
                        problem.set(None);
                        running.set(true);
                    }
                    Err(e) => problem.set(Some(e)),
                }
            });
        })
    };
    // The camera stops when the panel goes away.
    {
        let stream = stream.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(s) = stream.borrow_mut().take() {
                    for track in s.get_tracks().iter() {
                        track.unchecked_into::<web_sys::MediaStreamTrack>().stop();
                    }
                }
            }
        });
    }
    // Capturing: a frame every CAPTURE_MS while the button is held.
    {
        let (video, frames, classes, options) = (
            video.clone(),
            frames.clone(),
            classes.clone(),
            props.options,
        );
        use_effect_with(*capturing, move |capturing| {
            let timer = capturing.and_then(|class| {
                Interval::new(CAPTURE_MS, move || {
                    let Some(frame) = video
                        .cast::<HtmlVideoElement>()
                        .and_then(|v| grab(&v, &options))
                    else {
                        return;
                    };
                    frames.borrow_mut().push((class as u8, frame));
                    let mut counts = (*classes).clone();
                    if let Some(c) = counts.get_mut(class) {
                        c.1 = frames
                            .borrow()
                            .iter()
                            .filter(|(l, _)| *l as usize == class)
                            .count();
                    }
                    classes.set(counts);
                })
            });
            move || drop(timer)
        });
    }
    // Live predictions: a frame every PREDICT_MS, each after the previous answer.
    {
        let (video, on_predict, options) =
            (video.clone(), props.on_predict.clone(), props.live_options);
        let waiting = waiting.clone();
        use_effect_with(
            (*running, props.can_predict, options),
            move |(running, can, _)| {
                let timer = (*running && *can).then(|| {
                    Interval::new(PREDICT_MS, move || {
                        if *waiting.borrow() {
                            return;
                        }
                        if let Some(frame) = video
                            .cast::<HtmlVideoElement>()
                            .and_then(|v| grab(&v, &options))
                        {
                            *waiting.borrow_mut() = true;
                            on_predict.emit(frame);
                        }
                    })
                });
                move || drop(timer)
            },
        );
    }
    let live = props
        .predictions
        .clone()
        .filter(|p| p.label == CAMERA_LABEL);
    // Answers received, for people and scripts measuring the rate (`data-answers`).
    let answers = use_state(|| 0usize);
    {
        let (waiting, answers) = (waiting.clone(), answers.clone());
        use_effect_with(live.clone(), move |live| {
            *waiting.borrow_mut() = false;
            if live.is_some() {
                answers.set(*answers + 1);
            }
        });
    }
    let add_class = {
        let (name, classes) = (name.clone(), classes.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let n = name.trim().to_string();
            if !n.is_empty() && !classes.iter().any(|(c, _)| *c == n) && classes.len() < 100 {
                let mut next = (*classes).clone();
                next.push((n, 0));
                classes.set(next);
                name.set(String::new());
            }
        })
    };
    let use_frames = {
        let (frames, classes, on_dataset, on_error) = (
            frames.clone(),
            classes.clone(),
            props.on_dataset.clone(),
            props.on_error.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            let counts: Vec<usize> = classes.iter().map(|(_, n)| *n).collect();
            if let Some(why) = not_ready(&counts) {
                on_error.emit(format!("The frames cannot be a dataset yet: {why}."));
                return;
            }
            let frames = frames.borrow();
            let names = classes.iter().map(|(c, _)| c.clone()).collect();
            let labels = frames.iter().map(|(l, _)| *l).collect();
            let pixels = frames.iter().flat_map(|(_, p)| p.iter().copied()).collect();
            on_dataset.emit((names, labels, pixels));
        })
    };
    let hold = |class: usize| {
        let capturing = capturing.clone();
        Callback::from(move |_: PointerEvent| capturing.set(Some(class)))
    };
    let release = {
        let capturing = capturing.clone();
        Callback::from(move |_: PointerEvent| capturing.set(None))
    };
    let name_of = |i: usize| crate::class_name(&props.class_names, i);
    html! {
        <details class="panel camera">
            <summary data-testid="camera-panel">{ "Teach with your camera" }</summary>
            <p class="muted">{ "Name a class, hold its button while you show it to the camera, add more classes, then use the frames as the dataset and train any model. The frames stay in this page." }</p>
            if !*running {
                <button data-testid="camera-start" onclick={start}>{ "Start the camera" }</button>
            }
            if let Some(p) = &*problem {
                <p class="field-error" role="alert" data-testid="camera-problem">{ p }</p>
            }
            <video ref={video} class="camera-video" autoplay=true muted=true playsinline=true hidden={!*running} data-testid="camera-video" />
            if *running {
                <form class="camera-classes" onsubmit={add_class}>
                    <input type="text" placeholder="a class name" value={(*name).clone()} data-testid="camera-class-name"
                        oninput={{ let name = name.clone(); Callback::from(move |e: InputEvent| if let Some(i) = e.target_dyn_into::<web_sys::HtmlInputElement>() { name.set(i.value()) }) }} />
                    <button type="submit" data-testid="camera-add-class">{ "Add class" }</button>
                </form>
                <ul class="camera-class-list">
                    { for classes.iter().enumerate().map(|(i, (c, n))| html! {
                        <li>
                            <button data-testid="camera-capture" data-class={c.clone()} class={classes!((*capturing == Some(i)).then_some("active"))}
                                onpointerdown={hold(i)} onpointerup={release.clone()} onpointerleave={release.clone()}>{ format!("Hold to capture {c}") }</button>
                            <span data-testid={format!("camera-count-{i}")}>{ *n }</span>{ " frames" }
                        </li>
                    }) }
                </ul>
                <button data-testid="camera-use" onclick={use_frames}>{ "Use these frames as the dataset" }</button>
                if let Some(p) = &live {
                    <div data-testid="camera-prediction" class="camera-prediction" data-answers={answers.to_string()}>
                        <table class="predictions">
                            <tbody>
                                { for p.models.iter().map(|m| top_three_row(m, &props.class_names)) }
                            </tbody>
                        </table>
                        if let Some(heat) = p.models.iter().find_map(|m| m.heatmap.clone()) {
                            <GradCamPanels image={Rc::new(p.image.clone())} heatmap={Rc::new(heat)} rows={p.rows} cols={p.cols}
                                scale={crate::charts::images::scale_for(p.rows.max(p.cols), 168)} testid_prefix="camera-gradcam"
                                class_name={name_of(top_classes(&p.models[0].probabilities, 1)[0].0)} />
                        }
                    </div>
                }
            }
        </details>
    }
}

/// Asks for the camera; the message says what went wrong and that the rest works.
async fn open_camera() -> Result<MediaStream, String> {
    let devices = web_sys::window()
        .ok_or("no window")?
        .navigator()
        .media_devices()
        .map_err(|_| {
            "this browser offers no camera access here (it needs https or localhost)".to_string()
        })?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_video(&JsValue::TRUE);
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| format!("{e:?}"))?;
    let stream = JsFuture::from(promise).await.map_err(|e| {
        let name = js_sys::Reflect::get(&e, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "SecurityError" => {
                "The camera was not allowed. Allow it in the browser's site settings to capture; everything else in Atelier works without it.".to_string()
            }
            "NotFoundError" | "OverconstrainedError" => {
                "No camera was found. Connect one to capture; everything else in Atelier works without it.".to_string()
            }
            _ => format!("The camera could not start ({name}). Everything else in Atelier works without it."),
        }
    })?;
    stream
        .dyn_into::<MediaStream>()
        .map_err(|_| "the camera gave no stream".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_needs_two_classes_of_five_frames() {
        assert!(not_ready(&[9]).unwrap().contains("two classes"));
        assert!(not_ready(&[9, 4]).unwrap().contains("at least 5"));
        assert_eq!(not_ready(&[5, 5]), None);
    }
}
