//! SP-API depth: grantless tokens, restricted data tokens, secret rotation, `check`,
//! sandbox profiles; against the stand-in playing LWA and SP-API.

mod support;

use support::*;

fn setup() -> (StandIn, Env) {
    logged_in_with_spapi()
}

#[test]
fn grantless_tokens_carry_the_scope_and_are_cached() {
    let (standin, env) = setup();
    let out = env
        .run(&["token", "p", "--grantless", "notifications"])
        .ok();
    assert_eq!(out.stdout, "Atza|standin-2\n");
    let seen = standin.seen().pop().unwrap();
    assert_eq!(seen.grant_type, "client_credentials");
    assert_eq!(seen.scope, "sellingpartnerapi::notifications");
    assert_eq!(seen.client_id, CLIENT_ID);
    assert_eq!(
        seen.refresh_token, "",
        "no refresh token in a grantless request"
    );
    // Cached per app and scope set.
    env.run(&[
        "token",
        "p",
        "--grantless",
        "sellingpartnerapi::notifications",
    ])
    .ok();
    assert_eq!(standin.requests(), 2);
    let both = env
        .run(&[
            "token",
            "p",
            "--grantless",
            "notifications,client-credential-rotation",
        ])
        .ok();
    assert_eq!(both.stdout, "Atza|standin-3\n");
    assert_eq!(
        standin.seen().pop().unwrap().scope,
        "sellingpartnerapi::client_credential:rotation sellingpartnerapi::notifications"
    );
    env.run(&[
        "token",
        "p",
        "--grantless",
        "client-credential-rotation",
        "--grantless",
        "notifications",
    ])
    .ok();
    assert_eq!(
        standin.requests(),
        3,
        "the same scope set in another order is cached"
    );
    // The seller's access token is untouched.
    assert_eq!(env.run(&["token", "p"]).ok().stdout, "Atza|standin-1\n");
    env.run(&["token", "p", "--grantless", "everything"])
        .expect_code(2);
}

#[test]
fn rdt_request_is_exactly_what_the_tokens_api_model_says() {
    let (standin, env) = setup();
    let out = env
        .run(&[
            "rdt",
            "p",
            "--resource",
            "GET /orders/v0/orders",
            "--resource",
            "GET /orders/v0/orders/{orderId}",
            "--data-elements",
            "buyerInfo,shippingAddress",
            "--target-application",
            "amzn1.sp.solution.other",
        ])
        .ok();
    assert_eq!(out.stdout, "Atz.sprdt|standin-rdt-1\n");
    let call = standin.spapi_calls().pop().unwrap();
    assert_eq!(call.path, "/tokens/2021-03-01/restrictedDataToken");
    assert_eq!(call.access_token, "Atza|standin-1");
    assert_eq!(call.content_type, "application/json");
    let body: serde_json::Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "restrictedResources": [
                {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo", "shippingAddress"]},
                {"method": "GET", "path": "/orders/v0/orders/{orderId}", "dataElements": ["buyerInfo", "shippingAddress"]}
            ],
            "targetApplication": "amzn1.sp.solution.other"
        })
    );
    // getOrderItems takes buyerInfo only (Amazon's Tokens API guide, in the table).
    let out = env
        .run(&[
            "rdt",
            "p",
            "--resource",
            "GET /orders/v0/orders/{orderId}/orderItems",
            "--data-elements",
            "shippingAddress",
        ])
        .expect_code(2);
    assert!(
        out.stderr.contains("getOrderItems takes: use buyerInfo"),
        "{}",
        out.stderr
    );
    let json = env
        .run(&[
            "rdt",
            "p",
            "--resource",
            "GET /orders/v0/orders/1/address",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(json["restricted_data_token"], "Atz.sprdt|standin-rdt-2");
    assert!(json["expires_at"].as_str().unwrap().ends_with('Z'));
    let body: serde_json::Value =
        serde_json::from_str(&standin.spapi_calls().pop().unwrap().body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"restrictedResources": [{"method": "GET", "path": "/orders/v0/orders/1/address"}]})
    );
}

#[test]
fn rdt_errors_are_explained() {
    let (standin, env) = setup();
    standin.queue_spapi(Canned::json(
        400,
        r#"{"errors":[{"code":"InvalidInput","message":"Invalid restricted resource path","details":""}]}"#,
    ));
    let out = env
        .run(&["rdt", "p", "--resource", "GET /orders/v0/nope"])
        .expect_code(1);
    assert!(
        out.stderr.contains("InvalidInput")
            && out.stderr.contains("Invalid restricted resource path"),
        "{}",
        out.stderr
    );
    standin.queue_spapi(Canned::json(403, r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#));
    let out = env
        .run(&["rdt", "p", "--resource", "GET /orders/v0/orders"])
        .expect_code(6);
    assert!(
        out.stderr.contains("another region's endpoint") && out.stderr.contains("region eu"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("Atza|"),
        "the access token leaked: {}",
        out.stderr
    );
    standin.queue_spapi(
        Canned::json(
            429,
            r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota"}]}"#,
        )
        .with_header("retry-after", "1"),
    );
    env.run(&["rdt", "p", "--resource", "GET /orders/v0/orders"])
        .ok();
    env.run(&["rdt", "p", "--resource", "orders"])
        .expect_code(2);
    let too_many: Vec<String> = (0..51)
        .flat_map(|i| {
            [
                "--resource".to_owned(),
                format!("GET /orders/v0/orders/{i}"),
            ]
        })
        .collect();
    let mut args = vec!["rdt", "p"];
    args.extend(too_many.iter().map(String::as_str));
    env.run(&args).expect_code(2);
}

#[test]
fn a_token_from_another_region_gets_a_region_mismatch_explanation() {
    let (standin, env) = setup();
    env.run(&["add-profile", "na", "--region", "na"]).ok();
    // A refresh token the stand-in does not know yields a token it will not accept at
    // SP-API: exactly what happens with a token used at another region's endpoint.
    standin.add_refresh_token(CLIENT_ID, "Atzr|na-token");
    env.run_stdin(&["login", "na", "--refresh-token-stdin"], "Atzr|na-token")
        .ok();
    standin.queue_spapi(Canned::json(403, r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#));
    let out = env
        .run(&["rdt", "na", "--resource", "GET /orders/v0/orders"])
        .expect_code(6);
    assert!(out.stderr.contains("region na"), "{}", out.stderr);
}

#[test]
fn rotation_calls_amazon_with_a_rotation_scoped_token() {
    let (standin, env) = setup();
    let out = env.run(&["app", "rotate-secret", "main"]).ok();
    assert!(
        out.stdout.contains("APPLICATION_OAUTH_CLIENT_NEW_SECRET")
            && out.stdout.contains("--from-notification")
            && out
                .stdout
                .contains("Developer Console › Notification preferences")
            && !out.stdout.contains("Notifications API"),
        "{}",
        out.stdout
    );
    let token_request = standin.seen().pop().unwrap();
    assert_eq!(token_request.grant_type, "client_credentials");
    assert_eq!(
        token_request.scope,
        "sellingpartnerapi::client_credential:rotation"
    );
    let call = standin.spapi_calls().pop().unwrap();
    assert_eq!(call.path, "/applications/2023-11-30/clientSecret");
    assert_eq!(call.access_token, "Atza|standin-2");
    env.run(&["app", "rotate-secret", "nope"]).expect_code(5);
}

fn notification(new_secret: &str) -> String {
    serde_json::json!({
        "notificationVersion": "1.0",
        "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "payloadVersion": "2023-05-13",
        "eventTime": "2026-11-27T10:00:00.000Z",
        "payload": {
            "applicationOAuthClientNewSecret": {
                "clientId": CLIENT_ID,
                "newClientSecret": new_secret,
                "newClientSecretExpiryTime": "2027-05-26T10:00:00Z",
                "oldClientSecretExpiryTime": "2099-12-04T10:00:00Z"
            }
        },
        "notificationMetadata": {"applicationId": APP_ID, "subscriptionId": "s", "publishTime": "2026-11-27T10:00:00Z", "notificationId": "n"}
    })
    .to_string()
}

#[test]
fn notification_import_keeps_the_old_secret_as_a_fallback() {
    let (standin, env) = setup();
    env.run_stdin(
        &["app", "set-secret", "main", "--from-notification"],
        &notification("amzn1.oa2-cs.v1.NEW"),
    )
    .ok();
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert_eq!(apps[0]["client_secret_expires_at"], "2027-05-26T10:00:00Z");
    let vars = env
        .run(&["env", "p", "--with-secrets", "--format", "json"])
        .ok()
        .json();
    assert_eq!(vars["LWA_CLIENT_SECRET"], "amzn1.oa2-cs.v1.NEW");

    // Amazon does not know the new secret yet: the old one is tried next and works.
    let before = standin.requests();
    env.run(&["refresh", "p", "--force"]).ok();
    let tries: Vec<String> = standin.seen()[before..]
        .iter()
        .map(|s| s.client_secret.clone())
        .collect();
    assert_eq!(tries, ["amzn1.oa2-cs.v1.NEW", CLIENT_SECRET]);

    // Once Amazon knows the new one, it is used first and alone.
    standin.add_client(CLIENT_ID, "amzn1.oa2-cs.v1.NEW");
    let before = standin.requests();
    env.run(&["refresh", "p", "--force"]).ok();
    assert_eq!(standin.seen()[before..].len(), 1);
}

#[test]
fn notification_payloads_alone_work_and_wrong_ones_are_refused() {
    let (_standin, env) = setup();
    let full: serde_json::Value = serde_json::from_str(&notification("amzn1.oa2-cs.v1.P")).unwrap();
    let payload = full["payload"].to_string();
    env.run_stdin(
        &["app", "set-secret", "main", "--from-notification"],
        &payload,
    )
    .ok();
    let other = notification("x").replace(CLIENT_ID, "amzn1.application-oa2-client.other");
    let out = env
        .run_stdin(
            &["app", "set-secret", "main", "--from-notification"],
            &other,
        )
        .expect_code(2);
    assert!(out.stderr.contains("client id"), "{}", out.stderr);
    env.run_stdin(
        &["app", "set-secret", "main", "--from-notification"],
        "{\"payload\":{}}",
    )
    .expect_code(2);
    env.run_stdin(
        &["app", "set-secret", "main", "--from-notification"],
        "not json",
    )
    .expect_code(2);
    let vars = env
        .run(&["env", "p", "--with-secrets", "--format", "json"])
        .ok()
        .json();
    assert_eq!(
        vars["LWA_CLIENT_SECRET"], "amzn1.oa2-cs.v1.P",
        "refused notifications changed nothing"
    );
}

#[test]
fn check_exit_codes_follow_what_needs_attention() {
    let (standin, env) = setup();
    let ok = env.run(&["check"]).ok();
    assert!(ok.stdout.starts_with("OK"), "{}", ok.stdout);
    assert_eq!(env.run(&["check", "--json"]).ok().json()["ok"], true);

    // The secret expires in 180 days: within 200 days it needs attention.
    let out = env
        .run(&["check", "--within", "200d", "--json"])
        .expect_code(6);
    assert_eq!(out.json()["problems"][0]["kind"], "client_secret_expiring");

    env.run(&["add-profile", "q", "--region", "eu"]).ok();
    let out = env.run(&["check", "--json"]).expect_code(6);
    assert_eq!(out.json()["problems"][0]["kind"], "refresh_token_missing");
    assert_eq!(out.json()["problems"][0]["profile"], "q");
    env.run(&["remove", "q", "--yes"]).ok();

    standin.revoke(REFRESH_TOKEN);
    env.run(&["refresh", "p", "--force"]).expect_code(6);
    let out = env.run(&["check"]).expect_code(6);
    assert!(
        out.stdout
            .contains("last refresh of profile 'p' was rejected (invalid_grant"),
        "{}",
        out.stdout
    );
    // A successful refresh clears it.
    standin.add_refresh_token(CLIENT_ID, "Atzr|again");
    env.run_stdin(&["login", "p", "--refresh-token-stdin"], "Atzr|again")
        .ok();
    env.run(&["refresh", "p", "--force"]).ok();
    env.run(&["check"]).ok();
}

#[test]
fn list_and_status_warn_about_expiring_secrets() {
    let (_standin, env) = setup();
    env.run_stdin(
        &[
            "app",
            "set-secret",
            "main",
            "--stdin",
            "--expires",
            &(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 10)).to_string(),
        ],
        "amzn1.oa2-cs.v1.s2",
    )
    .ok();
    let list = env.run(&["list"]).ok();
    assert!(
        list.stderr
            .contains("client secret of app 'main' expires in"),
        "{}",
        list.stderr
    );
    assert!(list.stdout.contains("rotate now"), "{}", list.stdout);
    env.run(&["unlock"]).ok();
    let status = env.run(&["status"]).ok();
    assert!(
        status
            .stderr
            .contains("client secret of app 'main' expires in"),
        "{}",
        status.stderr
    );
}

#[test]
fn sandbox_profiles_use_sandbox_endpoints_everywhere() {
    let (standin, env) = setup();
    env.run(&[
        "add-profile",
        "sb",
        "--region",
        "fe",
        "--marketplace",
        "JP",
        "--sandbox",
    ])
    .ok();
    standin.add_refresh_token(CLIENT_ID, "Atzr|sandbox");
    env.run_stdin(&["login", "sb", "--refresh-token-stdin"], "Atzr|sandbox")
        .ok();
    let list = env.run(&["list"]).ok();
    assert!(list.stdout.contains("fe (sandbox)"), "{}", list.stdout);
    let vars = env
        .run(&[
            "env",
            "sb",
            "--preset",
            "python-amazon-sp-api",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        vars["SP_API_ENDPOINT"],
        "https://sandbox.sellingpartnerapi-fe.amazon.com"
    );
    assert_eq!(vars["AWS_ENV"], "SANDBOX");
    let production = env
        .run(&[
            "env",
            "p",
            "--preset",
            "python-amazon-sp-api",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert!(production.get("AWS_ENV").is_none());
}
