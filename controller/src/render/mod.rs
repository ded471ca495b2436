//! Renderings of a plan (DESIGN §4): for people (`text`), scripts (`json`, the stable
//! contract), an HMC shell (`hmc`) and Graphviz (`dot`).

mod dot;
mod hmc;
mod json;
mod text;

pub use dot::dot;
pub use hmc::hmc;
pub use json::{ActionDocument, HeldAction, PlanDocument, PlanScope, RunsOnDocument, json};
pub use text::{Style, changes, text};
