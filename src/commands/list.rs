use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::output::{secret_expiry_text, warn_about_secrets};
use super::table::{self, Column};
use crate::display::{days_left, timestamp};
use crate::duration;
use crate::error::Result;
use crate::spapi::Marketplace;
use crate::unlock;
use crate::vault::Vault;
use crate::vault::file::VaultFile;
use crate::vault::model::{App, Authorization, Profile};
use crate::vault::payload::Selection;

/// Access tokens closer than this to expiry read "expires in ...": the default margin.
const TOKEN_WARNING: SignedDuration = SignedDuration::from_mins(5);

/// One profile as `list --json` and `show --json` print it; field names are stable
/// and documented in README.md.
#[derive(Debug, Serialize)]
pub struct ProfileSummary {
    pub profile: String,
    /// `ok`; `list` shows a profile whose record does not open as `damaged`.
    pub record: &'static str,
    pub app: String,
    pub region: String,
    pub marketplace: Option<&'static str>,
    pub marketplace_id: Option<String>,
    pub vendor: bool,
    pub sandbox: bool,
    pub endpoint: &'static str,
    pub selling_partner_id: Option<String>,
    pub refresh_token_present: bool,
    pub access_token_status: &'static str,
    pub access_token_expires_at: Option<String>,
    pub access_token_seconds_left: Option<i64>,
    pub client_secret_expires_at: Option<String>,
    pub client_secret_days_left: Option<i64>,
    /// The app's queue for secret notifications (`vault app edit --notification-queue`).
    pub notification_queue: Option<String>,
    pub authorized_at: Option<String>,
    pub authorization_expires_at: Option<String>,
    pub last_refresh_error: Option<String>,
    #[serde(skip)]
    last_refresh_error_at: Option<Timestamp>,
    #[serde(skip)]
    authorization: Authorization,
    #[serde(skip)]
    now: Timestamp,
}

impl ProfileSummary {
    pub fn new(name: &str, profile: &Profile, app: Option<&App>, now: Timestamp) -> Self {
        let seconds_left = profile
            .access_token
            .as_ref()
            .map(|t| now.duration_until(t.expires_at).as_secs());
        let access_token_status = match seconds_left {
            None => "none",
            Some(s) if s <= 0 => "expired",
            Some(s) if SignedDuration::from_secs(s) <= TOKEN_WARNING => "expiring",
            Some(_) => "valid",
        };
        ProfileSummary {
            profile: name.to_owned(),
            record: "ok",
            app: profile.app.clone(),
            region: profile.region.code().to_owned(),
            marketplace: profile
                .marketplace_id
                .as_deref()
                .and_then(Marketplace::by_id)
                .map(|m| m.code),
            marketplace_id: profile.marketplace_id.clone(),
            vendor: profile.vendor,
            sandbox: profile.sandbox,
            endpoint: profile.region.endpoint(profile.sandbox),
            selling_partner_id: profile.selling_partner_id.clone(),
            refresh_token_present: profile.refresh_token.is_some(),
            access_token_status,
            access_token_expires_at: profile
                .access_token
                .as_ref()
                .map(|t| timestamp(t.expires_at)),
            access_token_seconds_left: seconds_left,
            client_secret_expires_at: app.and_then(|a| a.client_secret_expires_at).map(timestamp),
            client_secret_days_left: app.and_then(|a| days_left(a.client_secret_expires_at, now)),
            notification_queue: app.and_then(|a| a.notification_queue.clone()),
            authorized_at: profile.authorized_at.map(timestamp),
            authorization_expires_at: profile.authorization_expires_at.map(timestamp),
            last_refresh_error: profile.last_refresh_error.as_ref().map(|f| f.code.clone()),
            last_refresh_error_at: profile.last_refresh_error.as_ref().map(|f| f.at),
            authorization: profile.authorization(),
            now,
        }
    }

    /// The refresh token's state: stored, missing, or rejected by Amazon last time.
    /// `stored` and `missing` are the words for the other two states.
    fn refresh_token_text(&self, stored: &str, missing: &str) -> String {
        match (&self.last_refresh_error, self.last_refresh_error_at) {
            (Some(code), Some(at)) => format!("rejected ({code}, {})", at.strftime("%Y-%m-%d")),
            _ if self.refresh_token_present => stored.into(),
            _ => missing.into(),
        }
    }

    /// When the seller's authorization lapses, as far as spvault knows.
    fn authorization_text(&self) -> String {
        match self.authorization {
            Authorization::ConsentFlow { expires_at } => {
                crate::display::time_left_text(expires_at, self.now)
            }
            Authorization::SelfAuthorized => "self-authorized".into(),
            Authorization::Unknown if self.refresh_token_present => "unknown".into(),
            Authorization::Unknown => "-".into(),
        }
    }

    fn access_token_text(&self) -> String {
        match (self.access_token_status, self.access_token_seconds_left) {
            ("valid", Some(s)) => {
                format!("valid {}", duration::short(SignedDuration::from_secs(s)))
            }
            ("expiring", Some(s)) => format!(
                "expires in {}",
                duration::short(SignedDuration::from_secs(s))
            ),
            (status, _) => status.to_owned(),
        }
    }
}

/// One entry of `list`: a profile, or one whose record does not open, which is
/// named (JSON: `record` is `damaged`, with why) beside the others.
#[derive(Serialize)]
#[serde(untagged)]
enum Listed<'a> {
    Readable(Box<ProfileSummary>),
    Damaged {
        profile: &'a str,
        record: &'static str,
        detail: &'a str,
    },
}

impl Listed<'_> {
    fn name(&self) -> &str {
        match self {
            Listed::Readable(summary) => &summary.profile,
            Listed::Damaged { profile, .. } => profile,
        }
    }
}

pub fn list(file: VaultFile, json: bool, wide: bool) -> Result<()> {
    // A damaged record is listed, not fatal: the other profiles stay in view.
    let (unlocked, salvaged) = unlock::open_around_damage(file, Selection::All)?;
    let vault = &salvaged.vault;
    let now = Timestamp::now();
    let mut listed: Vec<Listed> = vault
        .profiles
        .iter()
        .map(|(name, p)| {
            Listed::Readable(Box::new(ProfileSummary::new(
                name,
                p,
                vault.apps.get(&p.app),
                now,
            )))
        })
        .collect();
    listed.extend(salvaged.damaged.iter().map(|d| Listed::Damaged {
        profile: &d.profile,
        record: "damaged",
        detail: &d.detail,
    }));
    listed.sort_by(|a, b| a.name().cmp(b.name()));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&listed).expect("summaries serialize")
        );
    } else if listed.is_empty() {
        println!("No profiles yet: add one with `vault add-profile NAME --region eu`.");
    } else {
        print_table(vault, &listed, now, wide);
    }
    if let Some(damage) = salvaged.damage(unlocked.file()) {
        eprintln!("warning: {}", damage.in_full());
    }
    warn_about_secrets(vault, now);
    Ok(())
}

/// The profiles as a table, the columns that say what needs doing kept first.
fn print_table(vault: &Vault, listed: &[Listed], now: Timestamp, wide: bool) {
    let columns = [
        ("profile", 0),
        ("app", 6),
        ("region", 4),
        ("marketplace", 5),
        ("selling partner", 7),
        ("refresh token", 3),
        ("access token", 1),
        ("authorization", 2),
        ("client secret", 3),
    ]
    .map(|(header, rank)| Column { header, rank });
    let mut rows: Vec<Vec<String>> = listed
        .iter()
        .map(|entry| match entry {
            Listed::Readable(s) => readable_row(vault, s, now),
            // In the column a narrow terminal keeps longest after the name.
            Listed::Damaged { profile, .. } => {
                let mut row = vec!["-".to_owned(); columns.len()];
                row[0] = (*profile).to_owned();
                row[6] = "damaged".to_owned();
                row
            }
        })
        .collect();
    table::sort_naturally(&mut rows);
    table::print(&columns, &rows, wide, "vault list");
}

fn readable_row(vault: &Vault, s: &ProfileSummary, now: Timestamp) -> Vec<String> {
    let mut region = s.region.clone();
    if s.sandbox {
        region.push_str(" (sandbox)");
    }
    if s.vendor {
        region.push_str(" vendor");
    }
    vec![
        s.profile.clone(),
        s.app.clone(),
        region,
        s.marketplace.unwrap_or("-").to_owned(),
        s.selling_partner_id.clone().unwrap_or_else(|| "-".into()),
        s.refresh_token_text("yes", "missing"),
        s.access_token_text(),
        s.authorization_text(),
        vault
            .apps
            .get(&s.app)
            .map(|a| secret_expiry_text(a.client_secret_expires_at, now))
            .unwrap_or_else(|| "-".into()),
    ]
}

pub fn show(file: VaultFile, name: &str, json: bool) -> Result<()> {
    let (_, vault) = unlock::open_profile(file, name)?;
    let (profile, app) = vault.profile_with_app(name)?;
    let now = Timestamp::now();
    let summary = ProfileSummary::new(name, profile, Some(app), now);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summary serializes")
        );
        return Ok(());
    }
    let rows = [
        ("profile", summary.profile.clone()),
        (
            "app",
            format!(
                "{} (client id {})",
                summary.app,
                crate::display::escape_controls(&app.client_id)
            ),
        ),
        (
            "application id",
            app.application_id
                .clone()
                .unwrap_or_else(|| "- (set it with `vault app edit`)".into()),
        ),
        ("region", summary.region.clone()),
        (
            "marketplace",
            match (&summary.marketplace, &summary.marketplace_id) {
                (Some(code), Some(id)) => format!("{code} ({id})"),
                _ => "-".into(),
            },
        ),
        (
            "kind",
            if summary.vendor { "vendor" } else { "seller" }.to_owned(),
        ),
        ("endpoint", summary.endpoint.to_owned()),
        (
            "selling partner id",
            summary
                .selling_partner_id
                .clone()
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "refresh token",
            summary.refresh_token_text("stored", &format!("missing: run `vault login {name}`")),
        ),
        ("access token", summary.access_token_text()),
        ("authorization", summary.authorization_text()),
        (
            "authorized at",
            date_or_unknown(profile.authorized_at, summary.refresh_token_present),
        ),
        (
            "authorization ends",
            match summary.authorization {
                Authorization::SelfAuthorized => "no set date (self-authorized)".into(),
                _ => date_or_unknown(
                    profile.authorization_expires_at,
                    summary.refresh_token_present,
                ),
            },
        ),
        (
            "client secret",
            secret_expiry_text(app.client_secret_expires_at, now),
        ),
        (
            "notification queue",
            app.notification_queue.as_deref().map_or_else(
                || {
                    format!(
                        "- (set it with `vault app edit {} --notification-queue URL`)",
                        summary.app
                    )
                },
                crate::display::escape_controls,
            ),
        ),
    ];
    for (label, value) in rows {
        println!("{label:>20}  {value}");
    }
    Ok(())
}

/// A date, "unknown" when spvault was not told, "-" where there is nothing to date.
fn date_or_unknown(at: Option<Timestamp>, applies: bool) -> String {
    match at {
        Some(at) => at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        None if applies => "unknown".into(),
        None => "-".into(),
    }
}
