//! What the vault holds once decrypted: apps (LWA client credentials) and profiles (one
//! seller or vendor authorization each), with the rules names and ids must follow.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::spapi::{Marketplace, Region};

/// The payload schema this build reads and writes.
pub const SCHEMA: u32 = 1;

/// How long a new LWA client secret lives, per Amazon's 180-day rotation rule.
pub const CLIENT_SECRET_LIFETIME: SignedDuration = SignedDuration::from_hours(180 * 24);

/// How long a seller's authorization of a public app lasts: Amazon asks sellers to
/// re-authorize every 365 days (and when the app adds a role).
pub const AUTHORIZATION_LIFETIME: SignedDuration = SignedDuration::from_hours(365 * 24);

/// Amazon's limits on authorizations per app: self-authorizations of any app, and
/// consent-flow authorizations of a public app not listed in the Appstore.
pub const SELF_AUTHORIZATION_LIMIT: usize = 10;
pub const UNLISTED_CONSENT_LIMIT: usize = 25;

/// A date (`2027-05-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_date(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Ok(timestamp);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|date| {
            jiff::tz::TimeZone::UTC
                .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
                .ok()
        })
        .ok_or_else(|| {
            format!(
                "'{}' is not a date like 2027-05-01 or 2027-05-01T12:00:00Z",
                text.escape_debug()
            )
        })
}

/// App `app`'s client secret expiry, which must not have passed yet.
pub fn parse_future_date(text: &str, app: &str) -> Result<Timestamp> {
    let date = parse_date(text).map_err(Error::Invalid)?;
    if date <= Timestamp::now() {
        return Err(Error::Invalid(format!(
            "{} is in the past: a client secret that has expired needs a new one",
            date.strftime("%Y-%m-%d")
        ))
        .with_hint(format!("store it with `vault app set-secret {app}`")));
    }
    Ok(date)
}

/// The model: `VaultOf<Profile>` is the vault; `VaultOf<&RawValue>` leaves each
/// profile as its JSON text, for a command that needs only one of them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(bound(deserialize = "P: Deserialize<'de>"))]
pub struct VaultOf<P> {
    pub schema: u32,
    #[serde(default)]
    pub apps: BTreeMap<String, App>,
    #[serde(default, deserialize_with = "map_in_one_pass")]
    pub profiles: BTreeMap<String, P>,
    /// More age recipients (teammates, servers, a backup key) the payload is sealed
    /// to, by name: `age1...` public keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recipients: BTreeMap<String, String>,
    /// The public key of the passphrase's identity, kept inside the encryption so a
    /// recipient writing the vault keeps it open to the passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_recipient: Option<String>,
    /// The access log's key and switch, and where the log stood at this write.
    /// `None` in a vault written before the log existed: the next write adds it, on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSetting>,
}

/// The access log as a setting of the vault (`vault audit on|off`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditSetting {
    /// The HMAC key the log's entries are chained with: 32 random bytes, hex.
    pub key: Secret,
    pub on: bool,
    /// Rotated log files whose newest entry is older than this are pruned.
    pub keep_days: u32,
    /// The log's last entry when the vault was last written, so that a log cut back
    /// past it is detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<LogHead>,
}

/// One entry of the log, by its sequence number and MAC.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogHead {
    pub seq: u64,
    pub mac: String,
}

impl AuditSetting {
    /// How long rotated log files are kept unless told otherwise: over a year, as
    /// Amazon's newer guidance asks for 12 months.
    pub const DEFAULT_KEEP_DAYS: u32 = 400;

    pub fn new(on: bool) -> AuditSetting {
        let bytes: [u8; 32] = rand::random();
        AuditSetting {
            key: Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect()),
            on,
            keep_days: Self::DEFAULT_KEEP_DAYS,
            head: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct App {
    pub client_id: String,
    /// Needed only for the consent flow; absent for apps imported from a .env file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub draft: bool,
    pub client_secret: Secret,
    /// When Amazon stops accepting the secret; `None` when spvault was not told
    /// (imports, scripts without `--expires`): shown as unknown, never guessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<Timestamp>,
    /// The secret before a rotation, still accepted by Amazon until it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_client_secret: Option<PreviousSecret>,
    /// Client-credentials (grantless) tokens, by their space-separated sorted scopes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grantless_tokens: BTreeMap<String, CachedToken>,
    /// The SQS queue Amazon sends the app's secret notifications to (Developer
    /// Console › Notification preferences), for `vault app watch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_queue: Option<String>,
    /// The rotation `vault app watch` started, so that it starts at most one per expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_started: Option<RotationStarted>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RotationStarted {
    /// The expiry of the secret the rotation replaces.
    pub for_expiry: Timestamp,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PreviousSecret {
    pub secret: Secret,
    pub expires_at: Timestamp,
}

impl App {
    pub fn new(
        client_id: String,
        application_id: Option<String>,
        client_secret: Secret,
        client_secret_expires_at: Option<Timestamp>,
    ) -> App {
        App {
            client_id,
            application_id,
            redirect_uri: None,
            draft: false,
            client_secret,
            client_secret_expires_at,
            previous_client_secret: None,
            grantless_tokens: BTreeMap::new(),
            notification_queue: None,
            rotation_started: None,
        }
    }

    /// Takes a rotated secret: the current one stays usable as the previous one until
    /// `old_expires_at` (when Amazon says), and the new one expires at `expires_at`.
    /// The same secret again only updates its expiry.
    pub fn take_new_secret(
        &mut self,
        secret: Secret,
        expires_at: Timestamp,
        old_expires_at: Option<Timestamp>,
    ) {
        if secret != self.client_secret {
            self.previous_client_secret = old_expires_at.map(|expires_at| PreviousSecret {
                secret: self.client_secret.clone(),
                expires_at,
            });
            self.client_secret = secret;
        }
        self.client_secret_expires_at = Some(expires_at);
    }

    /// Whether `secret` is this app's secret, or the one it replaced.
    pub fn holds_secret(&self, secret: &Secret) -> bool {
        *secret == self.client_secret
            || self
                .previous_client_secret
                .as_ref()
                .is_some_and(|previous| previous.secret == *secret)
    }

    /// The secrets to try, newest first: the current one, then the previous one while
    /// Amazon still accepts it.
    pub fn usable_secrets(&self, now: Timestamp) -> Vec<Secret> {
        let mut secrets = vec![self.client_secret.clone()];
        if let Some(previous) = &self.previous_client_secret
            && previous.expires_at > now
        {
            secrets.push(previous.secret.clone());
        }
        secrets
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub app: String,
    pub region: Region,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    #[serde(default)]
    pub vendor: bool,
    #[serde(default)]
    pub sandbox: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selling_partner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<CachedToken>,
    /// Why the last refresh failed, until one succeeds (for `vault check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refresh_error: Option<RefreshFailure>,
    /// When the seller authorized the app (consent flow or self-authorization);
    /// unknown for imported profiles and those authorized before spvault recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_at: Option<Timestamp>,
    /// When a consent-flow authorization lapses (365 days); `None` for
    /// self-authorization, which does not lapse on a schedule, and when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_expires_at: Option<Timestamp>,
    /// Restricted Data Tokens `vault api` got, reused for the same resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restricted_data_tokens: Vec<CachedRestrictedToken>,
}

impl Profile {
    /// A profile not yet authorized.
    pub fn new(app: String, region: Region, marketplace_id: Option<String>) -> Profile {
        Profile {
            app,
            region,
            marketplace_id,
            vendor: false,
            sandbox: false,
            selling_partner_id: None,
            refresh_token: None,
            access_token: None,
            last_refresh_error: None,
            authorized_at: None,
            authorization_expires_at: None,
            restricted_data_tokens: Vec::new(),
        }
    }

    /// How the stored refresh token came to be, as far as spvault knows.
    pub fn authorization(&self) -> Authorization {
        match (self.authorized_at, self.authorization_expires_at) {
            (_, Some(expires_at)) => Authorization::ConsentFlow { expires_at },
            (Some(_), None) => Authorization::SelfAuthorized,
            (None, None) => Authorization::Unknown,
        }
    }

    /// Forgets the tokens and what is known of the authorization: the profile needs
    /// `vault login` again.
    pub fn forget_authorization(&mut self) {
        self.refresh_token = None;
        self.access_token = None;
        self.last_refresh_error = None;
        self.authorized_at = None;
        self.authorization_expires_at = None;
        self.selling_partner_id = None;
        self.restricted_data_tokens.clear();
    }

    /// A Restricted Data Token for exactly this method, path and data elements that
    /// stays valid for more than `margin`.
    pub fn restricted_token_for(
        &self,
        resource: &RestrictedResourceKey,
        margin: SignedDuration,
        now: Timestamp,
    ) -> Option<&CachedToken> {
        self.restricted_data_tokens
            .iter()
            .find(|cached| cached.resource == *resource && cached.token.valid_for(margin, now))
            .map(|cached| &cached.token)
    }

    /// Keeps a new Restricted Data Token, dropping expired ones, the one it replaces,
    /// and the oldest beyond `MAX_RESTRICTED_TOKENS`.
    pub fn remember_restricted_token(
        &mut self,
        resource: RestrictedResourceKey,
        token: CachedToken,
        now: Timestamp,
    ) {
        self.restricted_data_tokens
            .retain(|cached| cached.resource != resource && cached.token.expires_at > now);
        self.restricted_data_tokens
            .push(CachedRestrictedToken { resource, token });
        let excess = self
            .restricted_data_tokens
            .len()
            .saturating_sub(MAX_RESTRICTED_TOKENS);
        self.restricted_data_tokens.drain(..excess);
    }

    /// Records a new authorization: a consent-flow one lapses after 365 days.
    pub fn record_authorization(&mut self, consent_flow: bool, now: Timestamp) {
        let now = now.round(jiff::Unit::Second).unwrap_or(now);
        self.authorized_at = Some(now);
        self.authorization_expires_at = consent_flow.then(|| now + AUTHORIZATION_LIFETIME);
        self.last_refresh_error = None;
    }
}

/// How a profile was authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    ConsentFlow { expires_at: Timestamp },
    SelfAuthorized,
    Unknown,
}

impl Authorization {
    /// What to do when Amazon rejects profile `profile`'s refresh token
    /// (`invalid_grant`): authorize again the way it was authorized. A private app's
    /// self-authorization cannot use the consent flow, and does not lapse.
    pub fn when_revoked(&self, profile: &str) -> String {
        match self {
            Authorization::SelfAuthorized => format!(
                "the self-authorization was revoked, or the app added a role: authorize the app again in Seller or Vendor Central (Develop Apps, \"Authorize app\") and store the new refresh token with `vault login {profile} --self-authorized`"
            ),
            _ => format!(
                "the seller revoked the authorization, it lapsed (Amazon asks for it again every 365 days), or the app added a role: authorize again with `vault login {profile}`"
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RefreshFailure {
    pub code: String,
    pub at: Timestamp,
}

/// How many Restricted Data Tokens a profile keeps (each is for one resource).
const MAX_RESTRICTED_TOKENS: usize = 20;

/// What a Restricted Data Token was issued for: method, path and data elements.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RestrictedResourceKey {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_elements: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CachedRestrictedToken {
    pub resource: RestrictedResourceKey,
    pub token: CachedToken,
}

/// An access token and the absolute time it stops working.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CachedToken {
    pub token: Secret,
    pub expires_at: Timestamp,
}

impl CachedToken {
    /// Whether the token still has more than `margin` left at `now`.
    pub fn valid_for(&self, margin: SignedDuration, now: Timestamp) -> bool {
        now.duration_until(self.expires_at) > margin
    }
}

pub type Vault = VaultOf<Profile>;

/// A map read whole, then built at once: serde inserts entry by entry, which at
/// 10,000 profiles costs more than reading them, while spvault writes them in order.
fn map_in_one_pass<'de, D, V>(deserializer: D) -> std::result::Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Entries<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
        type Value = Vec<(String, V)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(entries)
        }
    }
    let entries = deserializer.deserialize_map(Entries(std::marker::PhantomData))?;
    Ok(entries.into_iter().collect())
}

impl VaultOf<&serde_json::value::RawValue> {
    /// The vault with only the profiles `names` parsed (and no other): at 10,000
    /// profiles, parsing all of them is most of the cost of reading one.
    pub fn with_only(self, names: &[&str]) -> serde_json::Result<Vault> {
        let mut profiles = BTreeMap::new();
        for name in names {
            if let Some((name, raw)) = self.profiles.get_key_value(*name) {
                profiles.insert(name.clone(), serde_json::from_str(raw.get())?);
            }
        }
        Ok(Vault {
            schema: self.schema,
            apps: self.apps,
            profiles,
            recipients: self.recipients,
            passphrase_recipient: self.passphrase_recipient,
            audit: self.audit,
        })
    }
}

impl Default for Vault {
    fn default() -> Self {
        Vault {
            schema: SCHEMA,
            apps: BTreeMap::new(),
            profiles: BTreeMap::new(),
            recipients: BTreeMap::new(),
            passphrase_recipient: None,
            audit: None,
        }
    }
}

impl Vault {
    /// A copy with every app but only profile `name` (none when there is no such one).
    pub fn with_only_profile(&self, name: &str) -> Vault {
        Vault {
            schema: self.schema,
            apps: self.apps.clone(),
            profiles: self
                .profiles
                .get_key_value(name)
                .map(|(k, v)| BTreeMap::from([(k.clone(), v.clone())]))
                .unwrap_or_default(),
            recipients: self.recipients.clone(),
            passphrase_recipient: self.passphrase_recipient.clone(),
            audit: self.audit.clone(),
        }
    }

    pub fn profile(&self, name: &str) -> Result<&Profile> {
        self.profiles
            .get(name)
            .ok_or_else(|| Error::NoSuchProfile(name.to_owned()))
    }

    pub fn profile_mut(&mut self, name: &str) -> Result<&mut Profile> {
        self.profiles
            .get_mut(name)
            .ok_or_else(|| Error::NoSuchProfile(name.to_owned()))
    }

    pub fn app(&self, name: &str) -> Result<&App> {
        self.apps
            .get(name)
            .ok_or_else(|| Error::NoSuchApp(name.to_owned()))
    }

    pub fn app_mut(&mut self, name: &str) -> Result<&mut App> {
        self.apps
            .get_mut(name)
            .ok_or_else(|| Error::NoSuchApp(name.to_owned()))
    }

    /// The profile and the app it uses.
    pub fn profile_with_app(&self, name: &str) -> Result<(&Profile, &App)> {
        let profile = self.profile(name)?;
        Ok((profile, self.app(&profile.app)?))
    }

    /// The app a new profile should use: the one named, or the only one there is.
    pub fn choose_app(&self, requested: Option<&str>) -> Result<String> {
        match requested {
            Some(name) => self.app(name).map(|_| name.to_owned()),
            None => match self.apps.len() {
                1 => Ok(self.apps.keys().next().cloned().unwrap_or_default()),
                0 => Err(Error::Invalid("the vault has no app yet".into()).with_hint(
                    "add one with `vault app add NAME --client-id ... --application-id ...`",
                )),
                _ => Err(Error::Invalid(format!(
                    "the vault has several apps ({})",
                    self.apps.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
                .with_hint("choose one with --app")),
            },
        }
    }

    pub fn add_app(&mut self, name: &str, app: App) -> Result<()> {
        validate_name("app", name)?;
        if self.apps.contains_key(name) {
            return Err(
                Error::Invalid(format!("an app named '{name}' already exists")).with_hint(format!(
                    "pick another name, or change its secret with `vault app set-secret {name}`"
                )),
            );
        }
        if let Some((existing, _)) = self.apps.iter().find(|(_, a)| a.client_id == app.client_id) {
            return Err(
                Error::Invalid(format!("app '{existing}' already holds this client id"))
                    .with_hint(format!("use --app {existing} for new profiles")),
            );
        }
        self.apps.insert(name.to_owned(), app);
        Ok(())
    }

    pub fn remove_app(&mut self, name: &str) -> Result<App> {
        self.app(name)?;
        let users: Vec<&str> = self
            .profiles
            .iter()
            .filter(|(_, p)| p.app == name)
            .map(|(n, _)| n.as_str())
            .collect();
        if !users.is_empty() {
            return Err(Error::Invalid(format!(
                "app '{name}' is used by profiles {}",
                users.join(", ")
            ))
            .with_hint(format!(
                "remove them first (`vault remove {}`), or move them to another app with `vault edit-profile NAME --app OTHER`",
                users[0]
            )));
        }
        self.apps
            .remove(name)
            .ok_or_else(|| Error::NoSuchApp(name.to_owned()))
    }

    pub fn add_profile(&mut self, name: &str, profile: Profile) -> Result<()> {
        validate_name("profile", name)?;
        self.app(&profile.app)?;
        if self.profiles.contains_key(name) {
            return Err(
                Error::Invalid(format!("a profile named '{name}' already exists"))
                    .with_hint(format!("pick another name, or `vault remove {name}` first")),
            );
        }
        self.profiles.insert(name.to_owned(), profile);
        Ok(())
    }

    pub fn remove_profile(&mut self, name: &str) -> Result<Profile> {
        self.profiles
            .remove(name)
            .ok_or_else(|| Error::NoSuchProfile(name.to_owned()))
    }

    pub fn rename_profile(&mut self, old: &str, new: &str) -> Result<()> {
        validate_name("profile", new)?;
        self.profile(old)?;
        if self.profiles.contains_key(new) {
            return Err(Error::Invalid(format!(
                "a profile named '{new}' already exists"
            )));
        }
        let profile = self
            .profiles
            .remove(old)
            .ok_or_else(|| Error::NoSuchProfile(old.to_owned()))?;
        self.profiles.insert(new.to_owned(), profile);
        Ok(())
    }
}

/// Profile and app names: `[A-Za-z0-9._-]{1,64}`, so they are safe in file names,
/// shell words and URLs.
pub fn validate_name(kind: &str, name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(
            Error::Invalid(format!("invalid {kind} name '{}'", name.escape_debug()))
                .with_hint("use 1 to 64 letters, digits, '.', '_' or '-'"),
        )
    }
}

pub const CLIENT_ID_PREFIX: &str = "amzn1.application-oa2-client.";
pub const APPLICATION_ID_PREFIXES: [&str; 2] = ["amzn1.sp.solution.", "amzn1.sellerapps.app."];
pub const CLIENT_SECRET_PREFIX: &str = "amzn1.oa2-cs.";

/// Amazon's client ids end in 32 hex digits.
fn is_client_id(id: &str) -> bool {
    id.strip_prefix(CLIENT_ID_PREFIX)
        .is_some_and(|tail| tail.len() == 32 && tail.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Application ids (App ID) end in a UUID: 8-4-4-4-12 hex digits.
fn is_application_id(id: &str) -> bool {
    let Some(tail) = APPLICATION_ID_PREFIXES
        .iter()
        .find_map(|prefix| id.strip_prefix(prefix))
    else {
        return false;
    };
    let groups: Vec<&str> = tail.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What a value that should have been something else looks like instead, for
/// errors that say what was given (never quoting it: it may be a secret).
fn looks_like(value: &str) -> Option<&'static str> {
    if value.starts_with(CLIENT_ID_PREFIX) {
        Some("the LWA client id")
    } else if APPLICATION_ID_PREFIXES.iter().any(|p| value.starts_with(p)) {
        Some("an application id (App ID)")
    } else if value.starts_with(CLIENT_SECRET_PREFIX) {
        Some("the client secret")
    } else if value.starts_with("Atzr|") {
        Some("a refresh token")
    } else if value.starts_with("Atza|") {
        Some("an access token")
    } else {
        None
    }
}

/// How many characters followed the prefix, when the shape is wrong there.
fn after_prefix(id: &str, prefixes: &[&str]) -> String {
    match prefixes.iter().find_map(|p| id.strip_prefix(p)) {
        Some(tail) => format!(
            " (got {} characters after the prefix)",
            tail.chars().count()
        ),
        None => String::new(),
    }
}

/// Checks the LWA client id alone.
pub fn validate_client_id(client_id: &str) -> Result<()> {
    if is_client_id(client_id) {
        return Ok(());
    }
    let given = match looks_like(client_id) {
        Some(what) if what != "the LWA client id" => format!(": that is {what}"),
        _ => after_prefix(client_id, &[CLIENT_ID_PREFIX]),
    };
    Err(Error::Invalid(format!(
        "the LWA client id must be {CLIENT_ID_PREFIX} followed by 32 hex digits{given}"
    ))
    .with_hint(
        "copy it from Developer Central, \"LWA credentials\" (the examples' ids are placeholders)",
    ))
}

/// Checks the SP-API application id alone.
pub fn validate_application_id(application_id: &str) -> Result<()> {
    if is_application_id(application_id) {
        return Ok(());
    }
    let given = match looks_like(application_id) {
        Some(what) if what != "an application id (App ID)" => format!(": that is {what}"),
        _ => after_prefix(application_id, &APPLICATION_ID_PREFIXES),
    };
    Err(Error::Invalid(format!(
        "the application id must be amzn1.sp.solution. or amzn1.sellerapps.app. followed by a UUID (8-4-4-4-12 hex digits){given}"
    ))
    .with_hint("copy the app's \"App ID\" from Developer Central (the examples' ids are placeholders)"))
}

/// Checks the LWA client id and the SP-API application id, catching the most common
/// set-up mistake: giving one where the other belongs.
pub fn validate_app_ids(client_id: &str, application_id: &str) -> Result<()> {
    if APPLICATION_ID_PREFIXES
        .iter()
        .any(|p| client_id.starts_with(p))
        && application_id.starts_with(CLIENT_ID_PREFIX)
    {
        return Err(Error::Invalid(
            "the client id and the application id are swapped: the LWA client id starts with amzn1.application-oa2-client. (Developer Central, \"LWA credentials\"); the application id starts with amzn1.sp.solution. (the app's \"App ID\")".into(),
        ));
    }
    validate_client_id(client_id)?;
    validate_application_id(application_id)
}

/// A client secret is `amzn1.oa2-cs.` and then Amazon's characters (letters,
/// digits, '.', '-', '_'): a client id or a token pasted in its place is refused,
/// saying what it is.
pub fn validate_client_secret(secret: &str) -> Result<()> {
    let tail = secret.strip_prefix(CLIENT_SECRET_PREFIX);
    if tail.is_some_and(|t| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    }) {
        return Ok(());
    }
    let given = match (tail, looks_like(secret)) {
        (Some(""), _) => "nothing follows the prefix".to_owned(),
        (Some(_), _) => "it holds characters Amazon's client secrets never have".to_owned(),
        (None, Some(what)) => format!("that is {what}"),
        (None, None) => "that is something else".to_owned(),
    };
    Err(Error::Invalid(format!(
        "the client secret must be {CLIENT_SECRET_PREFIX} followed by letters, digits, '.', '-' or '_': {given}; nothing was stored"
    ))
    .with_hint("copy the \"Client secret\" from Developer Central, \"LWA credentials\""))
}

fn unknown_marketplace(code_or_id: &str) -> Error {
    Error::Invalid(format!(
        "unknown marketplace '{}'",
        code_or_id.escape_debug()
    ))
    .with_hint("use a code such as DE or US, or a marketplace id")
}

/// Resolves a marketplace code or id and checks it belongs to the region.
pub fn resolve_marketplace(code_or_id: &str, region: Region) -> Result<&'static Marketplace> {
    let marketplace =
        Marketplace::lookup(code_or_id).ok_or_else(|| unknown_marketplace(code_or_id))?;
    if marketplace.region != region {
        return Err(Error::Invalid(format!(
            "marketplace {} belongs to region {}, not {region}",
            marketplace.code, marketplace.region
        ))
        .with_hint(format!(
            "choose region {}, or a marketplace of region {region}",
            marketplace.region
        )));
    }
    Ok(marketplace)
}

/// The region and marketplace a profile gets from `--region` and `--marketplace`: a
/// marketplace alone names its region (each marketplace has one); both must agree.
pub fn region_and_marketplace(
    region: Option<Region>,
    marketplace: Option<&str>,
) -> Result<(Region, Option<&'static Marketplace>)> {
    match (region, marketplace) {
        (Some(region), Some(m)) => Ok((region, Some(resolve_marketplace(m, region)?))),
        (Some(region), None) => Ok((region, None)),
        (None, Some(m)) => {
            let marketplace = Marketplace::lookup(m).ok_or_else(|| unknown_marketplace(m))?;
            Ok((marketplace.region, Some(marketplace)))
        }
        (None, None) => Err(Error::Invalid(
            "--region is required (na, eu or fe), or a --marketplace, which names its region"
                .into(),
        )),
    }
}

/// Accepts only `https://` redirect URIs, or `http://` ones on a loopback host (used by
/// local listeners and test stand-ins).
pub fn validate_redirect_uri(uri: &str) -> Result<()> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| Error::Invalid(format!("--redirect-uri is not a valid address: {e}")))?;
    if parsed.fragment().is_some() {
        return Err(Error::Invalid(
            "--redirect-uri must not hold a fragment (#...): Amazon refuses such redirect URIs (MD5110)".into(),
        ));
    }
    if parsed.scheme() == "https" || crate::net::is_loopback_http(&parsed) {
        Ok(())
    } else {
        Err(Error::Invalid(
            "--redirect-uri must be https:// (or http:// on 127.0.0.1 or localhost)".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vaults_from_before_the_expiry_and_authorization_fields_keep_their_dates() {
        let old = r#"
schema = 1
[apps.main]
client_id = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef"
client_secret = "s"
client_secret_expires_at = "2027-05-01T00:00:00Z"
[profiles.p]
app = "main"
region = "eu"
refresh_token = "Atzr|x"
"#;
        let vault: Vault = toml::from_str(old).unwrap();
        assert_eq!(
            vault.apps["main"].client_secret_expires_at,
            Some("2027-05-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(vault.profiles["p"].authorization(), Authorization::Unknown);
        let unknown = old.replace("client_secret_expires_at = \"2027-05-01T00:00:00Z\"\n", "");
        let vault: Vault = toml::from_str(&unknown).unwrap();
        assert_eq!(vault.apps["main"].client_secret_expires_at, None);
        assert!(
            !toml::to_string(&vault)
                .unwrap()
                .contains("client_secret_expires_at")
        );
    }

    #[test]
    fn names_follow_the_documented_pattern() {
        assert!(validate_name("profile", "eu-seller_1.x").is_ok());
        assert!(validate_name("profile", &"a".repeat(64)).is_ok());
        for bad in ["", "a b", "x/y", "ü", &"a".repeat(65)] {
            assert!(validate_name("profile", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_and_secrets_must_have_amazons_shapes() {
        let client = "amzn1.application-oa2-client.0123456789abcdef0123456789abcdef";
        let app = "amzn1.sp.solution.01234567-89ab-cdef-0123-456789abcdef";
        assert!(validate_app_ids(client, app).is_ok());
        let err = validate_app_ids(app, client).unwrap_err().to_string();
        assert!(err.contains("swapped"), "{err}");
        assert!(
            validate_application_id("amzn1.sellerapps.app.01234567-89ab-cdef-0123-456789abcdef")
                .is_ok()
        );
        // The help's placeholders, and ids one digit short or with a non-hex digit.
        for bad in [
            "amzn1.application-oa2-client....",
            "amzn1.application-oa2-client.0123456789abcdef0123456789abcde",
            "amzn1.application-oa2-client.0123456789abcdef0123456789abcdeg",
            "nope",
        ] {
            let err = validate_client_id(bad).unwrap_err().to_string();
            assert!(err.contains("32 hex digits"), "{bad}: {err}");
        }
        for bad in [
            "amzn1.sp.solution.zzz",
            "amzn1.sp.solution....",
            "amzn1.sp.solution.01234567-89ab-cdef-0123-456789abcde",
        ] {
            let err = validate_application_id(bad).unwrap_err().to_string();
            assert!(err.contains("UUID"), "{bad}: {err}");
        }
        assert!(validate_client_secret("amzn1.oa2-cs.v1.0123abcdef").is_ok());
        for (bad, said) in [
            (client, "the LWA client id"),
            ("Atzr|IwEB", "a refresh token"),
            ("amzn1.oa2-cs.v1.a b", "characters"),
            ("hunter2", "something else"),
        ] {
            let err = validate_client_secret(bad).unwrap_err().to_string();
            assert!(err.contains(said), "{bad}: {err}");
            assert!(!err.contains(bad), "quotes the value: {err}");
        }
        let err = validate_client_secret(CLIENT_SECRET_PREFIX).unwrap_err();
        assert!(err.to_string().contains("nothing follows"), "{err}");
    }

    #[test]
    fn marketplaces_must_belong_to_the_region() {
        assert_eq!(
            resolve_marketplace("de", Region::Eu).unwrap().id,
            "A1PA6795UKMFR9"
        );
        let err = resolve_marketplace("US", Region::Eu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("region na"), "{err}");
    }
}
