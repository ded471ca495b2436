//! What the commands and the controller loop share, above the backends, the executor and the
//! store: opening the backend a command runs against ([`open`]) and the audit trail's verdict
//! ([`verdict`]). The command line (`cli`) uses it; it never uses the command line.

pub mod open;
pub mod verdict;
