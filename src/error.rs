//! The library's errors. Each variant maps to one of the documented exit codes, and
//! each message says what is wrong and what to do; none carries a secret value.

use std::path::PathBuf;

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The exit codes documented in README.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    Other = 1,
    Usage = 2,
    Locked = 3,
    Damaged = 4,
    NotFound = 5,
    Rejected = 6,
    Unreachable = 7,
    /// `exec`: the command was found but cannot run (as shells say).
    CannotExecute = 126,
    /// `exec`: no such command (as shells say).
    CommandNotFound = 127,
}

#[derive(Debug, Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),

    #[error(
        "no passphrase available: run `vault unlock` in a terminal first (this command then needs none), or set SPVAULT_PASSPHRASE_FILE, SPVAULT_PASSPHRASE_COMMAND or SPVAULT_PASSPHRASE"
    )]
    NoPassphrase,

    #[error("{0}")]
    PassphraseSource(String),

    #[error("wrong passphrase for {}", .0.display())]
    WrongPassphrase(PathBuf),

    #[error("the identity in {} is not among the vault's recipients: ask someone who can open it to run `vault recipients add`", .0.display())]
    NotARecipient(PathBuf),

    #[error("{} was re-encrypted with a new passphrase by another process: run the command again", .0.display())]
    PassphraseChanged(PathBuf),

    #[error("vault file {} is damaged: {detail}; restore it from the backup {}.bak or another copy", .path.display(), .path.display())]
    Damaged { path: PathBuf, detail: String },

    #[error("vault file {} was written by a newer spvault ({what} {found}, this one knows up to {known}): upgrade spvault", .path.display())]
    NewerVersion {
        path: PathBuf,
        what: &'static str,
        found: u32,
        known: u32,
    },

    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot read vault file {}: {source}; check that it is a readable file", .path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "the vault store {store} is unreachable: {detail}; check that the server is up, then try again"
    )]
    StoreUnreachable { store: String, detail: String },

    #[error("the vault changed while this command wrote it")]
    WriteConflict,

    #[error("no vault at {}: add your first app with `vault app add` (it creates the vault), or point SPVAULT_FILE or --vault at the vault you have", .0.display())]
    NoVault(PathBuf),

    #[error("a vault already exists at {}", .0.display())]
    VaultExists(PathBuf),

    #[error("no profile named '{0}': `vault list` shows the profiles")]
    NoSuchProfile(String),

    #[error("no app named '{0}': `vault app list` shows the apps")]
    NoSuchApp(String),

    #[error("{0}")]
    Lwa(#[from] crate::lwa::LwaError),

    #[error("Amazon rejected {subject} ({code}{}): {advice}", detail(.description))]
    AmazonRejected {
        subject: String,
        code: String,
        description: String,
        advice: String,
    },

    #[error("profile '{0}' has no refresh token: authorize it with `vault login {0}`")]
    NoRefreshToken(String),

    #[error("{} attention", match .0 { 1 => "1 problem needs".to_owned(), n => format!("{n} problems need") })]
    NeedsAttention(usize),

    #[error("{} could not be checked: Amazon could not be reached or gave no usable answer; try again later", count(*.0, "profile"))]
    NotChecked(usize),

    #[error("cannot run {program}: {detail}")]
    CannotRun {
        program: String,
        detail: String,
        code: ExitCode,
    },

    #[error("{0}")]
    SpApi(#[from] crate::spapi_client::SpApiError),

    #[error(transparent)]
    Partial(#[from] crate::tokens::SomeFailed),

    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub fn damaged(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::Damaged {
            path: path.into(),
            detail: detail.into(),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Invalid(_) => ExitCode::Usage,
            Error::NoPassphrase
            | Error::PassphraseSource(_)
            | Error::WrongPassphrase(_)
            | Error::NotARecipient(_)
            | Error::PassphraseChanged(_) => ExitCode::Locked,
            Error::Damaged { .. } | Error::NewerVersion { .. } => ExitCode::Damaged,
            Error::Unreadable { .. } => ExitCode::Damaged,
            Error::NoVault(_) | Error::NoSuchProfile(_) | Error::NoSuchApp(_) => ExitCode::NotFound,
            Error::Lwa(e) => e.exit_code(),
            Error::StoreUnreachable { .. } | Error::NotChecked(_) => ExitCode::Unreachable,
            Error::WriteConflict => ExitCode::Other,
            Error::Partial(failed) => failed.code,
            Error::SpApi(e) => e.exit_code(),
            Error::AmazonRejected { .. } | Error::NoRefreshToken(_) | Error::NeedsAttention(_) => {
                ExitCode::Rejected
            }
            Error::Io { .. } | Error::VaultExists(_) | Error::Other(_) => ExitCode::Other,
            Error::CannotRun { code, .. } => *code,
        }
    }
}

/// "1 problem", "2 problems": a count with its noun, singular or plural.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `": detail"`, or nothing when there is no detail: for messages that quote what a
/// server said only when it said something.
pub fn detail(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}
