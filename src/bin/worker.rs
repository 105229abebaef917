//! The Web Worker binary: registers the message loop.

// Static constructors once, not on every message and timer callback (see src/bin/app.rs).
#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: called once, first thing after instantiation, before any other code of the module.
        unsafe { __wasm_call_ctors() };
        atelier::worker::start();
    }
}
