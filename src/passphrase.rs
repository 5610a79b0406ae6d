//! Where a passphrase comes from, first found wins: `SPVAULT_PASSPHRASE_FILE`, the
//! stdout of `SPVAULT_PASSPHRASE_COMMAND`, `SPVAULT_PASSPHRASE`, else a no-echo prompt
//! on the terminal. With none of them, fail at once: never hang waiting for input.
//! The settings say which are set (`PassphraseSources`); this reads and runs them.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::settings::{
    NEW_PASSPHRASE_VAR, PASSPHRASE_COMMAND_VAR as COMMAND_VAR, PASSPHRASE_FILE_VAR as FILE_VAR,
    PASSPHRASE_VAR as VALUE_VAR, PassphraseSources,
};

/// How many times a person at a terminal may retype a wrong passphrase.
pub const TERMINAL_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The variable that gave it.
    Variable(&'static str),
    Terminal,
}

impl Origin {
    /// Where a passphrase that did not open the vault came from, and the other
    /// sources that are set but were not read (the first found wins), for the error.
    pub fn describe(&self, sources: &PassphraseSources) -> String {
        let Origin::Variable(name) = self else {
            return "typed at the prompt".into();
        };
        let unread: Vec<&str> = set_sources(sources)
            .into_iter()
            .filter(|other| other != name)
            .collect();
        match unread.as_slice() {
            [] => format!("from {name}"),
            others => format!("from {name}, which is read before {}", others.join(" and ")),
        }
    }
}

/// The passphrase sources that are set, in the order they are read.
fn set_sources(sources: &PassphraseSources) -> Vec<&'static str> {
    [
        (sources.file.is_some(), FILE_VAR),
        (sources.command.is_some(), COMMAND_VAR),
        (sources.value.is_some(), VALUE_VAR),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect()
}

/// Whether a terminal can be asked: the controlling terminal opens for reading.
pub fn terminal_available() -> bool {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// The passphrase of an existing vault, and where it came from (a person at a
/// terminal may try again; automation may not).
pub fn existing(vault_path: &Path, sources: &PassphraseSources) -> Result<(Secret, Origin)> {
    if let Some(secret) = from_sources(sources)? {
        let first = set_sources(sources).first().copied().unwrap_or(VALUE_VAR);
        return Ok((secret, Origin::Variable(first)));
    }
    let prompt = format!("Passphrase for {}: ", vault_path.display());
    Ok((prompt_once(&prompt)?, Origin::Terminal))
}

/// The passphrase for a new vault, from the usual sources, or a new passphrase for
/// `passwd` (`replacing`), from `SPVAULT_NEW_PASSPHRASE`; else asked twice on the
/// terminal.
pub fn new(vault_path: &Path, sources: &PassphraseSources, replacing: bool) -> Result<Secret> {
    if replacing && let Some(value) = &sources.new_value {
        let secret = non_empty(NEW_PASSPHRASE_VAR, value.clone())?;
        warn_if_weak(&secret);
        return Ok(secret);
    }
    if !replacing && let Some(secret) = from_sources(sources)? {
        warn_if_weak(&secret);
        return Ok(secret);
    }
    if !terminal_available() {
        return Err(Error::NoNewPassphrase { passwd: replacing });
    }
    // A person who mistypes the repeat, or declines a weak passphrase, is asked
    // for another rather than sent back to the start of the command.
    for _ in 0..TERMINAL_ATTEMPTS {
        let first = prompt_once(&format!("New passphrase for {}: ", vault_path.display()))?;
        let second = prompt_once("Repeat the new passphrase: ")?;
        if first != second {
            eprintln!("The two passphrases differ; type the new one again.");
        } else if warn_if_weak(&first) && !keep_weak()? {
            eprintln!("Choose a stronger one (several unrelated words work well).");
        } else {
            return Ok(first);
        }
    }
    Err(Error::Invalid(
        "no new passphrase was settled on: nothing was changed".into(),
    ))
}

/// Rates a new passphrase (zxcvbn, the estimator password managers use) and warns
/// on stderr when it is weak; says whether it was.
fn warn_if_weak(passphrase: &Secret) -> bool {
    let rating = zxcvbn::zxcvbn(passphrase.expose(), &["spvault", "vault", "amazon"]);
    if rating.score() >= zxcvbn::Score::Three {
        return false;
    }
    eprintln!(
        "warning: the new passphrase is weak (strength {} of 4): it guards every credential in the vault, and a stolen copy of the vault can be attacked offline; several unrelated words make a strong one",
        rating.score() as u8
    );
    true
}

fn keep_weak() -> Result<bool> {
    crate::question::yes_no("Keep this weak passphrase anyway?", false)
}

/// A passphrase file others can read gives the vault away to them.
fn warn_if_others_can_read(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o044 != 0
    {
        eprintln!(
            "warning: {FILE_VAR} {} is readable by other users, who can open the vault with it: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
}

fn from_sources(sources: &PassphraseSources) -> Result<Option<Secret>> {
    if let Some(path) = &sources.file {
        warn_if_others_can_read(path);
        let contents = Zeroizing::new(std::fs::read(path).map_err(|e| {
            Error::PassphraseSource(format!("cannot read {FILE_VAR} ({}): {e}", path.display()))
        })?);
        return first_line(FILE_VAR, &contents).map(Some);
    }
    if let Some(command) = &sources.command {
        // stdin is closed so the command cannot eat input meant for spvault
        // (a refresh token on stdin); its stderr reaches the user.
        let output = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| Error::PassphraseSource(format!("cannot run {COMMAND_VAR}: {e}")))?;
        let stdout = Zeroizing::new(output.stdout);
        if !output.status.success() {
            return Err(Error::PassphraseSource(format!(
                "{COMMAND_VAR} failed ({})",
                output.status
            ))
            .with_hint("fix the command, or unset the variable"));
        }
        return first_line(COMMAND_VAR, &stdout).map(Some);
    }
    if let Some(value) = &sources.value {
        return non_empty(VALUE_VAR, value.clone()).map(Some);
    }
    Ok(None)
}

/// The passphrase is the text up to the first line break, so files and commands may
/// end with a newline (as `pass`, `op read` and editors do).
fn first_line(source: &str, bytes: &[u8]) -> Result<Secret> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::PassphraseSource(format!("{source} did not give UTF-8 text")))?;
    let line = text.split(['\n', '\r']).next().unwrap_or_default();
    non_empty(source, Secret::from(line))
}

fn non_empty(source: &str, secret: Secret) -> Result<Secret> {
    if secret.is_empty() {
        Err(Error::PassphraseSource(format!(
            "{source} gave an empty passphrase"
        )))
    } else {
        Ok(secret)
    }
}

fn prompt_once(prompt: &str) -> Result<Secret> {
    if !terminal_available() {
        return Err(Error::NoPassphrase);
    }
    let value = rpassword::prompt_password(prompt).map_err(|_| Error::NoPassphrase)?;
    non_empty("the prompt", Secret::new(value))
}

/// Reads a secret value (client secret, refresh token) from a no-echo prompt, asking
/// again when the answer is empty (a stray Enter must not store an empty secret) or
/// fails `check` (a mistyped or misplaced paste), at most `TERMINAL_ATTEMPTS` times.
pub fn prompt_secret(
    prompt: &str,
    stdin_flag: &str,
    check: impl Fn(&str) -> Result<()>,
) -> Result<Secret> {
    if !terminal_available() {
        return Err(Error::Invalid(format!(
            "no terminal to ask \"{}\"",
            prompt.trim_end_matches([':', ' '])
        ))
        .with_hint(format!("pass the value on stdin with {stdin_flag}")));
    }
    let mut last = Error::Invalid("no value was entered".into());
    for _ in 0..TERMINAL_ATTEMPTS {
        let value = rpassword::prompt_password(prompt)
            .map_err(|e| Error::Other(format!("cannot read from the terminal: {e}")))?;
        let value = zeroize::Zeroizing::new(value);
        let value = value.trim();
        if value.is_empty() {
            eprintln!("Nothing was entered; paste or type the value.");
            continue;
        }
        match check(value) {
            Ok(()) => return Ok(Secret::from(value)),
            Err(e) => {
                eprintln!("{}; try again.", e.in_full());
                last = e;
            }
        }
    }
    Err(last)
}
