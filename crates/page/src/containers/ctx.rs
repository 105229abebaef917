//! What every container reads: the state and the worker.

use std::rc::Rc;

use yew::prelude::*;

use crate::bridge::WorkerHandle;
use crate::state::{Action, State};
use atelier_core::protocol::ModelReport;

/// The state (through its reducer) and the worker, handed to each tab's container.
#[derive(Clone)]
pub struct Ctx {
    pub state: UseReducerHandle<State>,
    pub worker: WorkerHandle,
}

/// Equal when both hold the same version of the state (the reducer makes a new one on every change)
/// and the same worker: a container renders again only when something it could show changed.
impl PartialEq for Ctx {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(&*self.state, &*other.state) && self.worker == other.worker
    }
}

/// Props of every container.
#[derive(Properties, PartialEq, Clone)]
pub struct CtxProps {
    pub ctx: Ctx,
}

impl Ctx {
    /// Dispatches actions to the reducer.
    pub fn dispatcher(&self) -> UseReducerDispatcher<State> {
        self.state.dispatcher()
    }

    /// A callback that turns its argument into an action for the reducer.
    pub fn action<T: 'static>(&self, make: impl Fn(T) -> Action + 'static) -> Callback<T> {
        self.dispatcher().to_callback().reform(make)
    }

    /// The loaded dataset's class names; none before it is loaded.
    pub fn class_names(&self) -> Vec<String> {
        self.state
            .summary()
            .map(|s| s.class_names.clone())
            .unwrap_or_default()
    }

    /// The model selected in the model list, if any.
    pub fn selected(&self) -> Option<Rc<ModelReport>> {
        self.state
            .selected
            .as_ref()
            .and_then(|id| self.state.models.iter().find(|m| &m.id == id).cloned())
    }
}
