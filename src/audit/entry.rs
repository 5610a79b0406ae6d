//! One entry of the access log: what happened to which credential, when, for whom.
//! It never holds a credential's value or any part of one, nor anything from
//! Amazon's answers beyond status and error codes.

use std::sync::OnceLock;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What an entry records. The names are the log's public vocabulary (`--event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Event {
    // Credentials handed out.
    Token,
    GrantlessToken,
    Env,
    Exec,
    Api,
    Rdt,
    Serve,
    Proxy,
    // Vault changes.
    Init,
    Login,
    SecretSet,
    SecretRotated,
    AppAdded,
    AppEdited,
    AppRemoved,
    ProfileAdded,
    ProfileEdited,
    ProfileRenamed,
    ProfileRemoved,
    Import,
    RecipientAdded,
    RecipientRemoved,
    Passwd,
    Migrate,
    AuditOn,
    AuditOff,
    // Sessions.
    Unlock,
    Lock,
    PassphraseFailed,
    AgentStarted,
    AgentStopped,
    /// The first entry of a file begun when the one before it grew too big: names
    /// the entry it follows, so the chain can be checked after older files are pruned.
    LogRotated,
}

impl Event {
    /// The event's name, as the log and `--event` spell it.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|value| value.get_name().to_owned())
            .unwrap_or_default()
    }
}

/// Who asked: the `vault` process and the program that ran it, or a client of
/// `serve` or `proxy` by its address (not its port) and the key it presented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Who {
    Process {
        uid: u32,
        pid: u32,
        exe: String,
        parent_pid: u32,
        parent_exe: String,
    },
    Client {
        client: String,
        key: String,
    },
}

impl Who {
    /// This process and its parent, read once.
    pub fn this_process() -> Who {
        static WHO: OnceLock<Who> = OnceLock::new();
        WHO.get_or_init(|| {
            let parent_pid = std::os::unix::process::parent_id();
            Who::Process {
                uid: crate::process::current_uid(),
                pid: std::process::id(),
                exe: executable("self"),
                parent_pid,
                parent_exe: executable(&parent_pid.to_string()),
            }
        })
        .clone()
    }
}

/// A process's executable, or "unknown" when the system does not say (another
/// user's process, no /proc).
fn executable(pid: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|path| path.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// An entry as written: `seq` and the MAC are added by the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub seq: u64,
    pub time: Timestamp,
    pub event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// What kind of credential left (never its value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// `env` and `exec`: the preset, and whether client secrets went with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<bool>,
    /// `api`: the operationId and the HTTP status Amazon answered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Restricted data tokens: the paths and the data elements they cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_elements: Option<Vec<String>>,
    /// `serve` and `proxy`: answers to one client about one profile in one minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// A name the event is about besides profile and app (a recipient, a store, a
    /// scope), or the entry a rotated file follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// "ok", or the kind of error (the exit code's name).
    pub outcome: String,
    pub who: Who,
    /// Written without the key (a failed passphrase, the agent): the next sealed
    /// entry's MAC covers it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsealed: bool,
}

impl Entry {
    /// An entry of `event` by this process, now, outcome ok.
    pub fn new(event: Event) -> Entry {
        Entry {
            seq: 0,
            time: Timestamp::now(),
            event,
            profile: None,
            app: None,
            credential: None,
            preset: None,
            secrets: None,
            operation: None,
            status: None,
            resources: None,
            data_elements: None,
            count: None,
            subject: None,
            outcome: "ok".into(),
            who: Who::this_process(),
            unsealed: false,
        }
    }

    pub fn profile(mut self, profile: impl Into<String>) -> Entry {
        self.profile = Some(profile.into());
        self
    }

    pub fn app(mut self, app: impl Into<String>) -> Entry {
        self.app = Some(app.into());
        self
    }

    pub fn credential(mut self, kind: &str) -> Entry {
        self.credential = Some(kind.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Entry {
        self.subject = Some(subject.into());
        self
    }

    /// A restricted data token obtained for `resources`: their paths and data elements.
    pub fn rdt(profile: &str, resources: &[crate::spapi_client::RestrictedResource]) -> Entry {
        let mut entry = Entry::new(Event::Rdt)
            .profile(profile)
            .credential("restricted_data_token");
        entry.resources = Some(
            resources
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect(),
        );
        let mut elements: Vec<String> = resources
            .iter()
            .flat_map(|r| r.data_elements.iter().flatten().cloned())
            .collect();
        elements.sort();
        elements.dedup();
        entry.data_elements = (!elements.is_empty()).then_some(elements);
        entry
    }

    /// The outcome of what the entry is about: ok, or the kind of error.
    pub fn outcome<T>(mut self, result: &crate::error::Result<T>) -> Entry {
        if let Err(error) = result {
            self.outcome = error.exit_code().name().into();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written() {
        let entry = Entry::new(Event::GrantlessToken)
            .app("main")
            .subject("scope");
        let json = serde_json::to_string(&entry).unwrap();
        assert!(json.contains(r#""event":"grantless_token""#), "{json}");
        assert!(!json.contains("unsealed"), "{json}");
        assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), entry);
        assert_eq!(Event::PassphraseFailed.name(), "passphrase_failed");
    }
}
