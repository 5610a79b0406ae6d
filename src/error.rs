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

impl ExitCode {
    /// The code's name, as the access log records an outcome.
    pub fn name(self) -> &'static str {
        match self {
            ExitCode::Other => "error",
            ExitCode::Usage => "usage",
            ExitCode::Locked => "locked",
            ExitCode::Damaged => "damaged",
            ExitCode::NotFound => "not_found",
            ExitCode::Rejected => "rejected",
            ExitCode::Unreachable => "unreachable",
            ExitCode::CannotExecute => "cannot_execute",
            ExitCode::CommandNotFound => "command_not_found",
        }
    }
}

#[derive(Debug, Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),

    #[error("no passphrase available")]
    NoPassphrase,

    /// A new passphrase was needed (a new vault's, or `passwd`'s when `passwd`) and
    /// neither a source nor a terminal gave one.
    #[error("{}", if *.passwd { "no new passphrase available" } else { "no passphrase for the new vault available" })]
    NoNewPassphrase { passwd: bool },

    #[error("{0}")]
    PassphraseSource(String),

    #[error("wrong passphrase for {}", .0.display())]
    WrongPassphrase(PathBuf),

    /// The same, saying where the passphrase came from.
    #[error("wrong passphrase for {} ({from})", .path.display())]
    WrongPassphraseFrom {
        path: PathBuf,
        from: String,
        /// The variable that gave it, if one did.
        variable: Option<&'static str>,
    },

    #[error("the identity in {} is not among the vault's recipients", .0.display())]
    NotARecipient(PathBuf),

    #[error("{} was re-encrypted with a new passphrase by another process", .0.display())]
    PassphraseChanged(PathBuf),

    #[error("vault file {} is damaged: {detail}", .path.display())]
    Damaged { path: PathBuf, detail: String },

    /// Profiles whose records do not open, in a vault that otherwise does.
    #[error("{} in {} {} damaged (it does not decrypt, or is not the one the vault's index names)", records_of(.profiles), .path.display(), if .profiles.len() == 1 { "is" } else { "are" })]
    DamagedRecords {
        path: PathBuf,
        profiles: Vec<String>,
    },

    #[error("vault file {} was written by a newer spvault ({what} {found}, this one knows up to {known})", .path.display())]
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

    #[error("cannot read vault file {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the vault store {store} is unreachable: {detail}")]
    StoreUnreachable { store: String, detail: String },

    #[error("the vault changed while this command wrote it")]
    WriteConflict,

    #[error("no vault at {}", .0.display())]
    NoVault(PathBuf),

    #[error("a vault already exists at {}", .0.display())]
    VaultExists(PathBuf),

    #[error("no profile named '{0}'")]
    NoSuchProfile(String),

    #[error("no app named '{0}'")]
    NoSuchApp(String),

    /// A failure in a module above this one (LWA, SP-API, a batch of refreshes),
    /// which knows its own exit code: `error` depends on nothing above it.
    #[error("{0}")]
    Service(Box<dyn Coded>),

    #[error("Amazon rejected {subject} ({code}{})", detail(.description))]
    AmazonRejected {
        subject: String,
        code: String,
        description: String,
        advice: String,
    },

    #[error("profile '{0}' has no refresh token")]
    NoRefreshToken(String),

    #[error("{} attention", match .0 { 1 => "1 problem needs".to_owned(), n => format!("{n} problems need") })]
    NeedsAttention(usize),

    #[error("{} could not be checked: Amazon could not be reached or gave no usable answer", count(*.0, "profile"))]
    NotChecked(usize),

    #[error("cannot run {program}: {detail}")]
    CannotRun {
        program: String,
        detail: String,
        code: ExitCode,
    },

    /// The store's own credentials (an OpenBao token) are missing or refused.
    #[error("{0}")]
    StoreCredentials(String),

    #[error("{0}")]
    Other(String),

    /// Another error, with what to do about it.
    #[error("{0}")]
    Hinted(Box<Error>, String),
}

/// An error that knows which documented exit code it ends a command with, and may
/// say what to do about it.
pub trait Coded: std::error::Error + Send + Sync + 'static {
    fn exit_code(&self) -> ExitCode;

    fn hint(&self) -> Option<String> {
        None
    }
}

impl<E: Coded> From<E> for Error {
    fn from(error: E) -> Self {
        Error::Service(Box::new(error))
    }
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

    /// Whether this is a write the file system refused (no permission, read-only):
    /// a folder spvault cannot write to, as opposed to a damaged or missing vault.
    pub fn is_unwritable(&self) -> bool {
        match self {
            Error::Hinted(error, _) => error.is_unwritable(),
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ),
            _ => false,
        }
    }

    /// The message and the hint on one line, for places that show an error among
    /// other output (a profile's line in `refresh`, a JSON field).
    pub fn in_full(&self) -> String {
        match self.hint() {
            Some(hint) => format!("{self} (hint: {hint})"),
            None => self.to_string(),
        }
    }

    /// A usage error naming what it is about (the flag a value came from), keeping
    /// the hint.
    pub fn about(self, what: &str) -> Error {
        let reworded = Error::Invalid(format!("{what} {self}"));
        match self.hint() {
            Some(hint) => reworded.with_hint(hint),
            None => reworded,
        }
    }

    /// The same error with what to do about it.
    pub fn with_hint(self, hint: impl Into<String>) -> Error {
        Error::Hinted(Box::new(self), hint.into())
    }

    /// What to do about it: a command that fixes it, where there is one. `main`
    /// prints it on its own line, `hint: …`, as cargo and rage do.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Hinted(_, hint) => hint.clone(),
            Error::Service(error) => return error.hint(),
            Error::NoPassphrase => "run `vault unlock` in a terminal first (this command then needs none), or set SPVAULT_PASSPHRASE_FILE, SPVAULT_PASSPHRASE_COMMAND or SPVAULT_PASSPHRASE".into(),
            Error::NoNewPassphrase { passwd: true } => "set SPVAULT_NEW_PASSPHRASE to the new passphrase, or run `vault passwd` in a terminal, which asks for it".into(),
            Error::NoNewPassphrase { passwd: false } => "set SPVAULT_PASSPHRASE_FILE, SPVAULT_PASSPHRASE_COMMAND or SPVAULT_PASSPHRASE to the new vault's passphrase, or run the command in a terminal, which asks for it".into(),
            Error::WrongPassphraseFrom { variable: Some(name), .. } => format!("fix {name}, or unset it to use the next source"),
            Error::NotARecipient(_) => "ask someone who can open the vault to run `vault recipients add`".into(),
            Error::PassphraseChanged(_) => "run the command again".into(),
            Error::Damaged { path, .. } => restore_hint(path, "it"),
            Error::DamagedRecords { path, profiles } => {
                let remove = match profiles.as_slice() {
                    [one] => format!("`vault remove {one} --yes` drops it unread"),
                    _ => "`vault remove NAME --yes` drops each unread".into(),
                };
                format!("{remove}, or {}", restore_hint(path, "the vault"))
            }
            Error::NewerVersion { .. } => "upgrade spvault".into(),
            Error::Unreadable { .. } => "check that it is a readable file".into(),
            Error::StoreUnreachable { .. } => "check that the server is up, then try again".into(),
            Error::NoVault(_) => "add your first app with `vault app add` (it creates the vault), or point SPVAULT_FILE or --vault at the vault you have".into(),
            Error::NoSuchProfile(_) => "`vault list` shows the profiles".into(),
            Error::NoSuchApp(_) => "`vault app list` shows the apps".into(),
            Error::AmazonRejected { advice, .. } => advice.clone(),
            Error::NoRefreshToken(profile) => format!("authorize it with `vault login {profile}`"),
            Error::NotChecked(_) => "try again later".into(),
            _ => return None,
        })
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Hinted(error, _) => error.exit_code(),
            Error::Invalid(_) => ExitCode::Usage,
            Error::NoPassphrase
            | Error::NoNewPassphrase { .. }
            | Error::PassphraseSource(_)
            | Error::WrongPassphrase(_)
            | Error::WrongPassphraseFrom { .. }
            | Error::NotARecipient(_)
            | Error::PassphraseChanged(_)
            | Error::StoreCredentials(_) => ExitCode::Locked,
            Error::Damaged { .. } | Error::DamagedRecords { .. } | Error::NewerVersion { .. } => {
                ExitCode::Damaged
            }
            Error::Unreadable { .. } => ExitCode::Damaged,
            Error::NoVault(_) | Error::NoSuchProfile(_) | Error::NoSuchApp(_) => ExitCode::NotFound,
            Error::Service(e) => e.exit_code(),
            Error::StoreUnreachable { .. } | Error::NotChecked(_) => ExitCode::Unreachable,
            Error::WriteConflict => ExitCode::Other,
            Error::AmazonRejected { .. } | Error::NoRefreshToken(_) | Error::NeedsAttention(_) => {
                ExitCode::Rejected
            }
            Error::Io { .. } | Error::VaultExists(_) | Error::Other(_) => ExitCode::Other,
            Error::CannotRun { code, .. } => *code,
        }
    }
}

/// How to get back a damaged vault file: only a backup that is there is worth naming.
fn restore_hint(path: &std::path::Path, what: &str) -> String {
    let backup = PathBuf::from(format!("{}.bak", path.display()));
    if backup.is_file() {
        format!(
            "restore {what} from the backup {} or another copy",
            backup.display()
        )
    } else {
        format!("restore {what} from a copy you keep (there is no .bak beside it)")
    }
}

/// "the record of profile 'a'", "the records of profiles 'a', 'b'".
fn records_of(profiles: &[String]) -> String {
    let quoted: Vec<String> = profiles.iter().map(|p| format!("'{p}'")).collect();
    match quoted.as_slice() {
        [one] => format!("the record of profile {one}"),
        _ => format!("the records of profiles {}", quoted.join(", ")),
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
