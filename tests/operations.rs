//! `vault api` by the operations table generated from Amazon's models: pagination,
//! restriction, pacing and names as each operation has them, against the stand-in.

mod support;

use std::time::{Duration, Instant};

use support::*;

#[track_caller]
fn says(text: &str, wanted: &str) {
    assert!(text.contains(wanted), "{wanted:?} not in:\n{text}");
}

fn pair(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// Runs `vault api p ARGS --paginate` over `pages` (answers, in order) and returns
/// the query of every SP-API call it made.
fn paginate(args: &[&str], pages: &[&str]) -> (Out, Vec<Vec<(String, String)>>) {
    let (standin, env) = logged_in_with_spapi();
    for page in pages {
        standin.queue_spapi(Canned::json(200, page));
    }
    let mut all = vec!["api", "p"];
    all.extend_from_slice(args);
    all.push("--paginate");
    let out = env.run(&all);
    let queries = standin.spapi_calls().into_iter().map(|c| c.query).collect();
    (out, queries)
}

#[test]
fn the_token_goes_back_under_the_name_each_operation_takes() {
    // searchOrders (Orders 2026-01-01): pagination.nextToken as paginationToken.
    let (out, queries) = paginate(
        &[
            "searchOrders",
            "marketplaceIds=A1PA6795UKMFR9",
            "createdAfter=2026-11-01T00:00:00Z",
        ],
        &[
            r#"{"orders":[1],"pagination":{"nextToken":"n2"}}"#,
            r#"{"orders":[2]}"#,
        ],
    );
    out.ok();
    assert_eq!(queries.len(), 2);
    assert_eq!(
        queries[1],
        [
            pair("marketplaceIds", "A1PA6795UKMFR9"),
            pair("createdAfter", "2026-11-01T00:00:00Z"),
            pair("paginationToken", "n2")
        ]
    );
    // Catalog Items 2020-12-01: as pageToken.
    let (out, queries) = paginate(
        &["/catalog/2020-12-01/items", "-q", "keywords=shoes"],
        &[
            r#"{"items":[],"pagination":{"nextToken":"c2"}}"#,
            r#"{"items":[]}"#,
        ],
    );
    out.ok();
    assert_eq!(
        queries[1],
        [pair("keywords", "shoes"), pair("pageToken", "c2")]
    );
}

#[test]
fn tokens_deeper_in_the_answer_are_followed() {
    for (args, first, parameter) in [
        (
            vec!["/vendor/orders/v1/purchaseOrders"],
            r#"{"payload":{"pagination":{"nextToken":"v2"},"orders":[]}}"#,
            "nextToken",
        ),
        (
            vec!["/finances/2024-06-19/transactions"],
            r#"{"payload":{"nextToken":"v2","transactions":[]}}"#,
            "nextToken",
        ),
        (
            vec![
                "/finances/transfers/wallet/2024-03-01/transferSchedules",
                "-q",
                "accountId=a1",
            ],
            r#"{"transferSchedules":[],"nextPageToken":"v2"}"#,
            "nextPageToken",
        ),
    ] {
        let (out, queries) = paginate(&args, &[first, r#"{"payload":{}}"#]);
        let out = out.ok();
        assert_eq!(out.stdout.lines().count(), 2, "{args:?}");
        assert_eq!(queries.len(), 2, "{args:?}: page 2 was asked for");
        assert!(
            queries[1].contains(&pair(parameter, "v2")),
            "{args:?}: {:?}",
            queries[1]
        );
    }
}

#[test]
fn a_token_spvault_cannot_send_back_is_an_error_not_a_silent_first_page() {
    let (out, queries) = paginate(
        &[
            "getShipmentItemsByShipmentId",
            "shipmentId=FBA1",
            "MarketplaceId=ATVPDKIKX0DER",
        ],
        &[r#"{"payload":{"ItemData":[],"NextToken":"x2"}}"#],
    );
    let out = out.expect_code(1);
    assert_eq!(queries.len(), 1);
    assert_eq!(out.stdout.lines().count(), 1, "page 1 is printed");
    says(&out.stderr, "next-page token at payload.NextToken");
    says(
        &out.stderr,
        "getShipmentItemsByShipmentId takes it back in no query parameter",
    );

    // An operation spvault does not know: a token in a known place is not dropped.
    let (out, _) = paginate(
        &["/unknown/2026-01-01/things"],
        &[r#"{"things":[],"nextToken":"x2"}"#],
    );
    let out = out.expect_code(1);
    says(
        &out.stderr,
        "does not know the operation GET /unknown/2026-01-01/things",
    );
}

#[test]
fn a_top_level_next_token_repeats_the_other_parameters_except_for_reports_and_feeds() {
    let (out, queries) = paginate(
        &[
            "/tax/invoices/2024-06-19/invoices",
            "-q",
            "marketplaceId=A2Q3Y263D00KWC",
        ],
        &[r#"{"invoices":[],"nextToken":"i2"}"#, r#"{"invoices":[]}"#],
    );
    out.ok();
    assert_eq!(
        queries[1],
        [
            pair("marketplaceId", "A2Q3Y263D00KWC"),
            pair("nextToken", "i2")
        ]
    );
    let (out, queries) = paginate(
        &[
            "/feeds/2021-06-30/feeds",
            "-q",
            "feedTypes=POST_PRODUCT_DATA",
        ],
        &[r#"{"feeds":[],"nextToken":"f2"}"#, r#"{"feeds":[]}"#],
    );
    out.ok();
    assert_eq!(
        queries[1],
        [pair("nextToken", "f2")],
        "Feeds wants it alone"
    );
}

#[test]
fn the_operations_amazon_restricts_get_a_restricted_data_token() {
    let (standin, env) = logged_in_with_spapi();
    env.run(&["api", "p", "/shipping/v1/shipments/s-1"]).ok();
    let body = r#"{"sellingParty":{"partyId":"X"},"shipFromParty":{"partyId":"Y"},"labelFormat":"PNG","containers":[]}"#;
    env.run_stdin(
        &[
            "api",
            "p",
            "createShippingLabels",
            "purchaseOrderNumber=PO 1/2",
            "--body",
            "-",
        ],
        body,
    )
    .ok();
    let calls = standin.spapi_calls();
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/tokens/2021-03-01/restrictedDataToken",
            "/shipping/v1/shipments/s-1",
            "/tokens/2021-03-01/restrictedDataToken",
            "/vendor/directFulfillment/shipping/2021-12-28/shippingLabels/PO%201%2F2",
        ]
    );
    assert!(calls[1].access_token.starts_with("Atz.sprdt|"));
    assert_eq!(calls[3].method, "POST", "the operation brings its method");
    assert!(calls[3].access_token.starts_with("Atz.sprdt|"));
    let rdt: serde_json::Value = serde_json::from_str(&calls[2].body).unwrap();
    assert_eq!(
        rdt["restrictedResources"][0]["path"],
        "/vendor/directFulfillment/shipping/2021-12-28/shippingLabels/PO%201%2F2"
    );
}

#[test]
fn a_429_waits_for_the_next_token_of_the_operations_bucket() {
    let (standin, env) = logged_in_with_spapi();
    // searchContentDocuments: 10 requests/s, burst 10. No Retry-After, no rate header.
    standin.queue_spapi(Canned::json(
        429,
        r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource."}]}"#,
    ));
    standin.queue_spapi(Canned::json(200, r#"{"contentMetadataRecords":[]}"#));
    let started = Instant::now();
    env.run(&[
        "api",
        "p",
        "searchContentDocuments",
        "marketplaceId=A1PA6795UKMFR9",
    ])
    .ok();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(standin.spapi_calls().len(), 2);

    // getOrders (0.0167/s): after a 429 the next token is a minute away; --max-wait
    // ends it with exit 7, saying it is throttled and how far it got.
    standin.queue_spapi(Canned::json(
        200,
        r#"{"payload":{"Orders":[],"NextToken":"t2"}}"#,
    ));
    standin.queue_spapi(Canned::json(
        429,
        r#"{"errors":[{"code":"QuotaExceeded","message":"slow down"}]}"#,
    ));
    let started = Instant::now();
    let out = env
        .run(&[
            "api",
            "p",
            "ordersV0.getOrders",
            "MarketplaceIds=A1PA6795UKMFR9",
            "--paginate",
            "--max-wait",
            "2s",
        ])
        .expect_code(7);
    assert!(started.elapsed() < Duration::from_secs(20));
    let printed: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(printed.len(), 2, "page 1, then Amazon's answer to page 2");
    says(printed[0], r#""NextToken":"t2""#);
    says(printed[1], "QuotaExceeded");
    says(&out.stderr, "still throttles ordersV0.getOrders");
    says(&out.stderr, "--max-wait 2s");
    says(&out.stderr, "0.0167 requests/s, burst 20");
    says(&out.stderr, "1 page printed before this one failed");
    assert!(!out.stderr.contains("unreachable"), "{}", out.stderr);

    // Within the burst, every page goes at once, however many tries that takes.
    for n in 0..6 {
        standin.queue_spapi(Canned::json(
            200,
            &format!(r#"{{"payload":{{"Orders":[],"NextToken":"t{n}"}}}}"#),
        ));
    }
    standin.queue_spapi(Canned::json(200, r#"{"payload":{"Orders":[]}}"#));
    let out = env
        .run(&[
            "api",
            "p",
            "ordersV0.getOrders",
            "MarketplaceIds=A1PA6795UKMFR9",
            "--paginate",
        ])
        .ok();
    assert_eq!(out.stdout.lines().count(), 7);
}

#[test]
fn throttling_of_an_operation_without_a_usage_plan_says_throttled() {
    let (standin, env) = logged_in_with_spapi();
    // listReplenishmentOrders (AWD): the model states no usage plan.
    for _ in 0..5 {
        standin.queue_spapi(
            Canned::json(
                429,
                r#"{"errors":[{"code":"QuotaExceeded","message":"slow down"}]}"#,
            )
            .with_header("Retry-After", "0"),
        );
    }
    let out = env
        .run(&["api", "p", "/awd/2024-05-09/replenishmentOrders"])
        .expect_code(7);
    assert_eq!(standin.spapi_calls().len(), 5);
    says(&out.stderr, "SP-API still throttles");
    assert!(!out.stderr.contains("unreachable"), "{}", out.stderr);
}

#[test]
fn an_expired_client_secret_in_the_details_of_a_403_is_named() {
    let (standin, env) = logged_in_with_spapi();
    standin.queue_spapi(Canned::json(
        403,
        r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":"The LWA secret token you provided has expired."}]}"#,
    ));
    let out = env
        .run(&["api", "p", "getMarketplaceParticipations"])
        .expect_code(6);
    says(&out.stderr, "vault app set-secret main");
    assert!(!out.stderr.contains("region"), "{}", out.stderr);
}

#[test]
fn inactive_listings_are_shown_but_are_no_problem() {
    let (standin, env) = logged_in_with_spapi();
    standin.queue_spapi(Canned::json(
        200,
        r#"{"payload":[{"marketplace":{"id":"A1PA6795UKMFR9","countryCode":"DE","name":"Amazon.de"},"participation":{"isParticipating":true,"hasSuspendedListings":true}}]}"#,
    ));
    let out = env.run(&["check", "--online"]).ok();
    says(&out.stdout, "listings set to Inactive in DE");
}

#[test]
fn sandbox_profiles_get_their_rdt_from_the_sandbox_and_static_participations_are_no_problem() {
    let (standin, mut env) = logged_in_with_spapi();
    env.run(&["edit-profile", "p", "--sandbox", "--yes"]).ok();
    env.set(
        "SPVAULT_SPAPI_SANDBOX_URL",
        &format!("{}/sandbox", standin.base_url()),
    );
    env.run(&["api", "p", "/orders/v0/orders/902-1/address"])
        .ok();
    let paths: Vec<String> = standin.spapi_calls().into_iter().map(|c| c.path).collect();
    assert_eq!(
        paths,
        [
            "/sandbox/tokens/2021-03-01/restrictedDataToken",
            "/sandbox/orders/v0/orders/902-1/address"
        ]
    );
    // The sandbox's participations are static and US only; the profile is DE.
    standin.set_participations(&[("ATVPDKIKX0DER", "US")]);
    let out = env.run(&["check", "--online", "p"]).ok();
    says(
        &out.stdout,
        "the sandbox answers with static, US-only participations",
    );
}

#[test]
fn operations_are_called_by_name_with_their_parameters() {
    let (standin, env) = logged_in_with_spapi();
    let out = env
        .run(&[
            "api",
            "p",
            "getOrderItems",
            "orderId=902-1",
            "NextToken=abc",
        ])
        .ok();
    assert_eq!(out.stderr, "");
    let call = standin.spapi_calls().pop().unwrap();
    assert_eq!(call.path, "/orders/v0/orders/902-1/orderItems");
    assert_eq!(call.query, [pair("NextToken", "abc")]);

    // A list given twice is comma-joined.
    env.run(&[
        "api",
        "p",
        "ordersV0.getOrders",
        "MarketplaceIds=A1PA6795UKMFR9",
        "MarketplaceIds=A1RKKUPIHCS9HS",
    ])
    .ok();
    assert_eq!(
        standin.spapi_calls().pop().unwrap().query,
        [pair("MarketplaceIds", "A1PA6795UKMFR9,A1RKKUPIHCS9HS")]
    );

    let calls = standin.spapi_calls().len();
    let out = env.run(&["api", "p", "getOrders"]).expect_code(2);
    says(&out.stderr, "ordersV0.getOrders");
    says(&out.stderr, "vendorDirectFulfillmentOrdersV1.getOrders");
    let out = env.run(&["api", "p", "getOrdrAddress"]).expect_code(2);
    says(&out.stderr, "the closest: getOrderAddress");
    says(&out.stderr, "vault api --list");
    let out = env.run(&["api", "p", "getOrderAddress"]).expect_code(2);
    says(&out.stderr, "needs its path parameter orderId");
    says(&out.stderr, "orderId=");
    let out = env
        .run(&[
            "api",
            "p",
            "ordersV0.getOrders",
            "MarketplaceId=A1PA6795UKMFR9",
        ])
        .expect_code(2);
    says(&out.stderr, "did you mean MarketplaceIds");
    assert_eq!(standin.spapi_calls().len(), calls, "none of these was sent");

    // An unknown path is still sent, with one line saying so.
    let out = env.run(&["api", "p", "/brand-new/2027-01-01/things"]).ok();
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    says(&out.stderr, "no operation in Amazon's models");
}

#[test]
fn jq_filters_each_answer_and_each_page() {
    let (standin, env) = logged_in_with_spapi();
    let out = env
        .run(&[
            "api",
            "p",
            "getMarketplaceParticipations",
            "--jq",
            ".payload[].marketplace.countryCode",
        ])
        .ok();
    assert_eq!(out.stdout, "DE\n");
    standin.queue_spapi(Canned::json(
        200,
        r#"{"payload":{"Orders":[{"AmazonOrderId":"1"}],"NextToken":"t2"}}"#,
    ));
    standin.queue_spapi(Canned::json(
        200,
        r#"{"payload":{"Orders":[{"AmazonOrderId":"2"},{"AmazonOrderId":"3"}]}}"#,
    ));
    let out = env
        .run(&[
            "api",
            "p",
            "ordersV0.getOrders",
            "MarketplaceIds=A1PA6795UKMFR9",
            "--paginate",
            "--jq",
            ".payload.Orders[] | {id: .AmazonOrderId}",
        ])
        .ok();
    assert_eq!(
        out.stdout,
        "{\"id\":\"1\"}\n{\"id\":\"2\"}\n{\"id\":\"3\"}\n"
    );
    let out = env
        .run(&[
            "api",
            "p",
            "getMarketplaceParticipations",
            "--jq",
            ".payload[",
        ])
        .expect_code(2);
    says(&out.stderr, "not valid jq syntax");
}

#[test]
fn the_operations_are_listed_and_completed() {
    let env = Env::new();
    let out = env.run(&["api", "--list", "--json"]).ok();
    let all = out.json();
    assert!(all.as_array().unwrap().len() > 350);
    let get_orders = all
        .as_array()
        .unwrap()
        .iter()
        .find(|op| op["name"] == "ordersV0.getOrders")
        .unwrap();
    assert_eq!(get_orders["rate"], 0.0167);
    assert_eq!(get_orders["burst"], 20);
    assert_eq!(get_orders["restricted"], "with data elements");
    let unknown_plan = all
        .as_array()
        .unwrap()
        .iter()
        .find(|op| op["operation"] == "listReplenishmentOrders")
        .unwrap();
    assert!(unknown_plan["rate"].is_null(), "unknown, never guessed");

    let out = env.run(&["api", "--list", "orderAddress"]).ok();
    says(&out.stdout, "getOrderAddress");
    says(&out.stdout, "/orders/v0/orders/{orderId}/address");
    assert!(!out.stdout.contains("getOrderItems"), "{}", out.stdout);

    // Shell completions offer operation names (as the scripts ask at each TAB).
    let complete = |words: &[&str]| {
        let mut command = env.command(&[&["--", "vault", "api", "p"][..], words].concat());
        command.env("SPVAULT_COMPLETE", "fish");
        String::from_utf8_lossy(&command.output().unwrap().stdout).into_owned()
    };
    let offered = complete(&["getOrderAdd"]);
    assert!(
        offered.lines().any(|l| l.starts_with("getOrderAddress")),
        "{offered}"
    );
    let offered = complete(&["ordersV0.getOrd"]);
    assert!(
        offered.lines().any(|l| l.starts_with("ordersV0.getOrders")),
        "{offered}"
    );
}

#[test]
fn the_committed_table_is_what_the_models_generate() {
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sp-api-models");
    if !models.is_dir() {
        eprintln!(
            "no {}: the table's up-to-date check is skipped",
            models.display()
        );
        return;
    }
    let python = std::env::var("SPVAULT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "scripts/gen-operations.py",
            "../shared/sp-api-models",
            "--check",
            "src/api/operations/table.rs",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn grantless_operations_are_called_with_a_grantless_token_of_their_scope() {
    let (standin, env) = logged_in_with_spapi();
    env.run(&["api", "p", "getDestinations"]).ok();
    let token_request = standin.seen().pop().unwrap();
    assert_eq!(token_request.grant_type, "client_credentials");
    assert_eq!(token_request.scope, "sellingpartnerapi::notifications");
    let call = standin.spapi_calls().pop().unwrap();
    assert_eq!(call.path, "/notifications/v1/destinations");
    assert_eq!(
        call.access_token, "Atza|standin-2",
        "not the seller's token"
    );
    let logged = env.run(&["audit", "--event", "api", "--json"]).ok().json();
    assert_eq!(logged[0]["credential"], "grantless_token", "{logged}");
    assert_eq!(logged[0]["operation"], "getDestinations");
}

#[test]
fn a_wait_for_the_usage_plan_is_announced_at_a_terminal() {
    if !have("script") {
        return;
    }
    let (standin, env) = logged_in_with_spapi();
    // listTransactions: 0.5 requests/s, so the token after a 429 is 2 s away.
    standin.queue_spapi(Canned::json(
        429,
        r#"{"errors":[{"code":"QuotaExceeded","message":"slow down"}]}"#,
    ));
    standin.queue_spapi(Canned::json(200, r#"{"payload":{"transactions":[]}}"#));
    let mut terminal = Terminal::start(&env, &["api", "p", "listTransactions"]);
    terminal.expect("waiting 2s for listTransactions: Amazon throttled it");
    terminal.expect("0.5 requests/s (burst 10)");
    let (status, screen) = terminal.finish();
    assert_eq!(status, 0, "{screen}");
    assert_eq!(standin.spapi_calls().len(), 2);
}

#[test]
fn a_cached_token_amazon_refuses_is_refreshed_once_then_the_fix_is_named() {
    let (standin, env) = logged_in_with_spapi();
    let refused = || {
        Canned::json(
            401,
            r#"{"errors":[{"code":"Unauthorized","message":"The access token you provided is revoked, malformed or invalid.","details":""}]}"#,
        )
    };
    standin.queue_spapi(refused());
    let out = env.run(&["api", "p", "getMarketplaceParticipations"]).ok();
    says(&out.stderr, "refreshing it once");
    assert_eq!(standin.requests(), 2, "one more LWA refresh");
    let calls = standin.spapi_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].access_token, "Atza|standin-2", "the fresh token");

    standin.queue_spapi(refused());
    standin.queue_spapi(refused());
    let out = env
        .run(&["api", "p", "getMarketplaceParticipations"])
        .expect_code(6);
    says(&out.stderr, "vault refresh p --force");
}

#[test]
fn network_errors_name_the_address() {
    let (_standin, mut env) = logged_in_with_spapi();
    let port = free_port();
    env.set("SPVAULT_SPAPI_URL", &format!("http://127.0.0.1:{port}"));
    env.set("SPVAULT_NETWORK_TIMEOUT", "2s");
    let out = env
        .run(&["api", "p", "getMarketplaceParticipations"])
        .expect_code(7);
    says(&out.stderr, &format!("http://127.0.0.1:{port}"));
    says(&out.stderr, "unreachable");
}
