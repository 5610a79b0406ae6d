//! Login with Amazon: the token endpoint client.

pub mod client;

pub use client::{ClientCredentials, Grant, LwaClient, LwaError, TokenGrant};
