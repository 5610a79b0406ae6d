//! `vault serve`: a token endpoint for long-running services.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::Duration;

use support::*;

struct Serving {
    child: Child,
    addr: String,
    key: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `vault serve` for the profiles and waits until it says it serves.
fn serve(env: &Env, profiles: &[&str], extra: &[&str]) -> Serving {
    let addr = format!("127.0.0.1:{}", free_port());
    let key_file = env.path("serve.key");
    let mut args = vec!["serve"];
    args.extend_from_slice(profiles);
    args.extend(["--listen", &addr, "--key-file", key_file.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let mut child = env
        .command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("serve says something").unwrap();
    assert!(first.starts_with("Serving"), "{first}");
    std::thread::spawn(move || lines.for_each(drop));
    assert_eq!(mode(&key_file), 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    Serving { child, addr, key }
}

/// `GET path` with the bearer key; returns the status and the JSON body.
fn get(addr: &str, path: &str, key: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn setup() -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, "p", REFRESH_TOKEN);
    env.logged_in_profile(&standin, "q", "Atzr|second");
    (standin, env)
}

#[test]
fn concurrent_callers_get_valid_tokens_from_one_refresh_each() {
    let (standin, env) = setup();
    let before = standin.requests();
    // Every token login fetched has under 2 h left: serve refreshes each once.
    let serving = serve(&env, &["p", "q"], &["--refresh-ahead", "2h"]);
    let callers: Vec<_> = (0..64)
        .map(|i| {
            let (addr, key) = (serving.addr.clone(), serving.key.clone());
            std::thread::spawn(move || {
                let profile = if i % 2 == 0 { "p" } else { "q" };
                (0..5)
                    .map(|_| get(&addr, &format!("/token/{profile}"), &key))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut tokens = std::collections::BTreeSet::new();
    for caller in callers {
        for (status, body) in caller.join().unwrap() {
            assert_eq!(status, 200, "{body}");
            assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
            tokens.insert(body["access_token"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        standin.requests(),
        before + 2,
        "one refresh per profile, however many callers"
    );
    let issued: std::collections::BTreeSet<String> =
        (3..=4).map(|n| format!("Atza|standin-{n}")).collect();
    assert_eq!(tokens, issued);
    // The refreshed tokens were saved to the vault too.
    assert!(issued.contains(env.run(&["token", "p"]).ok().stdout.trim()));
}

#[test]
fn a_wrong_or_missing_key_gets_401_and_unknown_profiles_404() {
    let (_standin, env) = setup();
    let serving = serve(&env, &["p"], &[]);
    let (status, _) = get(&serving.addr, "/token/p", "wrong");
    assert_eq!(status, 401);
    let almost = format!("{}x", &serving.key[..serving.key.len() - 1]);
    assert_eq!(get(&serving.addr, "/token/p", &almost).0, 401);
    assert_eq!(
        get(&serving.addr, "/token/q", &serving.key).0,
        404,
        "q exists but is not served"
    );
    assert_eq!(get(&serving.addr, "/other", &serving.key).0, 404);
    assert_eq!(get(&serving.addr, "/token/p", &serving.key).0, 200);
}

#[test]
fn a_revoked_profile_gets_a_clear_error_while_the_others_keep_working() {
    let (standin, env) = setup();
    standin.revoke("Atzr|second");
    let serving = serve(&env, &["p", "q"], &["--refresh-ahead", "2h"]);
    let (status, body) = get(&serving.addr, "/token/q", &serving.key);
    assert_eq!(status, 503);
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("invalid_grant") && message.contains("vault login q"),
        "{message}"
    );
    let (status, body) = get(&serving.addr, "/token/p", &serving.key);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn sigterm_stops_it_gracefully() {
    let (_standin, env) = setup();
    let mut serving = serve(&env, &["p"], &[]);
    // SAFETY: kill only sends a signal to the child we started.
    unsafe { libc::kill(serving.child.id() as i32, libc::SIGTERM) };
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = serving.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(
        TcpStream::connect(&serving.addr).is_err(),
        "still listening"
    );
}

#[test]
fn other_addresses_need_tls() {
    let (_standin, env) = setup();
    let out = env
        .run(&["serve", "p", "--listen", "0.0.0.0:1"])
        .expect_code(2);
    assert!(out.stderr.contains("--tls-cert"), "{}", out.stderr);
    env.run(&["serve", "nobody", "--listen", "127.0.0.1:1"])
        .expect_code(5);
}

#[test]
fn tls_serves_over_https() {
    if !(have("openssl") && have("curl")) {
        return;
    }
    let (_standin, env) = setup();
    let (cert, key) = (env.path("cert.pem"), env.path("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args([
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let serving = serve(
        &env,
        &["p"],
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "--cacert",
            cert.to_str().unwrap(),
            "--resolve",
            &format!("localhost:{}:127.0.0.1", &serving.addr[10..]),
        ])
        .args(["-H", &format!("Authorization: Bearer {}", serving.key)])
        .arg(format!("https://localhost:{}/token/p", &serving.addr[10..]))
        .output()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        body["access_token"], "Atza|standin-1",
        "the token login cached"
    );
}
