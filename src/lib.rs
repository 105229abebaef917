//! Atelier: a machine-learning lab that runs entirely in the browser.
//!
//! Arrows run one way: `ui` -> `protocol` <- `worker` -> `ml` -> `data`.

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod data;
pub mod ml;
pub mod protocol;
pub mod ui;
pub mod worker;
