//! The worker's jobs, one module each. Every job takes the worker's state and its environment
//! ([`crate::env::Env`]), so it runs the same in the browser and in native tests.

pub mod explain;
pub mod import;
pub mod predict;
pub mod storage;
pub mod train;

#[cfg(test)]
mod tests;
