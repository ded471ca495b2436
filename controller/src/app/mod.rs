//! What the commands and the controller loop share, above the backends, the executor and the
//! store: the backend a command runs against, the simulator or HMCs ([`backend`]), opening it
//! ([`open`]), the one reconcile pass ([`reconcile`]: observe, plan, review, gate by the
//! windows, execute with the audit trail, observe again, judge convergence — steered by each
//! caller) and the audit trail's verdict ([`verdict`]). The command line
//! (`cli`) and the loop (`watch`) use it; it uses neither.

pub mod backend;
pub mod open;
pub mod reconcile;
pub mod verdict;
