//! The Web Worker binary: registers the message loop.

// Run the static constructors (burn's kernel registries, built with `inventory`) once, here. Without an
// explicit call the Wasm linker treats the module as a one-shot command and re-runs every constructor at
// the start of each exported function: every message and timer callback paid for them (~0.3 s per message
// here). See the `inventory` crate's notes on WebAssembly.
#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: called once, first thing after instantiation, before any other code of the module.
        unsafe { __wasm_call_ctors() };
        atelier_worker::start();
    }
}
