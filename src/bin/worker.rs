//! The Web Worker binary: registers the message loop.

fn main() {
    #[cfg(target_arch = "wasm32")]
    atelier::worker::start();
}
