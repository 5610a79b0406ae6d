//! spvault: an encrypted, passphrase-protected vault for Amazon Selling Partner API
//! credentials, and the whole Login with Amazon token lifecycle.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod display;
pub mod duration;
pub mod error;
pub mod export;
pub mod http;
pub mod lwa;
pub mod net;
pub mod notifications;
pub mod online_check;
pub mod passphrase;
pub mod private_file;
pub mod process;
pub mod proxy;
pub mod question;
pub mod reference;
pub mod restricted_tokens;
pub mod secret;
pub mod secret_rotation;
pub mod serve;
pub mod server;
pub mod settings;
pub mod spapi;
pub mod spapi_client;
pub mod sqs;
pub mod tokens;
pub mod unlock;
pub mod vault;
pub mod zeroing_allocator;

pub use error::{Error, ExitCode, Result};
pub mod agent;
pub mod api;
pub mod browser;
pub mod health;
pub mod import;
