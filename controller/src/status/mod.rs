//! What the running controller knows and shows: the state the API serves ([`live`]), the
//! Prometheus metrics ([`metrics`]), and the reporter that updates both together as the loop
//! reconciles ([`publish`]). The loop (`watch`) writes here and the API (`api`) reads here, so
//! neither imports the other.

pub mod live;
pub mod metrics;
pub mod publish;

pub use live::Live;
pub use metrics::Metrics;
pub use publish::Publisher;
