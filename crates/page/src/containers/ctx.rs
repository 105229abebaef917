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
    /// The state's version when this context was made.
    version: u64,
}

/// Equal when made from the same version of the state and the same worker: a container renders again
/// only when the state changed. (A reducer handle always reads the newest state, so two handles cannot
/// tell an old render from a new one; the version taken at render time can.)
impl PartialEq for Ctx {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.worker == other.worker
    }
}

/// Props of every container.
#[derive(Properties, PartialEq, Clone)]
pub struct CtxProps {
    pub ctx: Ctx,
}

impl Ctx {
    /// The context of this render.
    pub fn new(state: UseReducerHandle<State>, worker: WorkerHandle) -> Self {
        let version = state.version;
        Self {
            state,
            worker,
            version,
        }
    }

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
