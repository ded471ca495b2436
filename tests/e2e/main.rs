//! End-to-end tests: the real `powerplane` binary against temporary copies of the lab estate.

mod plan;
mod schema;
mod sim;
mod support;
mod validate;
