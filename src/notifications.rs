//! Amazon's notifications about an app's client secret, as `vault app set-secret
//! --from-notification` reads them from stdin and `vault app watch` from SQS: the whole
//! message, its payload, or the inner object, also wrapped by EventBridge (`detail`)
//! or SNS (`Message`, a JSON string).

use jiff::Timestamp;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// What a notification says.
#[derive(Debug)]
pub enum SecretNotification {
    /// `APPLICATION_OAUTH_CLIENT_NEW_SECRET`: the rotated secret, and until when the
    /// old one is still accepted.
    NewSecret {
        client_id: Option<String>,
        secret: Secret,
        expires_at: Timestamp,
        old_expires_at: Option<Timestamp>,
    },
    /// `APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`: when the current secret expires.
    Expiry {
        client_id: String,
        expires_at: Timestamp,
        reason: Option<String>,
    },
}

/// The part of an `APPLICATION_OAUTH_CLIENT_NEW_SECRET` notification spvault needs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewSecret {
    #[serde(default)]
    client_id: Option<String>,
    new_client_secret: Secret,
    new_client_secret_expiry_time: Timestamp,
    #[serde(default)]
    old_client_secret_expiry_time: Option<Timestamp>,
}

/// The payload of an `APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY` notification.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretExpiryNotice {
    client_id: String,
    client_secret_expiry_time: Timestamp,
    #[serde(default)]
    client_secret_expiry_reason: Option<String>,
}

/// Finds the object holding `key`, whether stdin holds the whole notification, its
/// payload, or just the inner object.
fn find_object<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    match value {
        serde_json::Value::Object(map) if map.contains_key(key) => Some(value),
        serde_json::Value::Object(map) => map.values().find_map(|v| find_object(v, key)),
        _ => None,
    }
}

/// An SNS envelope carries the notification as a JSON string in `Message`.
fn unwrap_sns(value: serde_json::Value) -> serde_json::Value {
    let inner = value
        .get("Message")
        .and_then(serde_json::Value::as_str)
        .and_then(|message| serde_json::from_str::<serde_json::Value>(message).ok());
    match inner {
        Some(inner) if inner.is_object() => unwrap_sns(inner),
        _ => value,
    }
}

/// Reads a notification; an error says what is missing (never a value).
pub fn parse(text: &str) -> Result<SecretNotification> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| Error::Invalid("the notification is not JSON".into()))?;
    let value = unwrap_sns(value);
    if find_object(&value, "newClientSecret").is_none()
        && let Some(found) = find_object(&value, "clientSecretExpiryTime")
    {
        let notice: SecretExpiryNotice = serde_json::from_value(found.clone()).map_err(|_| {
            Error::Invalid(
                "the notification's clientId or clientSecretExpiryTime is missing or malformed"
                    .into(),
            )
        })?;
        return Ok(SecretNotification::Expiry {
            client_id: notice.client_id,
            expires_at: notice.client_secret_expiry_time,
            reason: notice.client_secret_expiry_reason,
        });
    }
    let found = find_object(&value, "newClientSecret").ok_or_else(|| {
        Error::Invalid(
            "neither newClientSecret nor clientSecretExpiryTime in the notification".into(),
        )
        .with_hint("give an APPLICATION_OAUTH_CLIENT_NEW_SECRET or APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY notification")
    })?;
    let new: NewSecret = serde_json::from_value(found.clone()).map_err(|_| {
        Error::Invalid("the notification's newClientSecret, newClientSecretExpiryTime or oldClientSecretExpiryTime is missing or malformed".into())
    })?;
    Ok(SecretNotification::NewSecret {
        client_id: new.client_id,
        secret: new.new_client_secret,
        expires_at: new.new_client_secret_expiry_time,
        old_expires_at: new.old_client_secret_expiry_time,
    })
}
