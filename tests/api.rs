//! `vault api` and `vault check --online`, against the stand-in playing LWA and SP-API.

mod support;

use std::time::Duration;

use support::*;

fn setup() -> (StandIn, Env) {
    logged_in_with_spapi()
}

/// No secret spvault holds for profile `p` in what a command printed.
#[track_caller]
fn no_secret_in(out: &Out) {
    for secret in [REFRESH_TOKEN, "Atza|standin", "Atz.sprdt|", CLIENT_SECRET] {
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(!text.contains(secret), "{secret} in {stream}: {text}");
        }
    }
}

/// `text` (what a command printed) holds `wanted`; shows all of it when not.
#[track_caller]
fn says(text: &str, wanted: &str) {
    assert!(text.contains(wanted), "{wanted:?} not in:\n{text}");
}

fn page(body: &str) -> Canned {
    Canned::json(200, body)
}

#[test]
fn a_plain_get_prints_the_answer_as_it_came_with_a_fresh_access_token() {
    let (standin, env) = setup();
    let out = env
        .run(&["api", "p", "/sellers/v1/marketplaceParticipations"])
        .ok();
    let answer = out.json();
    assert_eq!(answer["payload"][0]["marketplace"]["id"], "A1PA6795UKMFR9");
    assert_eq!(out.stderr, "", "nothing but the body");
    let call = standin.spapi_calls().pop().unwrap();
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("GET", "/sellers/v1/marketplaceParticipations")
    );
    assert_eq!(call.access_token, "Atza|standin-1");
    assert!(
        call.user_agent.starts_with("spvault/")
            && call.user_agent.contains("(Language=Rust; Platform="),
        "{}",
        call.user_agent
    );
    assert_eq!(call.content_type, "", "no body, no content type");
    // The cached access token is reused, as `vault token` does.
    env.run(&["api", "p", "/sellers/v1/marketplaceParticipations"])
        .ok();
    assert_eq!(standin.requests(), 1, "one LWA request for both calls");
}

#[test]
fn query_parameters_from_the_path_and_from_q_are_sent_url_encoded() {
    let (standin, env) = setup();
    standin.queue_spapi(page(r#"{"payload":{"Orders":[]}}"#));
    env.run(&[
        "api",
        "p",
        "/orders/v0/orders?MarketplaceIds=A1PA6795UKMFR9",
        "-q",
        "CreatedAfter=2026-11-01T00:00:00+01:00",
        "-q",
        "BuyerEmail=a b&c=d@example.com",
    ])
    .ok();
    let call = standin.spapi_calls().pop().unwrap();
    assert_eq!(call.path, "/orders/v0/orders");
    assert_eq!(
        call.query,
        [
            ("MarketplaceIds".to_owned(), "A1PA6795UKMFR9".to_owned()),
            (
                "CreatedAfter".to_owned(),
                "2026-11-01T00:00:00+01:00".to_owned()
            ),
            ("BuyerEmail".to_owned(), "a b&c=d@example.com".to_owned()),
        ]
    );
    let bad = env.run(&["api", "p", "/orders/v0/orders", "-q", "MarketplaceIds"]);
    assert!(bad.expect_code(2).stderr.contains("NAME=VALUE"));
}

#[test]
fn a_post_sends_the_json_body_from_stdin_and_a_bad_body_is_refused_before_sending() {
    let (standin, env) = setup();
    let body =
        r#"{"reportType":"GET_MERCHANT_LISTINGS_ALL_DATA","marketplaceIds":["A1PA6795UKMFR9"]}"#;
    let create_report = [
        "api",
        "p",
        "-X",
        "POST",
        "/reports/2021-06-30/reports",
        "--body",
        "-",
    ];
    standin.queue_spapi(Canned::json(202, r#"{"reportId":"50"}"#));
    let out = env.run_stdin(&create_report, body).ok();
    assert_eq!(out.json()["reportId"], "50");
    let call = standin.spapi_calls().pop().unwrap();
    assert_eq!(call.method, "POST");
    assert_eq!(call.content_type, "application/json");
    assert_eq!(call.body, body);

    let calls = standin.spapi_calls().len();
    let out = env
        .run_stdin(&create_report, "{\"reportType\": ")
        .expect_code(2);
    says(&out.stderr, "is not JSON");
    let file = env.path("report.json");
    std::fs::write(&file, body).unwrap();
    standin.queue_spapi(Canned::json(202, r#"{"reportId":"51"}"#));
    let out = env
        .run(&[
            "api",
            "p",
            "/reports/2021-06-30/reports",
            "--body",
            file.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(out.json()["reportId"], "51");
    let calls_after = standin.spapi_calls();
    assert_eq!(calls_after.len(), calls + 1, "the bad body was never sent");
    assert_eq!(
        calls_after.last().unwrap().method,
        "POST",
        "a body means POST"
    );
}

#[test]
fn paginate_follows_the_next_token_wherever_the_operation_puts_it() {
    let (standin, env) = setup();
    standin.queue_spapi(page(
        r#"{ "payload": { "Orders": [ {"AmazonOrderId": "1"} ], "NextToken": "t2" } }"#,
    ));
    standin.queue_spapi(page(
        r#"{"payload":{"Orders":[{"AmazonOrderId":"2"}],"NextToken":"t3"}}"#,
    ));
    standin.queue_spapi(page(r#"{"payload":{"Orders":[{"AmazonOrderId":"3"}]}}"#));
    let out = env
        .run(&[
            "api",
            "p",
            "/orders/v0/orders",
            "-q",
            "MarketplaceIds=A1PA6795UKMFR9",
            "--paginate",
        ])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"payload":{"Orders":[{"AmazonOrderId":"1"}],"NextToken":"t2"}}"#,
            r#"{"payload":{"Orders":[{"AmazonOrderId":"2"}],"NextToken":"t3"}}"#,
            r#"{"payload":{"Orders":[{"AmazonOrderId":"3"}]}}"#,
        ]
    );
    let calls = standin.spapi_calls();
    let queries: Vec<Vec<(String, String)>> = calls.iter().map(|c| c.query.clone()).collect();
    let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
    assert_eq!(queries[0], [pair("MarketplaceIds", "A1PA6795UKMFR9")]);
    assert_eq!(
        queries[1],
        [
            pair("MarketplaceIds", "A1PA6795UKMFR9"),
            pair("NextToken", "t2")
        ]
    );
    assert_eq!(
        queries[2],
        [
            pair("MarketplaceIds", "A1PA6795UKMFR9"),
            pair("NextToken", "t3")
        ]
    );

    // Reports: a top-level nextToken goes back alone; --max-pages stops early.
    standin.queue_spapi(page(r#"{"reports":[],"nextToken":"r2"}"#));
    standin.queue_spapi(page(r#"{"reports":[],"nextToken":"r3"}"#));
    let out = env
        .run(&[
            "api",
            "p",
            "/reports/2021-06-30/reports?reportTypes=GET_FLAT_FILE_OPEN_LISTINGS_DATA",
            "--paginate",
            "--max-pages",
            "2",
        ])
        .ok();
    assert_eq!(out.stdout.lines().count(), 2);
    says(&out.stderr, "stopped after 2 pages");
    let last = standin.spapi_calls().pop().unwrap();
    assert_eq!(last.query, [pair("nextToken", "r2")]);
}

#[test]
fn a_restricted_path_gets_a_restricted_data_token_once_and_others_none() {
    let (standin, env) = setup();
    let address = "/orders/v0/orders/902-3159896-1390916/address";
    let out = env.run(&["api", "p", address]).ok();
    assert_eq!(out.json()["payload"]["path"], address);
    no_secret_in(&out);
    let calls = standin.spapi_calls();
    assert_eq!(calls.len(), 2, "one RDT request, then the call");
    assert_eq!(calls[0].path, "/tokens/2021-03-01/restrictedDataToken");
    assert_eq!(calls[0].access_token, "Atza|standin-1");
    let request: serde_json::Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(
        request,
        serde_json::json!({"restrictedResources": [{"method": "GET", "path": address}]})
    );
    assert_eq!(calls[1].path, address);
    assert_eq!(calls[1].access_token, "Atz.sprdt|standin-rdt-1");

    // Still valid for the same resource: reused, from the vault.
    env.run(&["api", "p", address]).ok();
    let calls = standin.spapi_calls();
    assert_eq!(calls.len(), 3, "no second RDT request");
    assert_eq!(calls[2].access_token, "Atz.sprdt|standin-rdt-1");

    // getOrders with data elements: an RDT carrying them; without: the access token.
    env.run(&[
        "api",
        "p",
        "/orders/v0/orders",
        "-q",
        "MarketplaceIds=A1PA6795UKMFR9",
        "--data-elements",
        "buyerInfo,shippingAddress",
    ])
    .ok();
    let calls = standin.spapi_calls();
    let rdt: serde_json::Value = serde_json::from_str(&calls[3].body).unwrap();
    assert_eq!(
        rdt["restrictedResources"][0]["dataElements"],
        serde_json::json!(["buyerInfo", "shippingAddress"])
    );
    assert!(calls[4].access_token.starts_with("Atz.sprdt|"));
    env.run(&[
        "api",
        "p",
        "/orders/v0/orders",
        "-q",
        "MarketplaceIds=A1PA6795UKMFR9",
    ])
    .ok();
    let calls = standin.spapi_calls();
    assert_eq!(calls.len(), 6, "no RDT without data elements");
    assert_eq!(calls[5].access_token, "Atza|standin-1");
    env.run(&["api", "p", "/sellers/v1/marketplaceParticipations"])
        .ok();
    assert_eq!(
        standin.spapi_calls().len(),
        7,
        "none for an unrestricted path"
    );
    // Data elements apply to the three Orders operations only.
    let out = env
        .run(&[
            "api",
            "p",
            "/sellers/v1/marketplaceParticipations",
            "--data-elements",
            "buyerInfo",
        ])
        .expect_code(2);
    says(&out.stderr, "--data-elements apply only");
}

#[test]
fn a_report_document_gets_a_restricted_data_token_only_after_a_403() {
    let (standin, env) = setup();
    let document = "/reports/2021-06-30/documents/amzn1.spdoc.1";
    standin.queue_spapi(Canned::json(
        403,
        r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#,
    ));
    let out = env.run(&["api", "p", document]).ok();
    assert_eq!(out.json()["payload"]["path"], document);
    let calls = standin.spapi_calls();
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [document, "/tokens/2021-03-01/restrictedDataToken", document]
    );
    assert_eq!(calls[0].access_token, "Atza|standin-1");
    assert!(calls[2].access_token.starts_with("Atz.sprdt|"));
}

#[test]
fn throttling_is_retried_and_a_post_only_after_a_429() {
    let (standin, env) = setup();
    // An operation the models give no usage plan: retried after a backoff.
    let awd = "/awd/2024-05-09/replenishmentOrders";
    standin.queue_spapi(Canned::json(429, r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource."}]}"#));
    let out = env.run(&["api", "p", awd]).ok();
    assert_eq!(out.json()["payload"]["path"], awd);
    assert_eq!(standin.spapi_calls().len(), 2);

    // A POST refused with 429 is sent again (after its bucket's next token: 10/s);
    // one that failed with a 500 is not.
    let validate = || {
        env.run_stdin(
            &[
                "api",
                "p",
                "/aplus/2020-11-01/contentAsinValidations",
                "-q",
                "marketplaceId=A1PA6795UKMFR9",
                "--body",
                "-",
            ],
            "{}",
        )
    };
    standin.queue_spapi(Canned::json(429, "{}"));
    standin.queue_spapi(Canned::json(200, r#"{"warnings":[]}"#));
    validate().ok();
    assert_eq!(standin.spapi_calls().len(), 4);
    standin.queue_spapi(Canned::json(
        500,
        r#"{"errors":[{"code":"InternalFailure","message":"Service failure."}]}"#,
    ));
    let out = validate().expect_code(7);
    assert_eq!(standin.spapi_calls().len(), 5, "the POST was not repeated");
    says(&out.stderr, "InternalFailure");
    says(&out.stderr, "not repeated");

    // Throttled on every try: exit 7 after at most 5 tries, saying throttled.
    for _ in 0..5 {
        standin.queue_spapi(Canned::json(
            429,
            r#"{"errors":[{"code":"QuotaExceeded","message":"slow down"}]}"#,
        ));
    }
    let out = env.run(&["api", "p", awd]).expect_code(7);
    assert_eq!(standin.spapi_calls().len(), 10);
    says(&out.stderr, "QuotaExceeded");
    says(&out.stderr, "still throttles");
    no_secret_in(&out);
}

#[test]
fn amazons_errors_are_shown_with_the_body_and_the_documented_exit_code() {
    let (standin, env) = setup();
    let bad_request = r#"{"errors":[{"code":"InvalidInput","message":"Invalid Input","details":"CreatedAfter is malformed"}]}"#;
    standin.queue_spapi(Canned::json(400, bad_request));
    let out = env
        .run(&[
            "api",
            "p",
            "/orders/v0/orders",
            "-q",
            "CreatedAfter=yesterday",
        ])
        .expect_code(1);
    assert_eq!(out.stdout.trim_end(), bad_request, "the body, on stdout");
    says(
        &out.stderr,
        "SP-API error InvalidInput: Invalid Input (CreatedAfter is malformed)",
    );
    says(&out.stderr, "HTTP 400");
    no_secret_in(&out);

    standin.queue_spapi(Canned::json(
        403,
        r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":"Atza|standin-1 echoed"}]}"#,
    ));
    let out = env
        .run(&["api", "p", "/sellers/v1/marketplaceParticipations"])
        .expect_code(6);
    says(&out.stderr, "SP-API error Unauthorized");
    assert!(
        out.stderr.contains("region eu"),
        "the region advice: {}",
        out.stderr
    );
    no_secret_in(&out);
    says(&out.stderr, "[redacted]");

    standin.queue_spapi(Canned::json(
        403,
        r#"{"errors":[{"code":"Unauthorized","message":"The LWA secret token you provided has expired."}]}"#,
    ));
    let out = env
        .run(&["api", "p", "/sellers/v1/marketplaceParticipations"])
        .expect_code(6);
    says(&out.stderr, "vault app set-secret main");
}

#[test]
fn include_prints_the_status_line_and_headers_to_stderr() {
    let (standin, env) = setup();
    standin.queue_spapi(
        page(r#"{"payload":[]}"#)
            .with_header("x-amzn-RequestId", "req-1234")
            .with_header("x-amzn-RateLimit-Limit", "0.0167"),
    );
    let out = env
        .run(&[
            "api",
            "p",
            "/sellers/v1/marketplaceParticipations",
            "--include",
        ])
        .ok();
    assert_eq!(out.stdout, "{\"payload\":[]}\n", "the body alone on stdout");
    assert!(
        out.stderr.starts_with("HTTP/1.1 200 OK\n"),
        "{}",
        out.stderr
    );
    says(&out.stderr, "x-amzn-requestid: req-1234\n");
    says(&out.stderr, "x-amzn-ratelimit-limit: 0.0167\n");
}

#[test]
fn a_sandbox_profile_calls_the_sandbox_endpoint() {
    let (standin, mut env) = setup();
    env.run(&["edit-profile", "p", "--sandbox", "--yes"]).ok();
    env.set(
        "SPVAULT_SPAPI_SANDBOX_URL",
        &format!("{}/sandbox", standin.base_url()),
    );
    env.run(&["api", "p", "/sellers/v1/marketplaceParticipations"])
        .ok();
    assert_eq!(
        standin.spapi_calls().pop().unwrap().path,
        "/sandbox/sellers/v1/marketplaceParticipations"
    );
    env.run(&["edit-profile", "p", "--production", "--yes"])
        .ok();
    env.run(&["api", "p", "/sellers/v1/marketplaceParticipations"])
        .ok();
    assert_eq!(
        standin.spapi_calls().pop().unwrap().path,
        "/sellers/v1/marketplaceParticipations"
    );
}

#[test]
fn check_online_finds_a_marketplace_the_account_does_not_participate_in() {
    let (standin, env) = setup();
    let out = env.run(&["check", "--online", "--json"]).ok();
    let report = out.json();
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["profiles"][0]["marketplaces"],
        serde_json::json!([{"id": "A1PA6795UKMFR9", "country_code": "DE", "has_suspended_listings": false}])
    );

    standin.set_participations(&[("A13V1IB3VIYZZH", "FR")]);
    let out = env
        .run(&["check", "--online", "--json", "p"])
        .expect_code(6);
    let report = out.json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["profiles"][0]["profile"], "p");
    assert_eq!(
        report["profiles"][0]["marketplaces"][0]["country_code"],
        "FR"
    );
    assert_eq!(
        report["problems"][0]["kind"],
        "marketplace_not_participating"
    );
    assert_eq!(report["problems"][0]["profile"], "p");
    let text = env.run(&["check", "--online"]).expect_code(6);
    says(&text.stdout, "p: participates in FR (A13V1IB3VIYZZH)");
    says(&text.stdout, "vault edit-profile p");
    no_secret_in(&text);

    standin.queue_spapi(Canned::json(
        403,
        r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#,
    ));
    let out = env.run(&["check", "--online", "--json"]).expect_code(6);
    assert_eq!(out.json()["problems"][0]["kind"], "spapi_denied");
    assert!(
        out.json()["profiles"][0]["marketplaces"].is_null(),
        "unknown, not empty"
    );
}

#[test]
fn check_online_exits_7_when_amazon_cannot_be_reached() {
    let (_standin, mut env) = setup();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    env.set("SPVAULT_SPAPI_URL", &format!("http://127.0.0.1:{port}"));
    env.set("SPVAULT_NETWORK_TIMEOUT", "2s");
    let started = std::time::Instant::now();
    let out = env.run(&["check", "--online", "--json"]).expect_code(7);
    assert!(started.elapsed() < Duration::from_secs(30));
    let report = out.json();
    assert!(report["profiles"][0]["marketplaces"].is_null());
    assert!(
        report["profiles"][0]["error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{report}"
    );
    says(&out.stderr, "could not be checked");
}

#[test]
fn an_echoed_token_is_redacted_when_json_escaped_or_cut_short() {
    let (standin, env) = setup();
    // The access token the stand-in hands out, every character \u-escaped, and a cut
    // prefix of it: both read back as the token.
    let escaped: String = "Atza|standin-1"
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    for status in [200, 400] {
        standin.queue_spapi(Canned::json(
            status,
            &format!(r#"{{"escaped":"{escaped}","cut":"Atza|standin","other":"kept"}}"#),
        ));
        let out = env.run(&["api", "p", "/sellers/v1/marketplaceParticipations"]);
        let answer = out.json();
        for field in ["escaped", "cut"] {
            let value = answer[field].as_str().unwrap();
            assert!(!value.contains("standin"), "{field}: {value}");
            says(value, "[redacted]");
        }
        assert_eq!(answer["other"], "kept");
        no_secret_in(&out);
    }
}

#[test]
fn bodies_reach_a_terminal_with_control_characters_escaped_and_a_pipe_as_they_came() {
    if !have("script") {
        return;
    }
    let (standin, env) = setup();
    let title = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let hostile = format!("{{\"a\":\"{title}\"}}\n");
    let escaped_title = r#"{"a":"\u001b]0;pwned\u0007\u001b[2J"}"#;
    let path = "/sellers/v1/marketplaceParticipations";
    let on_terminal = |args: &[&str]| {
        let (code, screen) = Terminal::start(&env, args).finish();
        assert_eq!(code, 0, "{screen}");
        screen
    };
    // The body as it came, and --jq's value decoded from JSON escapes.
    for (body, jq) in [(hostile.as_str(), None), (escaped_title, Some(".a"))] {
        let mut args = vec!["api", "p", path];
        args.extend(jq.map(|jq| ["--jq", jq]).into_iter().flatten());
        standin.queue_spapi(Canned::json(200, body));
        let screen = on_terminal(&args);
        assert!(
            !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
            "{screen:?}"
        );
        says(&screen, "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J");
        // --raw: as it came, on purpose.
        standin.queue_spapi(Canned::json(200, body));
        args.push("--raw");
        says(&on_terminal(&args), title);
        // A pipe gets the bytes as they came.
        args.pop();
        standin.queue_spapi(Canned::json(200, body));
        says(&env.run(&args).ok().stdout, title);
    }
}
