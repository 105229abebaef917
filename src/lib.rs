//! Atelier: a machine-learning lab that runs entirely in the browser.
//!
//! Arrows run one way: `ui` -> `protocol` <- `worker` -> `ml` -> `data`.

pub mod bench;
pub mod data;
pub mod ml;
pub mod protocol;
pub mod ui;
pub mod worker;
