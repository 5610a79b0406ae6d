//! What `vault --help` and the manual page say beyond the commands and flags: the
//! environment variables, exit statuses and files, in one place for both (README
//! says the same at length).

use crate::error::ExitCode;

pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("SPVAULT_FILE", "the vault file (--vault wins)"),
    (
        "SPVAULT_STORE",
        "keep the vault in OpenBao: bao://HOST:PORT/MOUNT/PATH (--store wins)",
    ),
    (
        "BAO_TOKEN, VAULT_TOKEN, SPVAULT_BAO_TOKEN_FILE",
        "the OpenBao token, in that order, else ~/.vault-token",
    ),
    (
        "SPVAULT_IDENTITY_FILE",
        "open the vault with this age identity instead of the passphrase",
    ),
    (
        "SPVAULT_PASSPHRASE_FILE",
        "read the passphrase from this file (first line); read first",
    ),
    (
        "SPVAULT_PASSPHRASE_COMMAND",
        "run this with sh -c; its first line of output is the passphrase",
    ),
    (
        "SPVAULT_PASSPHRASE",
        "the passphrase itself, for automation; read last",
    ),
    (
        "SPVAULT_NEW_PASSPHRASE",
        "the new passphrase for `vault passwd`",
    ),
    ("SPVAULT_MIN_VALID", "the default of --min-valid (5m)"),
    (
        "SPVAULT_AUDIT_LOG",
        "the access log's path (default: PATH.audit beside the vault file)",
    ),
    (
        "SPVAULT_LWA_TOKEN_URL",
        "the LWA token endpoint (http:// only for loopback)",
    ),
    (
        "SPVAULT_SPAPI_URL, SPVAULT_SPAPI_SANDBOX_URL",
        "the SP-API endpoints (http:// only for loopback)",
    ),
    (
        "SPVAULT_HTTP_TIMEOUT, SPVAULT_NETWORK_TIMEOUT",
        "one request's timeout (30s); one operation's, over its retries",
    ),
    (
        "SPVAULT_PROFILE, SPVAULT_EXEC_PROFILE",
        "set by env and exec (the latter guards against nesting exec)",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_ENDPOINT_URL_SQS, …",
        "`vault app watch`: AWS credentials (the SDK's standard chain) and endpoint",
    ),
    ("BROWSER", "what `vault login` opens the consent page with"),
    (
        "XDG_RUNTIME_DIR",
        "where the agent's folder spvault/ lives (else ~/.cache/spvault/run/)",
    ),
];

pub const EXIT_STATUS: &[(ExitCode, &str)] = &[
    (
        ExitCode::Other,
        "other error (I/O, an existing vault, a command that fails)",
    ),
    (
        ExitCode::Usage,
        "usage error: a bad flag, name, id, marketplace or duration",
    ),
    (
        ExitCode::Locked,
        "no passphrase, a wrong one, or a failing passphrase source",
    ),
    (
        ExitCode::Damaged,
        "vault file damaged, tampered with, newer, or unreadable",
    ),
    (
        ExitCode::NotFound,
        "no such profile or app, or no vault yet",
    ),
    (
        ExitCode::Rejected,
        "Amazon rejected the credentials, or `check` found something to do",
    ),
    (
        ExitCode::Unreachable,
        "Amazon unreachable, or failing after retries",
    ),
    (ExitCode::CannotExecute, "exec: the command cannot run"),
    (ExitCode::CommandNotFound, "exec: no such command"),
];

pub const FILES: &[(&str, &str)] = &[
    (
        "~/.local/share/spvault/vault.toml",
        "the vault (macOS: ~/Library/Application Support/spvault/)",
    ),
    ("vault.toml.lock", "beside it: the write lock"),
    (
        "vault.toml.bak",
        "beside it: the previous version, with its passphrase of then",
    ),
    (
        "vault.toml.audit",
        "beside it: the access log (rotated: vault.toml.audit.1, .2, ...)",
    ),
    (
        "$XDG_RUNTIME_DIR/spvault/",
        "the unlock agent's socket (else ~/.cache/spvault/run/)",
    ),
];

/// The three tables as `vault --help` shows them, before its examples.
pub fn help_text() -> String {
    let mut text = String::from("Environment:\n");
    for (name, meaning) in ENVIRONMENT {
        text.push_str(&format!("  {name}\n      {meaning}\n"));
    }
    text.push_str("\nExit status:\n  0    success\n");
    for (code, meaning) in EXIT_STATUS {
        text.push_str(&format!("  {:<4} {meaning}\n", *code as u8));
    }
    text.push_str("\nFiles:\n");
    for (name, meaning) in FILES {
        text.push_str(&format!("  {name}\n      {meaning}\n"));
    }
    text
}
