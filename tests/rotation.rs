//! Client secrets that rotate themselves: `vault app watch` and `vault app rotate-secret
//! --wait` against a real SQS-compatible server (moto, started by scripts/test.sh) and
//! the stand-in playing LWA and the Application Management API.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::sqs::{self, Queue};
use support::*;

const NEW_SECRET: &str = "amzn1.oa2-cs.v1.the-rotated-secret-0002";

/// Profile `p` logged in, app `main` watching a new queue (messages come back
/// `visibility` seconds after a receive).
fn setup(visibility: u32) -> Option<(StandIn, Env, Queue)> {
    let queue = Queue::new(visibility)?;
    let (standin, mut env) = logged_in_with_spapi();
    queue.watched_by(&mut env);
    Some((standin, env, queue))
}

fn app_json(env: &Env) -> serde_json::Value {
    env.run(&["app", "list", "--json"]).ok().json()[0].clone()
}

/// The secret the next refresh of `p` is sent with first.
fn secret_refreshed_with(env: &Env, standin: &StandIn) -> Vec<String> {
    let before = standin.seen().len();
    env.run(&["refresh", "p", "--force"]).ok();
    standin.seen()[before..]
        .iter()
        .map(|seen| seen.client_secret.clone())
        .collect()
}

fn rotation_calls(standin: &StandIn) -> usize {
    standin
        .spapi_calls()
        .iter()
        .filter(|call| call.path == "/applications/2023-11-30/clientSecret")
        .count()
}

/// `rotate-secret main --wait`, once the stand-in has seen its rotation start.
fn rotating_and_waiting(env: &Env, standin: &StandIn) -> std::process::Child {
    let waiting = env
        .command(&["app", "rotate-secret", "main", "--wait", "--timeout", "1m"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while rotation_calls(standin) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no rotation started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    waiting
}

fn assert_no_secret(out: &Out) {
    for secret in [NEW_SECRET, CLIENT_SECRET, REFRESH_TOKEN, "testing"] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "printed a secret: {}{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn the_queue_is_set_shown_and_cleared() {
    let Some(queue) = Queue::new(30) else { return };
    let (_standin, mut env) = logged_in("p");
    queue.watched_by(&mut env);
    assert_eq!(app_json(&env)["notification_queue"], queue.url.as_str());
    let show = env.run(&["show", "p"]).ok();
    assert!(show.stdout.contains(&queue.url), "{}", show.stdout);
    let list = env.run(&["app", "list", "--wide"]).ok();
    assert!(list.stdout.contains(&queue.url), "{}", list.stdout);
    let bad = env
        .run(&[
            "app",
            "edit",
            "main",
            "--notification-queue",
            "https://example.com/q",
        ])
        .expect_code(2);
    assert!(
        bad.stderr.contains("not an SQS queue URL"),
        "{}",
        bad.stderr
    );
    env.run(&["app", "edit", "main", "--no-notification-queue"])
        .ok();
    assert!(app_json(&env)["notification_queue"].is_null());
    let none = env.run(&["app", "watch", "--once"]).expect_code(2);
    assert!(
        none.stderr
            .contains("vault app edit APP --notification-queue URL"),
        "{}",
        none.stderr
    );
}

#[test]
fn an_expiry_warning_is_recorded_and_deleted() {
    let Some((_standin, env, queue)) = setup(30) else {
        return;
    };
    let expires = sqs::in_days(60);
    queue.send(&sqs::expiry(expires));
    let out = env.run(&["app", "watch", "--once"]).ok();
    assert!(
        out.stderr
            .contains("recorded that the client secret expires"),
        "{}",
        out.stderr
    );
    assert_eq!(
        app_json(&env)["client_secret_expires_at"],
        expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    assert_eq!(queue.count(), 0, "the message is deleted");
}

#[test]
fn an_expiry_within_the_threshold_starts_one_rotation_also_across_a_restart() {
    let Some((standin, env, queue)) = setup(30) else {
        return;
    };
    let soon = sqs::in_days(7);
    queue.send(&sqs::expiry(soon));
    let watch = ["app", "watch", "--once", "--rotate-within", "30d"];
    let out = env.run(&watch).ok();
    assert!(out.stderr.contains("started a rotation"), "{}", out.stderr);
    assert_eq!(rotation_calls(&standin), 1);
    // Amazon warns again (1 day ahead, the same expiry): a new run starts none.
    queue.send(&sqs::expiry(soon));
    let again = env.run(&watch).ok();
    assert!(
        again.stderr.contains("has not arrived yet"),
        "{}",
        again.stderr
    );
    assert_eq!(
        rotation_calls(&standin),
        1,
        "at most one rotation per expiry"
    );
    // Another expiry within the threshold (forged, say) starts none the same day.
    queue.send(&sqs::expiry(sqs::in_days(3)));
    env.run(&watch).ok();
    // An expiry outside the threshold starts none either.
    queue.send(&sqs::expiry(sqs::in_days(90)));
    env.run(&watch).ok();
    assert_eq!(rotation_calls(&standin), 1);
    assert_eq!(queue.count(), 0);
}

#[test]
fn a_rotation_amazon_refuses_is_tried_again_when_the_warning_comes_back() {
    let Some((standin, env, queue)) = setup(1) else {
        return;
    };
    standin.queue_spapi(Canned::json(
        400,
        r#"{"errors":[{"code":"InvalidInput","message":"Application is not enrolled for rotation notification. Please update application notification preference in Developer console."}]}"#,
    ));
    queue.send(&sqs::expiry(sqs::in_days(7)));
    let watch = ["app", "watch", "--once", "--rotate-within", "30d"];
    let refused = env.run(&watch).expect_code(6);
    assert!(
        refused.stderr.contains("not enrolled"),
        "{}",
        refused.stderr
    );
    assert_eq!(queue.count(), 1, "the warning stays");
    std::thread::sleep(Duration::from_millis(1500));
    let out = env.run(&watch).ok();
    assert!(out.stderr.contains("started a rotation"), "{}", out.stderr);
    assert_eq!(rotation_calls(&standin), 2);
    assert_eq!(queue.count(), 0);
}

#[test]
fn a_new_secret_is_proven_stored_and_the_old_one_kept() {
    let Some((standin, env, queue)) = setup(30) else {
        return;
    };
    standin.add_client(CLIENT_ID, NEW_SECRET);
    let expires = sqs::in_days(180);
    queue.send(&sqs::new_secret(NEW_SECRET, expires, sqs::in_days(7)));
    let out = env.run(&["app", "watch", "--once"]).ok();
    assert!(
        out.stderr
            .contains("proved and stored the new client secret"),
        "{}",
        out.stderr
    );
    assert_no_secret(&out);
    let proof = standin
        .seen()
        .into_iter()
        .find(|seen| seen.client_secret == NEW_SECRET)
        .expect("a token request with the new secret");
    assert_eq!(proof.grant_type, "client_credentials");
    assert_eq!(queue.count(), 0, "deleted once stored");
    // The access log records the rotation, and never the secret.
    let log = env
        .run(&["audit", "--event", "secret_rotated", "--json"])
        .ok()
        .json();
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log[0]["app"], "main");
    let mut log_path = env.vault.clone().into_os_string();
    log_path.push(".audit");
    let bytes = std::fs::read_to_string(&log_path).unwrap();
    assert!(!bytes.contains(NEW_SECRET) && !bytes.contains(CLIENT_SECRET));
    assert_eq!(secret_refreshed_with(&env, &standin), [NEW_SECRET]);
    // Until the old one expires, it is still tried when Amazon refuses the new one.
    standin.add_client(CLIENT_ID, CLIENT_SECRET);
    assert_eq!(
        secret_refreshed_with(&env, &standin),
        [NEW_SECRET, CLIENT_SECRET]
    );
    assert_eq!(
        app_json(&env)["client_secret_expires_at"],
        expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
}

#[test]
fn a_new_secret_lwa_rejects_is_not_stored_and_stays_on_the_queue() {
    let Some((standin, env, queue)) = setup(30) else {
        return;
    };
    queue.send(&sqs::new_secret(
        NEW_SECRET,
        sqs::in_days(180),
        sqs::in_days(7),
    ));
    let out = env.run(&["app", "watch", "--once"]).expect_code(6);
    assert!(out.stderr.contains("was not stored"), "{}", out.stderr);
    assert_no_secret(&out);
    assert_eq!(queue.count(), 1, "left on the queue");
    assert_eq!(secret_refreshed_with(&env, &standin), [CLIENT_SECRET]);
}

#[test]
fn a_message_delivered_twice_changes_nothing_the_second_time() {
    let Some((standin, env, queue)) = setup(30) else {
        return;
    };
    standin.add_client(CLIENT_ID, NEW_SECRET);
    let message = sqs::new_secret(NEW_SECRET, sqs::in_days(180), sqs::in_days(7));
    queue.send(&message);
    env.run(&["app", "watch", "--once"]).ok();
    let stored = env.vault_bytes();
    queue.send(&message);
    let again = env.run(&["app", "watch", "--once"]).ok();
    assert!(again.stderr.contains("already stored"), "{}", again.stderr);
    assert_eq!(env.vault_bytes(), stored, "the vault is not written again");
    assert_eq!(queue.count(), 0);
}

/// Forwards SQS calls to the test server but never answers DeleteMessage, so a
/// watcher can be killed after its vault write and before its delete.
fn endpoint_that_holds_deletes(target: String) -> (String, tokio::runtime::Runtime) {
    use axum::http::{HeaderMap, StatusCode};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let forward = move |headers: HeaderMap, body: axum::body::Bytes| {
        let target = target.clone();
        async move {
            let action = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if action.ends_with("DeleteMessage") {
                std::future::pending::<()>().await;
            }
            let mut request = reqwest::Client::new().post(&target).body(body);
            for (name, value) in &headers {
                if name != "host" {
                    request = request.header(name, value);
                }
            }
            let answer = request.send().await.unwrap();
            let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
            (status, answer.bytes().await.unwrap())
        }
    };
    let app = axum::Router::new().fallback(axum::routing::post(forward));
    runtime.spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), runtime)
}

#[test]
fn killed_between_the_vault_write_and_the_delete_a_redelivery_changes_nothing() {
    let Some((standin, mut env, queue)) = setup(1) else {
        return;
    };
    standin.add_client(CLIENT_ID, NEW_SECRET);
    queue.send(&sqs::new_secret(
        NEW_SECRET,
        sqs::in_days(180),
        sqs::in_days(7),
    ));
    let before = env.vault_bytes();
    let (holding, _runtime) = endpoint_that_holds_deletes(queue.endpoint.clone());
    env.set("AWS_ENDPOINT_URL_SQS", &holding);
    let mut watcher = env
        .command(&["app", "watch"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while env.vault_bytes() == before {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the secret was never stored"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    watcher.kill().unwrap();
    watcher.wait().unwrap();
    let stored = env.vault_bytes();
    assert_eq!(queue.count(), 1, "the delete never happened");
    env.set("AWS_ENDPOINT_URL_SQS", &queue.endpoint);
    std::thread::sleep(Duration::from_secs(1));
    let again = env.run(&["app", "watch", "--once"]).ok();
    assert!(again.stderr.contains("already stored"), "{}", again.stderr);
    assert_eq!(env.vault_bytes(), stored, "the redelivery changes nothing");
    assert_eq!(queue.count(), 0);
    assert_eq!(secret_refreshed_with(&env, &standin), [NEW_SECRET]);
}

#[test]
fn eventbridge_and_sns_wrappers_are_accepted() {
    let Some((standin, env, queue)) = setup(30) else {
        return;
    };
    standin.add_client(CLIENT_ID, NEW_SECRET);
    let expires = sqs::in_days(45);
    let eventbridge = serde_json::json!({
        "version": "0",
        "detail-type": "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
        "source": "aws.partner/sellingpartnerapi.amazon.com",
        "detail": serde_json::from_str::<serde_json::Value>(&sqs::expiry(expires)).unwrap(),
    });
    queue.send(&eventbridge.to_string());
    let out = env.run(&["app", "watch", "--once"]).ok();
    assert!(out.stderr.contains("recorded"), "{}", out.stderr);
    let sns = serde_json::json!({
        "Type": "Notification",
        "MessageId": "sns-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:spapi",
        "Message": sqs::new_secret(NEW_SECRET, sqs::in_days(180), sqs::in_days(7)),
    });
    queue.send(&sns.to_string());
    let out = env.run(&["app", "watch", "--once"]).ok();
    assert!(out.stderr.contains("proved and stored"), "{}", out.stderr);
    assert_eq!(secret_refreshed_with(&env, &standin), [NEW_SECRET]);
}

#[test]
fn unknown_and_unreadable_messages_stay_and_are_reported_once() {
    // Visibility 0: each receive gets them again, and --once must still end.
    let Some((_standin, env, queue)) = setup(0) else {
        return;
    };
    let other = "amzn1.application-oa2-client.ffffffffffffffffffffffffffffffff";
    queue.send(&sqs::expiry_for(other, sqs::in_days(30)));
    queue.send("not a notification");
    let out = env.run(&["app", "watch", "--once"]).expect_code(6);
    assert_eq!(out.stderr.matches(other).count(), 1, "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("not a secret notification").count(),
        1,
        "{}",
        out.stderr
    );
    assert_eq!(queue.count(), 2, "both stay on the queue");
}

#[test]
fn without_aws_credentials_it_says_what_it_looked_for() {
    let Some((_standin, mut env, _queue)) = setup(30) else {
        return;
    };
    env.unset("AWS_ACCESS_KEY_ID");
    env.unset("AWS_SECRET_ACCESS_KEY");
    env.set("AWS_PROFILE", "spapi-secrets");
    let out = env.run(&["app", "watch", "--once"]).expect_code(2);
    for looked_for in [
        "no AWS credentials",
        "AWS_ACCESS_KEY_ID",
        "the profile 'spapi-secrets' (AWS_PROFILE)",
        "~/.aws/credentials",
    ] {
        assert!(
            out.stderr.contains(looked_for),
            "{looked_for}: {}",
            out.stderr
        );
    }
    let wait = env
        .run(&["app", "rotate-secret", "main", "--wait"])
        .expect_code(2);
    assert!(
        wait.stderr.contains("no AWS credentials"),
        "{}",
        wait.stderr
    );
}

#[test]
fn rotate_secret_wait_stores_the_secret_that_arrives() {
    let Some((standin, env, queue)) = setup(30) else {
        return;
    };
    let waiting = rotating_and_waiting(&env, &standin);
    // What Amazon does once the rotation has started.
    standin.add_client(CLIENT_ID, NEW_SECRET);
    queue.send(&sqs::new_secret(
        NEW_SECRET,
        sqs::in_days(180),
        sqs::in_days(7),
    ));
    let out = finish(waiting, "", Duration::from_secs(60)).ok();
    assert!(out.stdout.contains("proved and stored"), "{}", out.stdout);
    assert_no_secret(&out);
    assert_eq!(queue.count(), 0);
    assert_eq!(secret_refreshed_with(&env, &standin), [NEW_SECRET]);
}

#[test]
fn rotate_secret_wait_gives_up_after_its_timeout() {
    let Some((standin, env, _queue)) = setup(30) else {
        return;
    };
    let out = env
        .run(&["app", "rotate-secret", "main", "--wait", "--timeout", "2s"])
        .expect_code(7);
    assert!(
        out.stderr.contains("vault app watch main --once"),
        "{}",
        out.stderr
    );
    assert_eq!(rotation_calls(&standin), 1);
}

#[test]
fn watching_stops_on_sigterm_without_waiting_out_the_long_poll() {
    let Some((standin, env, queue)) = setup(30) else {
        return;
    };
    standin.add_client(CLIENT_ID, NEW_SECRET);
    let watcher = env
        .command(&["app", "watch"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    queue.send(&sqs::new_secret(
        NEW_SECRET,
        sqs::in_days(180),
        sqs::in_days(7),
    ));
    let started = Instant::now();
    while queue.count() > 0 {
        assert!(started.elapsed() < Duration::from_secs(40), "never handled");
        std::thread::sleep(Duration::from_millis(100));
    }
    let stopping = Instant::now();
    // SAFETY: signals only the watcher this test started.
    unsafe { libc::kill(watcher.id() as i32, libc::SIGTERM) };
    let out = finish(watcher, "", Duration::from_secs(10)).ok();
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopping.elapsed()
    );
    assert!(out.stderr.contains("proved and stored"), "{}", out.stderr);
}

#[test]
fn an_sqs_endpoint_that_never_answers_is_given_up_on() {
    let Some((_standin, mut env, _queue)) = setup(30) else {
        return;
    };
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    env.set(
        "AWS_ENDPOINT_URL_SQS",
        &format!("http://{}", silent.local_addr().unwrap()),
    );
    env.set("SPVAULT_HTTP_TIMEOUT", "2s");
    let started = Instant::now();
    let out = env.run(&["app", "watch", "--once"]).expect_code(7);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);
    drop(silent);
}

#[test]
fn a_queue_given_as_its_arn_is_stored_as_its_url_and_a_foreign_host_is_refused() {
    let (_standin, env) = logged_in("p");
    env.run(&[
        "app",
        "edit",
        "main",
        "--notification-queue",
        "arn:aws:sqs:eu-west-1:123456789012:spapi-secrets",
    ])
    .ok();
    assert_eq!(
        app_json(&env)["notification_queue"],
        "https://sqs.eu-west-1.amazonaws.com/123456789012/spapi-secrets"
    );
    let foreign = env
        .run(&[
            "app",
            "edit",
            "main",
            "--notification-queue",
            "https://example.com/123456789012/spapi-secrets",
        ])
        .expect_code(2);
    assert!(
        foreign.stderr.contains("sqs.REGION.amazonaws.com"),
        "{}",
        foreign.stderr
    );
}

#[test]
fn a_queue_that_does_not_exist_is_a_usage_error_naming_the_app() {
    let Some((_standin, env, _queue)) = setup(30) else {
        return;
    };
    env.run(&[
        "app",
        "edit",
        "main",
        "--notification-queue",
        &sqs::real_shape_url("spvault-no-such-queue"),
    ])
    .ok();
    let out = env.run(&["app", "watch", "--once"]).expect_code(2);
    assert!(
        out.stderr.contains("app 'main'") && out.stderr.contains("NonExistentQueue"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("vault app edit APP --notification-queue URL"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_expiry_warning_older_than_the_stored_rotation_changes_nothing() {
    let Some((standin, env, queue)) = setup(30) else {
        return;
    };
    standin.add_client(CLIENT_ID, NEW_SECRET);
    let expires = sqs::in_days(180);
    queue.send(&sqs::new_secret(NEW_SECRET, expires, sqs::in_days(7)));
    env.run(&["app", "watch", "--once"]).ok();
    // Delivered late, or about the secret the rotation replaced.
    queue.send(&sqs::expiry(sqs::in_days(7)));
    let out = env
        .run(&["app", "watch", "--once", "--rotate-within", "30d"])
        .ok();
    assert!(out.stderr.contains("already replaced"), "{}", out.stderr);
    assert_eq!(rotation_calls(&standin), 0);
    assert_eq!(
        app_json(&env)["client_secret_expires_at"],
        expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
}

#[test]
fn another_apps_message_is_left_for_its_own_watcher() {
    let Some((_standin, env, queue)) = setup(0) else {
        return;
    };
    let other = "amzn1.application-oa2-client.eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    env.run_stdin(
        &[
            "app",
            "add",
            "other",
            "--client-id",
            other,
            "--application-id",
            APP_ID,
            "--client-secret-stdin",
            "--expires",
            &sqs::in_days(100).to_string(),
        ],
        "amzn1.oa2-cs.v1.other-app-secret",
    )
    .ok();
    queue.send(&sqs::expiry_for(other, sqs::in_days(30)));
    let out = env.run(&["app", "watch", "main", "--once"]).ok();
    assert!(
        out.stderr.contains("vault app watch other"),
        "{}",
        out.stderr
    );
    assert_eq!(queue.count(), 1);
}

#[test]
fn lwa_out_of_reach_during_the_proof_leaves_the_message_and_exits_7() {
    let Some((_standin, mut env, queue)) = setup(30) else {
        return;
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    env.set(
        "SPVAULT_LWA_TOKEN_URL",
        &format!("http://127.0.0.1:{port}/auth/o2/token"),
    );
    env.set("SPVAULT_NETWORK_TIMEOUT", "2s");
    queue.send(&sqs::new_secret(
        NEW_SECRET,
        sqs::in_days(180),
        sqs::in_days(7),
    ));
    let out = env.run(&["app", "watch", "--once"]).expect_code(7);
    assert!(out.stderr.contains("could not be tried"), "{}", out.stderr);
    assert_eq!(queue.count(), 1);
}

#[test]
fn an_empty_queue_says_so() {
    let Some((_standin, env, _queue)) = setup(30) else {
        return;
    };
    let out = env.run(&["app", "watch", "--once"]).ok();
    assert!(out.stderr.contains("no messages on"), "{}", out.stderr);
}

#[test]
fn rotate_secret_wait_reads_the_queue_before_starting_a_rotation() {
    let Some((standin, env, _queue)) = setup(30) else {
        return;
    };
    env.run(&[
        "app",
        "edit",
        "main",
        "--notification-queue",
        &sqs::real_shape_url("spvault-missing"),
    ])
    .ok();
    env.run(&["app", "rotate-secret", "main", "--wait"])
        .expect_code(2);
    assert_eq!(
        rotation_calls(&standin),
        0,
        "no rotation it could not wait for"
    );
}

#[test]
fn rotate_secret_wait_is_not_fooled_by_a_stale_or_a_bad_secret() {
    let Some((standin, env, queue)) = setup(30) else {
        return;
    };
    // Stored earlier; delivered again now.
    standin.add_client(CLIENT_ID, CLIENT_SECRET);
    queue.send(&sqs::new_secret(
        CLIENT_SECRET,
        sqs::in_days(100),
        sqs::in_days(7),
    ));
    let waiting = rotating_and_waiting(&env, &standin);
    // A secret LWA does not take (forged, say), then the real one.
    queue.send(&sqs::new_secret(
        "amzn1.oa2-cs.v1.forged",
        sqs::in_days(180),
        sqs::in_days(7),
    ));
    std::thread::sleep(Duration::from_secs(2));
    standin.set_permissive(true);
    queue.send(&sqs::new_secret(
        NEW_SECRET,
        sqs::in_days(180),
        sqs::in_days(7),
    ));
    let out = finish(waiting, "", Duration::from_secs(60)).ok();
    assert!(out.stderr.contains("already stored"), "{}", out.stderr);
    assert!(out.stderr.contains("was not stored"), "{}", out.stderr);
    assert!(out.stdout.contains("proved and stored"), "{}", out.stdout);
    standin.set_permissive(false);
    standin.add_client(CLIENT_ID, NEW_SECRET);
    assert_eq!(secret_refreshed_with(&env, &standin), [NEW_SECRET]);
}
