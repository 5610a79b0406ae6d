//! Hostile servers and hostile files: bounded time and memory, clear errors, and the
//! stored secrets unchanged.

mod support;

use std::time::{Duration, Instant};

use support::*;

fn setup() -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, "p", REFRESH_TOKEN);
    env.set("SPVAULT_HTTP_TIMEOUT", "1s");
    (standin, env)
}

/// Queues the same answer for every retry, runs `vault refresh`, and checks the
/// outcome and that the stored secrets did not change.
fn against(answer: Canned, expected_code: i32, expected_text: &str) {
    let (standin, env) = setup();
    for _ in 0..4 {
        standin.queue(answer.clone());
    }
    let before = env
        .run(&["env", "p", "--with-secrets", "--format", "json"])
        .ok()
        .json();
    let started = Instant::now();
    // A refresh, not `token`: `token` would fall back to the still-valid cached token.
    let out = env
        .run(&["refresh", "p", "--force"])
        .expect_code(expected_code);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    // refresh explains each profile on stdout and sums up on stderr.
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains(expected_text), "{said}");
    assert!(
        out.stdout.lines().count() <= 2 && out.stderr.lines().count() <= 2,
        "errors are one line: {said}"
    );
    assert!(!said.contains("amzn1.oa2-cs") && !said.contains(REFRESH_TOKEN));
    let after = env
        .run(&["env", "p", "--with-secrets", "--format", "json"])
        .ok()
        .json();
    for name in [
        "LWA_CLIENT_SECRET",
        "SP_API_REFRESH_TOKEN",
        "SP_API_ACCESS_TOKEN",
    ] {
        assert_eq!(before[name], after[name], "{name} changed");
    }
}

#[test]
fn a_server_slower_than_the_timeout() {
    against(
        Canned::json(200, "{}").after(Duration::from_secs(5)),
        7,
        "timed out",
    );
}

#[test]
fn a_huge_body() {
    against(
        Canned::raw(200, "application/json", vec![b' '; 8 * 1024 * 1024]),
        7,
        "larger than",
    );
}

#[test]
fn invalid_utf8() {
    against(
        Canned::raw(200, "application/json", vec![0xff, 0xfe, 0x80, b'{']),
        7,
        "not a JSON token response",
    );
    against(
        Canned::raw(400, "application/json", vec![0xff, 0xfe, 0x80, b'{']),
        7,
        "without an OAuth error body",
    );
}

#[test]
fn a_redirect_to_another_host() {
    against(
        Canned::raw(302, "text/html", Vec::new())
            .with_header("location", "http://evil.example/steal"),
        7,
        "redirect",
    );
}

#[test]
fn a_wrong_content_type() {
    against(
        Canned::raw(200, "text/html", b"<html>login</html>".to_vec()),
        7,
        "not a JSON token response",
    );
}

#[test]
fn tokens_of_absurd_size() {
    let body = format!(
        "{{\"access_token\":\"Atza|{}\",\"expires_in\":3600}}",
        "x".repeat(40_000)
    );
    against(Canned::json(200, &body), 7, "longer than");
    against(
        Canned::json(
            200,
            r#"{"access_token":"Atza|ok","expires_in":99999999999}"#,
        ),
        7,
        "out of range",
    );
}

#[test]
fn an_error_description_echoing_secrets_is_redacted() {
    let echo = format!(
        r#"{{"error":"invalid_grant","error_description":"bad token {REFRESH_TOKEN} with {}"}}"#,
        CLIENT_SECRET
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    );
    against(Canned::json(400, &echo), 6, "[redacted]");
}
