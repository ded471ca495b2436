//! What the commands and the controller loop share, above the backends, the executor and the
//! store: the backend a command runs against, the simulator or HMCs ([`backend`]), opening it
//! ([`open`]), the execution step of a
//! reconcile pass ([`reconcile`]: provenance, plan id, windows asked as actions become ready,
//! the run with the audit trail) and the audit trail's verdict ([`verdict`]). The command line
//! (`cli`) and the loop (`watch`) use it; it uses neither.

pub mod backend;
pub mod open;
pub mod reconcile;
pub mod verdict;
