//! Login with Amazon: the token endpoint client.

pub mod client;
pub mod consent;
pub mod listener;

pub use client::{ClientCredentials, Grant, LwaClient, LwaError, TokenGrant};
