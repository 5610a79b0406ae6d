//! The one HTTP server stack `vault serve` and `vault proxy` stand on: listening
//! within limits, TLS, and shutdown. Each endpoint is its own module on top.

mod connections;
pub mod listener;
pub mod reply;
pub mod tls;
