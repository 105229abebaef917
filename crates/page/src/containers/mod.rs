//! One container per tab: each takes the state and the worker from [`ctx::Ctx`], makes the callbacks its
//! tab needs and renders the tab's components. Every change of the state still goes through the reducer.

pub mod compare;
pub mod ctx;
pub mod data;
pub mod overlays;
pub mod predict;
pub mod train;
