//! The page binary: starts the Yew app.

fn main() {
    #[cfg(target_arch = "wasm32")]
    atelier::ui::start();
}
