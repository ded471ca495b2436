//! End-to-end tests: the real `powerplane` binary against temporary copies of the lab estate.

mod schema;
mod support;
mod validate;
