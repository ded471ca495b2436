//! What the commands and the controller loop share, above the backends, the executor and the
//! store: the audit trail's verdict ([`verdict`]).

pub mod verdict;
