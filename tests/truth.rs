//! What `list`, `show`, `app list` and `check` say is true: dates spvault was not told
//! are unknown, never guessed; failures name the command that fixes them; and the
//! protocol details follow Amazon's documentation and models.

mod support;

use support::*;

fn days_from_now(days: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days)).to_string()
}

/// A vault whose app `main` was added by a script without --expires, and profile `p`.
fn scripted_app() -> Env {
    let env = Env::new();
    env.init_fast();
    env.add_main_app_with("amzn1.oa2-cs.v1.s", &[]).ok();
    env.run(&["add-profile", "p", "--region", "eu"]).ok();
    env
}

#[test]
fn a_secret_expiry_nobody_gave_is_unknown_everywhere() {
    let env = scripted_app();
    let row = &env.profiles_json()[0];
    assert_eq!(row["client_secret_expires_at"], serde_json::Value::Null);
    assert_eq!(row["client_secret_days_left"], serde_json::Value::Null);
    let shown = env.run(&["show", "p"]).ok().stdout;
    assert!(shown.contains("client secret  unknown"), "{shown}");
    assert!(env.run(&["list"]).ok().stdout.contains("unknown"));
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert_eq!(apps[0]["client_secret_expires_at"], serde_json::Value::Null);
    assert!(env.run(&["app", "list"]).ok().stdout.contains("unknown"));
    let check = env.run(&["check", "--json"]).expect_code(6).json();
    let problem = &check["problems"][0];
    assert_eq!(problem["kind"], "client_secret_expiry_unknown");
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("vault app edit main --secret-expires DATE"),
        "{problem}"
    );
    // Setting the date alone: a past one is refused with what to do instead.
    let out = env
        .run(&["app", "edit", "main", "--secret-expires", "2020-01-01"])
        .expect_code(2);
    assert!(
        out.stderr.contains("in the past") && out.stderr.contains("vault app set-secret main"),
        "{}",
        out.stderr
    );
    env.run(&[
        "app",
        "edit",
        "main",
        "--secret-expires",
        &days_from_now(100),
    ])
    .ok();
    let row = &env.profiles_json()[0];
    assert!(matches!(
        row["client_secret_days_left"].as_i64(),
        Some(99 | 100)
    ));
    let kinds = problem_kinds(&env, &[]);
    assert!(
        !kinds.contains(&"client_secret_expiry_unknown".to_owned()),
        "{kinds:?}"
    );
    // A scripted set-secret without --expires does not invent a date either.
    env.run_stdin(
        &["app", "set-secret", "main", "--stdin"],
        "amzn1.oa2-cs.v1.t",
    )
    .ok();
    assert_eq!(
        env.profiles_json()[0]["client_secret_expires_at"],
        serde_json::Value::Null
    );
}

#[test]
fn imports_do_not_guess_the_secret_expiry_or_the_authorization() {
    let env = Env::new();
    env.init_fast();
    let file = env.path(".env");
    std::fs::write(
        &file,
        format!("AMAZON_CLIENT_ID={CLIENT_ID}\nAMAZON_CLIENT_SECRET=amzn1.oa2-cs.v1.x\nAMAZON_REFRESH_TOKEN=Atzr|x\n"),
    )
    .unwrap();
    env.run(&[
        "import",
        "env",
        file.to_str().unwrap(),
        "--profile",
        "p",
        "--region",
        "eu",
        "--no-verify",
    ])
    .ok();
    let row = &env.profiles_json()[0];
    for field in [
        "client_secret_expires_at",
        "client_secret_days_left",
        "authorized_at",
        "authorization_expires_at",
        "last_refresh_error",
    ] {
        assert_eq!(row[field], serde_json::Value::Null, "{field}");
    }
    let shown = env.run(&["show", "p"]).ok().stdout;
    assert!(shown.contains("authorized at  unknown"), "{shown}");
}

#[test]
fn a_terminal_asks_for_the_secret_expiry() {
    if !have("script") {
        return;
    }
    let env = Env::new();
    env.init_fast();
    let mut terminal = Terminal::start(
        &env,
        &[
            "app",
            "add",
            "main",
            "--client-id",
            CLIENT_ID,
            "--application-id",
            APP_ID,
        ],
    );
    terminal.expect("LWA client secret for app 'main': ");
    terminal.type_line("amzn1.oa2-cs.v1.typed");
    terminal.expect("Client secret expires");
    terminal.type_line("1999-01-01");
    terminal.expect("in the past");
    terminal.type_line("");
    let (status, screen) = terminal.finish();
    assert_eq!(status, 0, "{screen}");
    let days = env.run(&["app", "list", "--json"]).ok().json()[0]["client_secret_days_left"]
        .as_i64()
        .unwrap();
    assert!((179..=180).contains(&days), "Enter means 180 days: {days}");
    let mut terminal = Terminal::start(&env, &["app", "set-secret", "main"]);
    terminal.expect("LWA client secret for app 'main': ");
    terminal.type_line("amzn1.oa2-cs.v1.newer");
    terminal.expect("Client secret expires");
    terminal.type_line("2099-03-04");
    let (status, screen) = terminal.finish();
    assert_eq!(status, 0, "{screen}");
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert!(
        apps[0]["client_secret_expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2099-03-04"),
        "{apps}"
    );
}

fn expiry_notification(client_id: &str) -> String {
    serde_json::json!({
        "notificationVersion": "1.0",
        "notificationType": "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
        "payloadVersion": "2023-05-13",
        "eventTime": "2026-11-27T10:00:00.000Z",
        "payload": {
            "applicationOAuthClientSecretExpiry": {
                "clientId": client_id,
                "clientSecretExpiryTime": "2099-05-26T10:00:00Z",
                "clientSecretExpiryReason": "PERIODIC_ROTATION"
            }
        },
        "notificationMetadata": {"applicationId": APP_ID, "subscriptionId": "s", "publishTime": "2026-11-27T10:00:00Z", "notificationId": "n"}
    })
    .to_string()
}

#[test]
fn an_expiry_notification_records_the_date_and_keeps_the_secret() {
    let env = scripted_app();
    let other = expiry_notification("amzn1.application-oa2-client.ffff");
    env.run_stdin(
        &["app", "set-secret", "main", "--from-notification"],
        &other,
    )
    .expect_code(2);
    let out = env
        .run_stdin(
            &["app", "set-secret", "main", "--from-notification"],
            &expiry_notification(CLIENT_ID),
        )
        .ok();
    assert!(
        out.stdout.contains("2099-05-26") && out.stdout.contains("unchanged"),
        "{}",
        out.stdout
    );
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert!(
        apps[0]["client_secret_expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2099-05-26")
    );
    // The stored secret is still the one the script gave: a token endpoint that
    // knows only that secret accepts it.
    let login_standin = StandIn::start();
    login_standin.add_client(CLIENT_ID, "amzn1.oa2-cs.v1.s");
    login_standin.add_refresh_token(CLIENT_ID, REFRESH_TOKEN);
    let mut env = env;
    env.set("SPVAULT_LWA_TOKEN_URL", &login_standin.token_url());
    env.run_stdin(&["login", "p", "--refresh-token-stdin"], REFRESH_TOKEN)
        .ok();
    assert_eq!(
        login_standin.seen().pop().unwrap().client_secret,
        "amzn1.oa2-cs.v1.s"
    );
}

/// The kinds of problem `vault check --json` reports.
fn problem_kinds(env: &Env, args: &[&str]) -> Vec<String> {
    let mut full = vec!["check", "--json"];
    full.extend_from_slice(args);
    let out = env.run(&full);
    out.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn setup() -> (StandIn, Env) {
    logged_in_with_spapi()
}

#[test]
fn self_authorization_is_dated_and_does_not_lapse() {
    let (_standin, env) = setup();
    let row = &env.profiles_json()[0];
    let authorized = row["authorized_at"].as_str().unwrap();
    assert!(authorized.ends_with('Z'), "{authorized}");
    assert_eq!(row["authorization_expires_at"], serde_json::Value::Null);
    assert!(env.run(&["list"]).ok().stdout.contains("self-authorized"));
    let kinds = problem_kinds(&env, &["--within", "400d"]);
    assert!(
        kinds.iter().all(|k| !k.starts_with("authorization")),
        "{kinds:?}"
    );
}

#[test]
fn a_rejected_refresh_is_shown_with_the_command_that_fixes_it() {
    let (standin, env) = setup();
    standin.revoke(REFRESH_TOKEN);
    let out = env.run(&["refresh", "p", "--force"]).expect_code(6);
    let said = format!("{}{}", out.stdout, out.stderr);
    // A self-authorization neither lapses nor can use the consent flow.
    assert!(
        said.contains("`vault login p --self-authorized`")
            && !said.contains("365 days")
            && !said.contains("replaced"),
        "{said}"
    );
    let row = &env.profiles_json()[0];
    assert_eq!(row["last_refresh_error"], "invalid_grant");
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let listed = env.run(&["list"]).ok().stdout;
    assert!(
        listed.contains(&format!("rejected (invalid_grant, {today})")),
        "{listed}"
    );
    assert!(
        env.run(&["show", "p"])
            .ok()
            .stdout
            .contains("rejected (invalid_grant")
    );
    let check = env.run(&["check"]).expect_code(6).stdout;
    assert!(
        check.contains("`vault login p --self-authorized`") && !check.contains("vault refresh"),
        "{check}"
    );
    // A wrong client secret names set-secret instead.
    standin.add_refresh_token(CLIENT_ID, "Atzr|again");
    env.run_stdin(&["login", "p", "--refresh-token-stdin"], "Atzr|again")
        .ok();
    assert_eq!(
        env.profiles_json()[0]["last_refresh_error"],
        serde_json::Value::Null
    );
    standin.add_client(CLIENT_ID, "rotated elsewhere");
    env.run(&["refresh", "p", "--force"]).expect_code(6);
    let check = env.run(&["check"]).expect_code(6).stdout;
    assert!(
        check.contains("invalid_client") && check.contains("`vault app set-secret main`"),
        "{check}"
    );
}

#[test]
fn an_expired_secret_at_sp_api_is_not_called_a_region_mismatch() {
    let (standin, env) = setup();
    standin.queue_spapi(Canned::json(
        403,
        r#"{"errors":[{"code":"Unauthorized","message":"The LWA secret token you provided has expired."}]}"#,
    ));
    let out = env
        .run(&["rdt", "p", "--resource", "GET /orders/v0/orders"])
        .expect_code(6);
    assert!(
        out.stderr.contains("vault app set-secret main") && !out.stderr.contains("region"),
        "{}",
        out.stderr
    );
}

#[test]
fn redirect_uris_with_a_fragment_are_refused() {
    let env = Env::new();
    env.init_fast();
    let out = env
        .add_main_app_with(
            "amzn1.oa2-cs.v1.s",
            &["--redirect-uri", "https://example.com/cb#x"],
        )
        .expect_code(2);
    assert!(out.stderr.contains("MD5110"), "{}", out.stderr);
}

#[test]
fn rdt_takes_only_what_the_tokens_api_takes() {
    let (standin, env) = setup();
    for (args, says) in [
        (vec!["--resource", "PATCH /orders/v0/orders/1"], "PATCH"),
        (
            vec![
                "--resource",
                "GET /mfn/v0/shipments/1",
                "--data-elements",
                "buyerInfo",
            ],
            "getOrders",
        ),
        (
            vec![
                "--resource",
                "GET /orders/v0/orders",
                "--data-elements",
                "phone",
            ],
            "phone",
        ),
    ] {
        let mut full = vec!["rdt", "p"];
        full.extend(args);
        let out = env.run(&full).expect_code(2);
        assert!(out.stderr.contains(says), "{says}: {}", out.stderr);
    }
    assert!(standin.spapi_calls().is_empty(), "nothing was sent");
    env.run(&[
        "rdt",
        "p",
        "--resource",
        "GET /orders/v0/orders/1",
        "--data-elements",
        "buyerInfo,buyerTaxInformation",
    ])
    .ok();
    let body: serde_json::Value =
        serde_json::from_str(&standin.spapi_calls().pop().unwrap().body).unwrap();
    assert_eq!(
        body["restrictedResources"][0]["dataElements"],
        serde_json::json!(["buyerInfo", "buyerTaxInformation"])
    );
}

#[test]
fn rotation_goes_to_na_once_and_says_what_to_check() {
    let (standin, env) = setup();
    // The profile is in eu; the Application Management API lives in na.
    standin.queue_spapi(Canned::json(403, r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#));
    let out = env.run(&["app", "rotate-secret", "main"]).expect_code(6);
    assert!(out.stderr.contains("region na"), "{}", out.stderr);
    // A 5xx is not retried: the POST may have started a rotation.
    let before = standin.spapi_calls().len();
    standin.queue_spapi(Canned::json(
        503,
        r#"{"errors":[{"code":"ServiceUnavailable","message":"x"}]}"#,
    ));
    let out = env.run(&["app", "rotate-secret", "main"]).expect_code(7);
    assert_eq!(standin.spapi_calls().len(), before + 1, "retried");
    assert!(
        out.stderr.contains("APPLICATION_OAUTH_CLIENT_NEW_SECRET")
            && out.stderr.contains("not repeated"),
        "{}",
        out.stderr
    );
    standin.queue_spapi(Canned::json(
        400,
        r#"{"errors":[{"code":"InvalidInput","message":"Application is not enrolled for rotation notification. Please update application notification preference in Developer console."}]}"#,
    ));
    let out = env.run(&["app", "rotate-secret", "main"]).expect_code(1);
    assert!(
        out.stderr.contains("Notification preferences")
            && out.stderr.contains("Application Client New Secret"),
        "{}",
        out.stderr
    );
}

#[test]
fn grantless_scopes_amazon_retired_are_refused() {
    let (standin, env) = setup();
    let out = env
        .run(&["token", "p", "--grantless", "sellingpartnerapi::migration"])
        .expect_code(2);
    assert!(
        out.stderr.contains("retired") && out.stderr.contains("2024"),
        "{}",
        out.stderr
    );
    standin.queue(Canned::json(
        400,
        r#"{"error":"invalid_scope","error_description":"The scope is invalid"}"#,
    ));
    let out = env
        .run(&["token", "p", "--grantless", "notifications"])
        .expect_code(6);
    assert!(
        out.stderr.contains("only for seller apps"),
        "{}",
        out.stderr
    );
}

#[test]
fn app_list_counts_authorizations_against_amazons_limits() {
    let (standin, env) = setup();
    for i in 0..8 {
        let name = format!("s{i}");
        let token = format!("Atzr|self-{i}");
        env.run(&["add-profile", &name, "--region", "eu"]).ok();
        standin.add_refresh_token(CLIENT_ID, &token);
        env.run_stdin(&["login", &name, "--refresh-token-stdin"], &token)
            .ok();
    }
    let out = env.run(&["app", "list", "--json"]).ok();
    let apps = out.json();
    assert_eq!(apps[0]["self_authorized"], 9, "p and s0..s7");
    assert_eq!(apps[0]["consent_flow_authorized"], 0);
    let out = env.run(&["app", "list"]).ok();
    assert!(out.stdout.contains("9 of 10"), "{}", out.stdout);
    assert!(
        out.stderr.contains("10 self-authorizations per app"),
        "{}",
        out.stderr
    );
}
