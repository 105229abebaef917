//! The page: one reducer owns the state; components render it; charts draw it on canvases.

pub mod app;
pub mod bridge;
pub mod charts;
pub mod components;
pub mod containers;
pub mod report;
pub mod state;
pub mod text;
pub mod url;

/// The name of class `index`, or its number when the dataset gave fewer names.
pub fn class_name(names: &[String], index: usize) -> String {
    names
        .get(index)
        .cloned()
        .unwrap_or_else(|| index.to_string())
}

/// Starts the app in the page's `#app` element, with a panic hook that keeps the page readable.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_fatal_error(&info.to_string());
    }));
    let root = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("app"))
        .expect("index.html has an element with id `app`");
    yew::Renderer::<app::App>::with_root(root).render();
}

/// After a panic the wasm instance is dead, so the message is written into a plain element of index.html
/// that needs no Rust to show.
fn show_fatal_error(message: &str) {
    let Some(element) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("fatal-error"))
    else {
        return;
    };
    element.set_text_content(Some(&format!(
        "Atelier hit an internal error and stopped: {message}. Reload the page to continue; \
         models already saved in this browser are kept."
    )));
    let _ = element.remove_attribute("hidden");
}
