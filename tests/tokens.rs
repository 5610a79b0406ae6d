//! The token lifecycle against a stand-in LWA server on 127.0.0.1.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::*;

/// `vault refresh p --force` that must fail with `code`; its stdout and stderr
/// together (a failed refresh explains itself per profile). `token` no longer fails
/// while the cached token is valid: it falls back to it (tests/newcomer.rs).
fn failing_refresh(env: &Env, code: i32) -> Out {
    let mut out = env.run(&["refresh", "p", "--force"]).expect_code(code);
    out.stderr = format!("{}{}", out.stdout, out.stderr);
    out
}

fn setup() -> (StandIn, Env) {
    setup_with(REFRESH_TOKEN)
}

/// Profile `p` logged in with `refresh_token`.
fn setup_with(refresh_token: &str) -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, "p", refresh_token);
    (standin, env)
}

#[test]
fn login_proves_the_refresh_token_then_token_reuses_the_cached_one() {
    let (standin, env) = setup();
    let login = standin.seen();
    assert_eq!(login.len(), 1);
    assert_eq!(login[0].grant_type, "refresh_token");
    assert_eq!(login[0].client_id, CLIENT_ID);
    assert_eq!(login[0].client_secret, CLIENT_SECRET);
    assert_eq!(login[0].refresh_token, REFRESH_TOKEN);

    let token = env.run(&["token", "p"]).ok();
    assert_eq!(
        token.stdout, "Atza|standin-1\n",
        "the token login fetched is cached"
    );
    env.run(&["token", "p"]).ok();
    assert_eq!(standin.requests(), 1, "a cached token makes no request");
    let row = &env.profiles_json()[0];
    assert_eq!(row["access_token_status"], "valid");
    assert_eq!(row["refresh_token_present"], true);
    let list = env.run(&["list"]).ok();
    assert!(
        list.stdout.contains("valid 59m") || list.stdout.contains("valid 1h"),
        "{}",
        list.stdout
    );
}

#[test]
fn a_token_inside_the_margin_is_refreshed() {
    let (standin, mut env) = setup();
    // A half-hour token is inside a 45-minute margin.
    standin.set_expires_in(1800);
    env.run(&["refresh", "p", "--force"]).ok();
    let out = env.run(&["token", "p", "--min-valid", "45m"]).ok();
    assert_eq!(out.stdout, "Atza|standin-3\n");
    standin.set_expires_in(120);
    env.run(&["refresh", "p", "--force"]).ok();
    let row = &env.profiles_json()[0];
    assert_eq!(row["access_token_status"], "expiring");
    assert!(env.run(&["list"]).ok().stdout.contains("expires in 1m"));
    // 2 minutes left is inside the default 5-minute margin.
    assert_eq!(env.run(&["token", "p"]).ok().stdout, "Atza|standin-5\n");
    env.set("SPVAULT_MIN_VALID", "1m");
    standin.set_expires_in(3600);
    assert_eq!(
        env.run(&["token", "p"]).ok().stdout,
        "Atza|standin-5\n",
        "SPVAULT_MIN_VALID is honoured"
    );
    assert_eq!(standin.requests(), 5);
}

#[test]
fn a_revoked_refresh_token_exits_6_and_stays_stored() {
    let (standin, env) = setup();
    env.run(&["refresh", "p", "--force"]).ok();
    standin.revoke(REFRESH_TOKEN);
    let out = env.run(&["refresh", "p", "--force"]).expect_code(6);
    assert!(out.stdout.contains("vault login p"), "{}", out.stdout);
    let out = failing_refresh(&env, 6);
    assert!(
        out.stderr.contains("invalid_grant") && out.stderr.contains("vault login p"),
        "{}",
        out.stderr
    );
    assert_eq!(env.profiles_json()[0]["refresh_token_present"], true);
    let env_out = env
        .run(&["env", "p", "--with-secrets", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        env_out["SP_API_REFRESH_TOKEN"], REFRESH_TOKEN,
        "the refresh token is unchanged"
    );
}

#[test]
fn a_wrong_client_secret_points_at_set_secret() {
    let (standin, env) = setup();
    standin.add_client(CLIENT_ID, "the rotated secret");
    let out = failing_refresh(&env, 6);
    assert!(
        out.stderr.contains("invalid_client") && out.stderr.contains("vault app set-secret main"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("amzn1.oa2-cs"),
        "the secret leaked: {}",
        out.stderr
    );
}

#[test]
fn transient_failures_are_retried() {
    let (standin, env) = setup();
    // Half-hour tokens, so that a 45-minute margin makes `token` refresh.
    standin.set_expires_in(1800);
    env.run(&["refresh", "p", "--force"]).ok();
    standin.queue(Canned::json(500, "{}"));
    standin.queue(Canned::raw(503, "text/html", b"<html>busy</html>".to_vec()));
    let out = env.run(&["token", "p", "--min-valid", "45m"]).ok();
    assert_eq!(out.stdout, "Atza|standin-3\n");
    assert_eq!(standin.requests(), 5);

    standin.queue(Canned::json(429, r#"{"error":"rate"}"#).with_header("retry-after", "1"));
    let started = std::time::Instant::now();
    let out = env.run(&["token", "p", "--min-valid", "45m"]).ok();
    assert_eq!(out.stdout, "Atza|standin-4\n");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );

    for _ in 0..4 {
        standin.queue(Canned::json(400, r#"{"error":"temporarily_unavailable"}"#));
    }
    let out = failing_refresh(&env, 7);
    assert!(out.stderr.contains("after 4 attempt"), "{}", out.stderr);
}

#[test]
fn an_html_200_fails_cleanly() {
    let (standin, env) = setup();
    standin.queue(Canned::raw(
        200,
        "text/html",
        b"<html><body>Sign in</body></html>".to_vec(),
    ));
    let out = failing_refresh(&env, 7);
    assert!(
        out.stderr.contains("not a JSON token response"),
        "{}",
        out.stderr
    );
    assert_eq!(standin.requests(), 2, "a bad 200 is not retried");
}

#[test]
fn the_endpoint_override_must_be_https_unless_loopback() {
    let (_standin, mut env) = setup();
    env.set("SPVAULT_LWA_TOKEN_URL", "http://example.com/auth/o2/token");
    let out = failing_refresh(&env, 2);
    assert!(out.stderr.contains("https://"), "{}", out.stderr);
}

#[test]
fn unreachable_amazon_exits_7() {
    let (_standin, mut env) = setup();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    env.set(
        "SPVAULT_LWA_TOKEN_URL",
        &format!("http://{closed}/auth/o2/token"),
    );
    let out = failing_refresh(&env, 7);
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);
}

#[test]
fn refresh_all_refreshes_the_good_and_reports_the_revoked() {
    let (standin, env) = setup();
    env.logged_in_profile(&standin, "q", "Atzr|second");
    env.logged_in_profile(&standin, "r", "Atzr|third");
    standin.revoke("Atzr|second");
    let before = standin.issued();
    let out = env.run(&["refresh", "--all", "--force"]).expect_code(6);
    assert!(out.stdout.contains("p: refreshed"), "{}", out.stdout);
    assert!(
        out.stdout.contains("q: FAILED") && out.stdout.contains("vault login q"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("r: refreshed"), "{}", out.stdout);
    assert_eq!(standin.issued(), before + 2);
    // Both new tokens were saved: asking for them makes no request.
    let requests = standin.requests();
    let p = env.run(&["token", "p"]).ok().stdout;
    let r = env.run(&["token", "r"]).ok().stdout;
    assert_ne!(p, r);
    assert_eq!(standin.requests(), requests);
    let still_valid = env.run(&["refresh", "p"]).ok();
    assert!(
        still_valid.stdout.contains("still valid"),
        "{}",
        still_valid.stdout
    );
}

#[test]
fn concurrent_refreshes_of_different_profiles_keep_both_tokens() {
    let (standin, env) = setup();
    env.logged_in_profile(&standin, "q", "Atzr|second");
    standin.set_latency(Duration::from_millis(300));
    let children: Vec<_> = ["p", "q"]
        .iter()
        .map(|name| {
            env.command(&["refresh", name, "--force"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        finish(child, "", Duration::from_secs(60)).ok();
    }
    standin.set_latency(Duration::ZERO);
    let requests = standin.requests();
    let p = env.run(&["token", "p"]).ok().stdout;
    let q = env.run(&["token", "q"]).ok().stdout;
    assert_eq!(
        standin.requests(),
        requests,
        "both refreshed tokens were saved"
    );
    let issued: Vec<String> = (3..=4).map(|n| format!("Atza|standin-{n}\n")).collect();
    assert!(
        issued.contains(&p) && issued.contains(&q) && p != q,
        "{p} {q}"
    );
}

#[test]
fn login_with_a_revoked_or_malformed_token_stores_nothing() {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.run(&["add-profile", "p", "--region", "eu"]).ok();
    let out = env
        .run_stdin(&["login", "p", "--refresh-token-stdin"], "Atzr|unknown")
        .expect_code(6);
    assert!(out.stderr.contains("invalid_grant"), "{}", out.stderr);
    assert_eq!(env.profiles_json()[0]["refresh_token_present"], false);
    let out = env
        .run_stdin(
            &["login", "p", "--refresh-token-stdin"],
            "Atza|an-access-token",
        )
        .expect_code(2);
    assert!(out.stderr.contains("access token"), "{}", out.stderr);
    env.run_stdin(&["login", "p", "--refresh-token-stdin"], "")
        .expect_code(2);
    assert_eq!(standin.requests(), 1);
    env.run_stdin(&["login", "nobody", "--refresh-token-stdin"], REFRESH_TOKEN)
        .expect_code(5);
}

#[test]
fn exec_sets_the_variables_and_passes_the_exit_status_through() {
    let (_standin, env) = setup();
    let out = env
        .run(&["exec", "p", "--", "sh", "-c", "echo \"$SP_API_ACCESS_TOKEN|$SPVAULT_PROFILE|$SP_API_REGION|$SP_API_MARKETPLACE_ID\"; exit 42"])
        .expect_code(42);
    assert_eq!(out.stdout, "Atza|standin-1|p|eu|A1PA6795UKMFR9\n");
    let out = env
        .run(&[
            "exec",
            "p",
            "--",
            "sh",
            "-c",
            "test -z \"$LWA_CLIENT_SECRET\"",
        ])
        .ok();
    assert_eq!(out.stdout, "");
    env.run(&[
        "exec",
        "p",
        "--with-secrets",
        "--",
        "sh",
        "-c",
        "test -n \"$LWA_CLIENT_SECRET\"",
    ])
    .ok();
}

#[test]
fn exec_replaces_the_vault_process() {
    let (_standin, env) = setup();
    let child = env
        .command(&["exec", "p", "--", "sh", "-c", "echo $$"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = finish(child, "", Duration::from_secs(30)).ok();
    assert_eq!(out.stdout.trim(), pid.to_string());
}

#[test]
fn exec_refuses_to_nest_another_profile() {
    let (standin, mut env) = setup();
    env.logged_in_profile(&standin, "q", "Atzr|second");
    // Inside `vault exec q` (SPVAULT_EXEC_PROFILE; `env` output sets only
    // SPVAULT_PROFILE, which does not count: tests/newcomer.rs).
    env.set("SPVAULT_EXEC_PROFILE", "q");
    let out = env.run(&["exec", "p", "--", "true"]).expect_code(2);
    assert!(
        out.stderr.contains("SPVAULT_EXEC_PROFILE"),
        "{}",
        out.stderr
    );
    env.run(&["exec", "q", "--", "true"]).ok();
    env.set("SPVAULT_EXEC_PROFILE", "");
    env.run(&["exec", "p", "--", "true"]).ok();
}

#[test]
fn env_json_and_presets_name_the_right_variables() {
    let (_standin, env) = setup();
    let vars = env.run(&["env", "p", "--format", "json"]).ok().json();
    assert_eq!(vars["SP_API_ACCESS_TOKEN"], "Atza|standin-1");
    assert_eq!(
        vars["SP_API_ENDPOINT"],
        "https://sellingpartnerapi-eu.amazon.com"
    );
    assert_eq!(vars["SP_API_AWS_REGION"], "eu-west-1");
    assert_eq!(vars["SP_API_REGION"], "eu");
    assert_eq!(vars["SP_API_MARKETPLACE_ID"], "A1PA6795UKMFR9");
    assert_eq!(vars["SPVAULT_PROFILE"], "p");
    assert!(
        vars["SP_API_ACCESS_TOKEN_EXPIRES_AT"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(
        vars.get("LWA_CLIENT_SECRET").is_none() && vars.get("SP_API_SELLING_PARTNER_ID").is_none()
    );

    let expect = [
        (
            "python-amazon-sp-api",
            &[
                ("LWA_APP_ID", CLIENT_ID),
                ("LWA_CLIENT_SECRET", CLIENT_SECRET),
                ("SP_API_REFRESH_TOKEN", REFRESH_TOKEN),
                ("SP_API_DEFAULT_MARKETPLACE", "DE"),
            ][..],
        ),
        (
            "amazon-sp-api",
            &[
                ("SELLING_PARTNER_APP_CLIENT_ID", CLIENT_ID),
                ("SELLING_PARTNER_APP_CLIENT_SECRET", CLIENT_SECRET),
                ("SP_API_REFRESH_TOKEN", REFRESH_TOKEN),
            ],
        ),
        (
            "sp-api-sdk",
            &[
                ("LWA_CLIENT_ID", CLIENT_ID),
                ("LWA_CLIENT_SECRET", CLIENT_SECRET),
                ("LWA_REFRESH_TOKEN", REFRESH_TOKEN),
            ],
        ),
        (
            "dotenv-amazon",
            &[
                ("AMAZON_CLIENT_ID", CLIENT_ID),
                ("AMAZON_CLIENT_SECRET", CLIENT_SECRET),
                ("AMAZON_REFRESH_TOKEN", REFRESH_TOKEN),
                ("AMAZON_ACCESS_TOKEN", "Atza|standin-1"),
            ],
        ),
    ];
    for (preset, pairs) in expect {
        let vars = env
            .run(&["env", "p", "--format", "json", "--preset", preset])
            .ok()
            .json();
        for (name, value) in pairs {
            assert_eq!(vars[name], *value, "{preset} {name}");
        }
        assert_eq!(
            vars["SP_API_ACCESS_TOKEN"], "Atza|standin-1",
            "{preset} keeps the defaults"
        );
    }
}

/// Prints every variable the shell got, NUL-separated, for exact comparison.
const DUMP: &str = "for n in SP_API_ACCESS_TOKEN LWA_CLIENT_SECRET SP_API_REFRESH_TOKEN LWA_CLIENT_ID SPVAULT_PROFILE SP_API_ENDPOINT; do printenv \"$n\"; printf '\\0'; done";

fn expected_values() -> String {
    [
        "Atza|standin-1",
        CLIENT_SECRET,
        NASTY_REFRESH_TOKEN,
        CLIENT_ID,
        "p",
        "https://sellingpartnerapi-eu.amazon.com",
    ]
    .iter()
    .map(|v| format!("{v}\n\0"))
    .collect()
}

fn run_shell(shell: &str, script: &str, env: &Env) -> Out {
    let dump = env.path("dump.sh");
    std::fs::write(&dump, DUMP).unwrap();
    let child = std::process::Command::new(shell)
        .arg("-c")
        .arg(script)
        .env("PATH", std::env::var("PATH").unwrap())
        .env("SPVAULT_FILE", &env.vault)
        .env("SPVAULT_PASSPHRASE", PASSPHRASE)
        .env("VAULT", env!("CARGO_BIN_EXE_vault"))
        .env("DUMP", &dump)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, "", Duration::from_secs(60))
}

#[test]
fn eval_in_bash_and_zsh_gives_exactly_the_stored_values() {
    let (_standin, env) = setup_with(NASTY_REFRESH_TOKEN);
    for shell in ["bash", "zsh"] {
        if !have(shell) {
            continue;
        }
        let out = run_shell(
            shell,
            "eval \"$(\"$VAULT\" env p --with-secrets)\" && sh \"$DUMP\"",
            &env,
        )
        .ok();
        assert_eq!(out.stdout, expected_values(), "{shell}");
    }
}

#[test]
fn source_in_fish_gives_exactly_the_stored_values() {
    let (_standin, env) = setup_with(NASTY_REFRESH_TOKEN);
    if !have("fish") {
        return;
    }
    let script = "$VAULT env p --with-secrets --format fish | source; and sh $DUMP";
    let out = run_shell("fish", script, &env).ok();
    assert_eq!(out.stdout, expected_values());
}

#[test]
fn dotenv_output_reads_back_with_python_dotenv() {
    let (_standin, env) = setup_with(NASTY_REFRESH_TOKEN);
    let Some(python) = python_with("dotenv") else {
        return;
    };
    let file = env.path("out.env");
    let dotenv = env
        .run(&[
            "env",
            "p",
            "--with-secrets",
            "--format",
            "dotenv",
            "--preset",
            "dotenv-amazon",
        ])
        .ok();
    std::fs::write(&file, dotenv.stdout).unwrap();
    let script = "import json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps(dotenv_values(sys.argv[1])))";
    let child = std::process::Command::new(python)
        .args(["-c", script, file.to_str().unwrap()])
        .env("HOME", "/nonexistent")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let values: serde_json::Value =
        serde_json::from_str(&finish(child, "", Duration::from_secs(60)).ok().stdout).unwrap();
    assert_eq!(values["LWA_CLIENT_SECRET"], CLIENT_SECRET);
    assert_eq!(values["AMAZON_CLIENT_SECRET"], CLIENT_SECRET);
    assert_eq!(values["SP_API_REFRESH_TOKEN"], NASTY_REFRESH_TOKEN);
    assert_eq!(values["AMAZON_ACCESS_TOKEN"], "Atza|standin-1");
    assert_eq!(values["LWA_CLIENT_ID"], CLIENT_ID);
}
