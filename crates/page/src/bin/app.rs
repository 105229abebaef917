//! The page binary: starts the Yew app. The page links no burn, so it has no static constructors to run
//! first (the worker binary does).

fn main() {
    #[cfg(target_arch = "wasm32")]
    atelier_page::start();
}
