//! The SQS-compatible server scripts/test.sh starts (moto in server mode), driven with
//! boto3 as Amazon and an operator's tooling would; and the secret notifications
//! Amazon sends to it.

use std::process::{Command, Stdio};

use super::{CLIENT_ID, Env, python_with, skip_or_fail};

/// The queue URL an app is given: the real SQS shape, with AWS_ENDPOINT_URL_SQS
/// pointing at the test server.
pub fn real_shape_url(name: &str) -> String {
    format!("https://sqs.us-east-1.amazonaws.com/123456789012/{name}")
}

/// A queue on the test server.
pub struct Queue {
    pub endpoint: String,
    pub url: String,
    python: String,
}

impl Queue {
    /// A new queue whose messages come back `visibility` seconds after a receive;
    /// `None` (and a loud skip) without the server.
    pub fn new(visibility: u32) -> Option<Queue> {
        let Ok(endpoint) = std::env::var("SPVAULT_TEST_SQS") else {
            skip_or_fail("no SQS server (moto) running: SPVAULT_TEST_SQS is not set");
            return None;
        };
        let python = python_with("boto3")?;
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "spvault-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut queue = Queue {
            endpoint,
            url: String::new(),
            python,
        };
        let created = queue.boto(&["create", &name, &visibility.to_string()], "");
        assert!(created.ends_with(&name), "{created}");
        queue.url = real_shape_url(&name);
        Some(queue)
    }

    fn boto(&self, args: &[&str], input: &str) -> String {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/sqs.py");
        let mut child = Command::new(&self.python)
            .arg(script)
            .arg(&self.endpoint)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "sqs.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The URL moto itself gives the queue (for the tooling's own calls).
    fn own_url(&self) -> String {
        let name = self.url.rsplit('/').next().unwrap();
        format!("{}/123456789012/{name}", self.endpoint)
    }

    pub fn send(&self, body: &str) {
        self.boto(&["send", &self.own_url()], body);
    }

    /// Messages on the queue, visible or not.
    pub fn count(&self) -> usize {
        self.boto(&["count", &self.own_url()], "").parse().unwrap()
    }

    /// Gives `env` AWS credentials for the test server, and app `main` this queue.
    pub fn watched_by(&self, env: &mut Env) {
        aws_credentials(env, &self.endpoint);
        env.run(&["app", "edit", "main", "--notification-queue", &self.url])
            .ok();
    }
}

/// Test credentials and the endpoint override, and nothing from the real machine.
pub fn aws_credentials(env: &mut Env, endpoint: &str) {
    env.set("AWS_ACCESS_KEY_ID", "testing");
    env.set("AWS_SECRET_ACCESS_KEY", "testing");
    env.set("AWS_ENDPOINT_URL_SQS", endpoint);
    env.set("AWS_EC2_METADATA_DISABLED", "true");
    for name in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        env.unset(name);
    }
}

/// `APPLICATION_OAUTH_CLIENT_NEW_SECRET`, as Amazon sends it to SQS.
pub fn new_secret(secret: &str, expires: jiff::Timestamp, old_expires: jiff::Timestamp) -> String {
    new_secret_for(CLIENT_ID, secret, expires, old_expires)
}

pub fn new_secret_for(
    client_id: &str,
    secret: &str,
    expires: jiff::Timestamp,
    old_expires: jiff::Timestamp,
) -> String {
    serde_json::json!({
        "notificationVersion": "1.0",
        "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "payloadVersion": "2023-12-13",
        "eventTime": jiff::Timestamp::now().to_string(),
        "payload": {"applicationOAuthClientNewSecret": {
            "clientId": client_id,
            "newClientSecret": secret,
            "newClientSecretExpiryTime": expires.to_string(),
            "oldClientSecretExpiryTime": old_expires.to_string(),
        }},
        "notificationMetadata": {
            "applicationId": super::APP_ID,
            "subscriptionId": "subscription-1",
            "publishTime": jiff::Timestamp::now().to_string(),
            "notificationId": "notification-1",
        },
    })
    .to_string()
}

/// `APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`, as Amazon sends it to SQS.
pub fn expiry_for(client_id: &str, expires: jiff::Timestamp) -> String {
    serde_json::json!({
        "notificationVersion": "1.0",
        "notificationType": "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
        "payloadVersion": "2023-12-13",
        "eventTime": jiff::Timestamp::now().to_string(),
        "payload": {"applicationOAuthClientSecretExpiry": {
            "clientId": client_id,
            "clientSecretExpiryTime": expires.to_string(),
            "clientSecretExpiryReason": "PERIODIC_ROTATION",
        }},
        "notificationMetadata": {
            "applicationId": super::APP_ID,
            "subscriptionId": "subscription-2",
            "publishTime": jiff::Timestamp::now().to_string(),
            "notificationId": "notification-2",
        },
    })
    .to_string()
}

pub fn expiry(expires: jiff::Timestamp) -> String {
    expiry_for(CLIENT_ID, expires)
}

/// `days` from now, in whole seconds (as Amazon writes times).
pub fn in_days(days: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + days * 86_400).unwrap()
}
