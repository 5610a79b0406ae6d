//! `vault proxy`: SP-API for programs that hold no credential, against the stand-in
//! playing LWA and SP-API, and a real Redis for shared limits.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;

struct Proxying {
    child: Child,
    addr: String,
    key: String,
    log: Arc<Mutex<String>>,
}

impl Drop for Proxying {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxying {
    /// What the proxy wrote to stderr, once it holds `expected` (within 10 s: the
    /// reading thread may lag behind on a busy machine).
    fn log_with(&self, expected: &str) -> String {
        let started = Instant::now();
        loop {
            let log = self.log.lock().unwrap().clone();
            if log.contains(expected) || started.elapsed() > Duration::from_secs(10) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts `vault proxy PROFILES EXTRA…` and waits until it says it proxies.
fn proxy(env: &Env, profiles: &[&str], extra: &[&str]) -> Proxying {
    let addr = format!("127.0.0.1:{}", free_port());
    let key_file = env.path(&format!("proxy-{}.key", addr.replace([':', '.'], "-")));
    let mut args = vec!["proxy"];
    args.extend_from_slice(profiles);
    args.extend(["--listen", &addr, "--key-file", key_file.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let mut child = env
        .command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("proxy says something").unwrap();
    assert!(
        first.starts_with("Proxying SP-API for"),
        "{first}\n{}",
        log.lock().unwrap()
    );
    std::thread::spawn(move || lines.for_each(drop));
    assert_eq!(mode(&key_file), 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    Proxying {
        child,
        addr,
        key,
        log,
    }
}

/// One HTTP/1.1 request: the status, the headers (lower case) and the body.
fn request(addr: &str, head: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{head}\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (headers, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = headers.split(' ').nth(1).unwrap().parse().unwrap();
    (status, headers.to_ascii_lowercase(), body.to_owned())
}

fn get(addr: &str, path: &str, token: &str) -> (u16, String, String) {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nx-amz-access-token: {token}"),
        "",
    )
}

/// No real credential of profile `p`, nor the proxy's own key, in what a client got.
#[track_caller]
fn no_real_token_in(text: &str) {
    for secret in [REFRESH_TOKEN, "Atza|standin", "Atz.sprdt|", CLIENT_SECRET] {
        assert!(!text.contains(secret), "{secret} in: {text}");
    }
}

#[test]
fn requests_go_to_the_profiles_host_with_the_real_token_and_only_with_the_key() {
    let (standin, env) = logged_in_with_spapi();
    let proxy = proxy(&env, &["p"], &[]);
    let participations = "/sellers/v1/marketplaceParticipations";

    // No key: 401 in Amazon's form, and nothing reaches Amazon.
    let (status, _, body) = get(&proxy.addr, &format!("/p{participations}"), "not-the-key");
    assert_eq!(status, 401);
    assert!(body.contains(r#""errors""#), "{body}");
    assert!(standin.spapi_calls().is_empty());

    let (status, _, body) = get(&proxy.addr, &format!("/p{participations}?x=1"), &proxy.key);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("A1PA6795UKMFR9"), "{body}");
    no_real_token_in(&body);
    let call = standin.spapi_calls().pop().unwrap();
    assert_eq!(call.path, participations);
    assert_eq!(call.query, [("x".to_owned(), "1".to_owned())]);
    assert_eq!(
        call.access_token, "Atza|standin-1",
        "the real token, not the key"
    );

    // With one profile, the profile may be left out of the path.
    let (status, _, _) = get(&proxy.addr, participations, &proxy.key);
    assert_eq!(status, 200);
    // Also as a bearer token; a body and its method are passed on.
    let (status, _, _) = request(
        &proxy.addr,
        &format!(
            "POST /p/reports/2021-06-30/reports HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json",
            proxy.key
        ),
        r#"{"reportType":"GET_FLAT_FILE_OPEN_LISTINGS_DATA"}"#,
    );
    assert_eq!(status, 200);
    let call = standin.spapi_calls().pop().unwrap();
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/reports/2021-06-30/reports")
    );
    assert_eq!(
        call.body,
        r#"{"reportType":"GET_FLAT_FILE_OPEN_LISTINGS_DATA"}"#
    );

    // Not an open proxy.
    let calls = standin.spapi_calls().len();
    for head in [
        "CONNECT example.com:443 HTTP/1.1".to_owned(),
        format!(
            "GET http://example.com/sellers/v1/marketplaceParticipations HTTP/1.1\r\nx-amz-access-token: {}",
            proxy.key
        ),
        format!(
            "GET //example.com/x HTTP/1.1\r\nx-amz-access-token: {}",
            proxy.key
        ),
    ] {
        let (status, _, _) = request(&proxy.addr, &head, "");
        assert_eq!(status, 400, "{head}");
    }
    assert_eq!(standin.spapi_calls().len(), calls);

    // The stand-in never saw the key; the log names the operation, never a token.
    assert!(
        standin
            .spapi_calls()
            .iter()
            .all(|c| !c.access_token.contains(&proxy.key))
    );
    let log = proxy.log_with("p getMarketplaceParticipations 200");
    assert!(log.contains("p getMarketplaceParticipations 200"), "{log}");
    no_real_token_in(&log);
    assert!(!log.contains(&proxy.key), "{log}");
}

#[test]
fn an_sdk_gets_a_proxy_token_from_the_proxys_lwa_endpoint() {
    let (standin, env) = logged_in_with_spapi();
    let proxy = proxy(&env, &["p"], &[]);
    let form = format!(
        "grant_type=refresh_token&refresh_token={}&client_id=placeholder&client_secret=placeholder",
        proxy.key
    );
    let (status, _, body) = request(
        &proxy.addr,
        "POST /auth/o2/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        &form,
    );
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["token_type"], "bearer");
    assert_eq!(answer["expires_in"], 3600);
    let token = answer["access_token"].as_str().unwrap().to_owned();
    assert_ne!(token, proxy.key);
    no_real_token_in(&body);
    let (status, _, _) = get(
        &proxy.addr,
        "/p/sellers/v1/marketplaceParticipations",
        &token,
    );
    assert_eq!(status, 200);
    assert_eq!(
        standin.spapi_calls().pop().unwrap().access_token,
        "Atza|standin-1"
    );
    let seen = format!("{:?}{:?}", standin.seen(), standin.spapi_calls());
    assert!(
        !seen.contains(&token),
        "the stand-in never sees a proxy token"
    );

    // JSON works too; a wrong refresh token gets 401.
    let json = format!(
        r#"{{"grant_type":"refresh_token","refresh_token":"{}"}}"#,
        proxy.key
    );
    let (status, _, _) = request(
        &proxy.addr,
        "POST /auth/o2/token HTTP/1.1\r\nContent-Type: application/json",
        &json,
    );
    assert_eq!(status, 200);
    let (status, _, body) = request(
        &proxy.addr,
        "POST /auth/o2/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        "grant_type=refresh_token&refresh_token=guess",
    );
    assert_eq!(status, 401);
    assert!(body.contains("errors"), "{body}");
}

#[test]
fn restricted_operations_get_a_real_rdt_and_clients_only_a_proxy_token() {
    let (standin, env) = logged_in_with_spapi();
    let proxy = proxy(&env, &["p"], &[]);
    let address = "/orders/v0/orders/902-1/address";
    let (status, _, body) = get(&proxy.addr, &format!("/p{address}"), &proxy.key);
    assert_eq!(status, 200, "{body}");
    let calls = standin.spapi_calls();
    assert_eq!(calls[0].path, "/tokens/2021-03-01/restrictedDataToken");
    assert_eq!(calls[1].path, address);
    assert!(calls[1].access_token.starts_with("Atz.sprdt|"));
    // Reused while valid.
    get(&proxy.addr, &format!("/p{address}"), &proxy.key);
    assert_eq!(standin.spapi_calls().len(), 3);

    // Data elements from the header, for getOrders.
    let (status, _, _) = request(
        &proxy.addr,
        &format!(
            "GET /p/orders/v0/orders?MarketplaceIds=A1PA6795UKMFR9 HTTP/1.1\r\nx-amz-access-token: {}\r\nx-spvault-data-elements: buyerInfo,shippingAddress",
            proxy.key
        ),
        "",
    );
    assert_eq!(status, 200);
    let calls = standin.spapi_calls();
    let rdt: serde_json::Value = serde_json::from_str(&calls[3].body).unwrap();
    assert_eq!(
        rdt["restrictedResources"][0]["dataElements"],
        serde_json::json!(["buyerInfo", "shippingAddress"])
    );

    // Client code asking for an RDT itself gets a proxy token standing for it.
    let (status, _, body) = request(
        &proxy.addr,
        &format!(
            "POST /p/tokens/2021-03-01/restrictedDataToken HTTP/1.1\r\nx-amz-access-token: {}\r\nContent-Type: application/json",
            proxy.key
        ),
        &format!(r#"{{"restrictedResources":[{{"method":"GET","path":"{address}"}}]}}"#),
    );
    assert_eq!(status, 200, "{body}");
    no_real_token_in(&body);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let proxy_rdt = answer["restrictedDataToken"].as_str().unwrap().to_owned();
    assert!(answer["expiresIn"].as_u64().unwrap() > 0);
    let before = standin.spapi_calls().len();
    let (status, _, _) = get(&proxy.addr, &format!("/p{address}"), &proxy_rdt);
    assert_eq!(status, 200);
    let calls = standin.spapi_calls();
    assert_eq!(
        calls.len(),
        before + 1,
        "no RDT request: the client's stands for one"
    );
    assert!(calls[before].access_token.starts_with("Atz.sprdt|"));
}

#[test]
fn metrics_are_served_with_the_key() {
    let (_standin, env) = logged_in_with_spapi();
    let proxy = proxy(&env, &["p"], &[]);
    get(
        &proxy.addr,
        "/p/sellers/v1/marketplaceParticipations",
        &proxy.key,
    );
    let (status, _, _) = get(&proxy.addr, "/_spvault/metrics", "wrong");
    assert_eq!(status, 401);
    let (status, _, text) = get(&proxy.addr, "/_spvault/metrics", &proxy.key);
    assert_eq!(status, 200);
    for wanted in [
        r#"spvault_proxy_requests_total{profile="p",operation="getMarketplaceParticipations",status="200"} 1"#,
        r#"spvault_proxy_upstream_responses_total{operation="getMarketplaceParticipations",status="200"} 1"#,
        "spvault_proxy_wait_seconds_bucket",
        "spvault_proxy_upstream_seconds_bucket",
        "spvault_proxy_shared_limits_up 0",
    ] {
        assert!(text.contains(wanted), "{wanted} not in:\n{text}");
    }
}

/// Eight clients call getItemOffers (0.5 requests/s, burst 1) through `proxies`
/// for `seconds`: Amazon never sees more than its usage plan allows, and every
/// client gets its answer or a 429 with Retry-After in time.
fn eight_clients_share_one_usage_plan(standin: &StandIn, proxies: &[&Proxying], seconds: u64) {
    let path =
        "/p/products/pricing/v0/items/B0TEST/offers?MarketplaceId=A1PA6795UKMFR9&ItemCondition=New";
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let before = standin.spapi_calls().len();
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let (addr, key) = (
                proxies[i % proxies.len()].addr.clone(),
                proxies[i % proxies.len()].key.clone(),
            );
            std::thread::spawn(move || {
                let mut answers = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let (status, headers, _) = get(&addr, path, &key);
                    answers.push((status, headers.contains("retry-after:"), sent.elapsed()));
                }
                answers
            })
        })
        .collect();
    let answers: Vec<(u16, bool, Duration)> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    let upstream = standin.spapi_calls().len() - before;
    let allowed = 1.0 + 0.5 * elapsed + 1.0;
    assert!(
        upstream as f64 <= allowed,
        "Amazon saw {upstream} requests in {elapsed:.1} s; the plan allows {allowed:.1}"
    );
    assert!(upstream >= 5, "only {upstream} requests went through");
    for (status, retry_after, took) in &answers {
        assert!(*status == 200 || *status == 429, "status {status}");
        if *status == 429 {
            assert!(retry_after, "a 429 says when to retry");
            assert!(
                *took < Duration::from_secs(5),
                "a 429 after --max-wait, took {took:?}"
            );
        }
    }
    assert!(answers.iter().any(|(status, ..)| *status == 429));
}

#[test]
fn eight_clients_never_push_amazon_past_the_usage_plan() {
    let (standin, env) = logged_in_with_spapi();
    let proxy = proxy(&env, &["p"], &["--max-wait", "2s"]);
    eight_clients_share_one_usage_plan(&standin, &[&proxy], 20);
}

#[test]
fn two_proxies_share_the_usage_plan_through_redis() {
    let Ok(redis) = std::env::var("SPVAULT_TEST_REDIS") else {
        skip_or_fail("no Redis server (SPVAULT_TEST_REDIS, started by scripts/test.sh)");
        return;
    };
    let (standin, env) = logged_in_with_spapi();
    // A database of this test's own, emptied first.
    let url = format!("{}/7", redis.trim_end_matches('/'));
    let one = proxy(&env, &["p"], &["--max-wait", "2s", "--shared-limits", &url]);
    let two = proxy(&env, &["p"], &["--max-wait", "2s", "--shared-limits", &url]);
    eight_clients_share_one_usage_plan(&standin, &[&one, &two], 20);
    let (_, _, metrics) = get(&one.addr, "/_spvault/metrics", &one.key);
    assert!(
        metrics.contains("spvault_proxy_shared_limits_up 1"),
        "{metrics}"
    );
}

#[test]
fn an_unreachable_redis_falls_back_to_local_buckets_and_says_so() {
    let (_standin, env) = logged_in_with_spapi();
    let closed = format!("redis://127.0.0.1:{}/0", free_port());
    let proxy = proxy(&env, &["p"], &["--shared-limits", &closed]);
    let (status, _, _) = get(
        &proxy.addr,
        "/p/sellers/v1/marketplaceParticipations",
        &proxy.key,
    );
    assert_eq!(status, 200);
    let log = proxy.log_with("getMarketplaceParticipations 200");
    assert_eq!(
        log.matches("pacing with this proxy's own buckets").count(),
        1,
        "{log}"
    );
    let (_, _, metrics) = get(&proxy.addr, "/_spvault/metrics", &proxy.key);
    assert!(
        metrics.contains("spvault_proxy_shared_limits_up 0"),
        "{metrics}"
    );
}

#[test]
fn exec_with_a_proxy_gives_the_command_no_real_credential() {
    if !have("curl") {
        skip_or_fail("curl is missing");
        return;
    }
    let (standin, mut env) = logged_in_with_spapi();
    // The vault is opened with SPVAULT_PASSPHRASE, as the test environment sets it.
    env.set("BAO_TOKEN", "an OpenBao token");
    let script = r#"curl -sf -H "x-amz-access-token: $SP_API_ACCESS_TOKEN" "$SP_API_ENDPOINT/sellers/v1/marketplaceParticipations" && echo && env"#;
    let out = env
        .run(&[
            "exec",
            "p",
            "--proxy",
            "--preset",
            "python-amazon-sp-api",
            "--",
            "sh",
            "-c",
            script,
        ])
        .ok();
    let (body, environment) = out.stdout.split_once('\n').unwrap();
    assert!(body.contains("A1PA6795UKMFR9"), "{body}");
    no_real_token_in(&out.stdout);
    for absent in [
        "SPVAULT_PASSPHRASE",
        "BAO_TOKEN",
        "the vault's own passphrase",
    ] {
        assert!(
            !environment.contains(absent),
            "{absent} in the child's environment"
        );
    }
    let var = |name: &str| {
        environment
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} not set:\n{environment}"))
            .to_owned()
    };
    assert!(var("SP_API_ENDPOINT").starts_with("http://127.0.0.1:"));
    assert!(var("SP_API_ENDPOINT").ends_with("/p"));
    assert!(var("LWA_TOKEN_ENDPOINT").ends_with("/auth/o2/token"));
    assert_eq!(var("LWA_REFRESH_TOKEN"), var("SP_API_REFRESH_TOKEN"));
    assert_eq!(
        var("LWA_APP_ID"),
        "spvault-proxy-placeholder",
        "the preset's names"
    );
    assert_eq!(var("SPVAULT_PROFILE"), "p");
    assert_eq!(
        standin.spapi_calls().pop().unwrap().access_token,
        "Atza|standin-1"
    );

    // The command's exit status is vault's.
    env.run(&["exec", "p", "--proxy", "--", "sh", "-c", "exit 3"])
        .expect_code(3);
}

/// Runs an SDK's client script under `vault exec p --proxy` and returns its JSON line.
fn through_sdk(env: &Env, command: &[&str]) -> serde_json::Value {
    let mut args = vec!["exec", "p", "--proxy", "--"];
    args.extend_from_slice(command);
    let out = env.run(&args).ok();
    no_real_token_in(&out.stdout);
    no_real_token_in(&out.stderr);
    serde_json::from_str(out.stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr))
}

/// What an SDK got for getMarketplaceParticipations and getOrderAddress, and what
/// the stand-in saw.
#[track_caller]
fn sdk_calls_went_through(standin: &StandIn, answer: &serde_json::Value) {
    let text = answer.to_string();
    assert!(text.contains("A1PA6795UKMFR9"), "{text}");
    assert!(text.contains("902-3159896-1390916"), "{text}");
    let calls = standin.spapi_calls();
    let address = calls
        .iter()
        .find(|c| c.path == "/orders/v0/orders/902-3159896-1390916/address")
        .expect("getOrderAddress reached the stand-in");
    assert!(
        address.access_token.starts_with("Atz.sprdt|"),
        "with a real RDT"
    );
    assert!(
        calls
            .iter()
            .all(|c| !c.access_token.starts_with("spvault-proxy."))
    );
}

/// Runs the Python client script `script` (in tests/clients) through the proxy, when
/// the test venv's Python has `module`.
fn python_client_through_the_proxy(module: &str, package: &str, script: &str) {
    let python = std::env::var("SPVAULT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let installed = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        skip_or_fail(&format!("{package} (PyPI) is not installed"));
        return;
    }
    let (standin, env) = logged_in_with_spapi();
    let script = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let answer = through_sdk(&env, &[&python, &script]);
    sdk_calls_went_through(&standin, &answer);
}

#[test]
fn amazons_python_sdk_works_through_the_proxy_unchanged() {
    python_client_through_the_proxy(
        "spapi",
        "Amazon's Python SDK amzn-sp-api",
        "proxy_amzn_sp_api.py",
    );
}

#[test]
fn amazons_javascript_sdk_works_through_the_proxy_unchanged() {
    let sdk = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/node_modules/@amazon-sp-api-release/amazon-sp-api-sdk-js"
    );
    if !have("node") || !std::path::Path::new(sdk).exists() {
        skip_or_fail(
            "Amazon's JavaScript SDK (npm @amazon-sp-api-release/amazon-sp-api-sdk-js) is not installed",
        );
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/proxy_sdk_js.cjs"
    );
    for extra in [None, Some("--sdk-rdt")] {
        let (standin, env) = logged_in_with_spapi();
        let mut command = vec!["node", script];
        command.extend(extra);
        let answer = through_sdk(&env, &command);
        sdk_calls_went_through(&standin, &answer);
        if extra.is_some() {
            assert!(
                standin
                    .spapi_calls()
                    .iter()
                    .any(|c| c.path == "/tokens/2021-03-01/restrictedDataToken"),
                "the SDK asked the proxy for an RDT, and the proxy Amazon"
            );
        }
    }
}

#[test]
fn an_upstream_429_empties_the_bucket_and_is_sent_again_at_its_next_token() {
    let (standin, env) = logged_in_with_spapi();
    let proxy = proxy(&env, &["p"], &["--max-wait", "5s"]);
    // getItemOffers: 0.5 requests/s, burst 1; Amazon's bucket is empty (another app
    // of the seller's, say), though the proxy's is full.
    standin.queue_spapi(Canned::json(
        429,
        r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource."}]}"#,
    ));
    let started = Instant::now();
    let (status, _, body) = get(
        &proxy.addr,
        "/p/products/pricing/v0/items/B0TEST/offers?MarketplaceId=A1PA6795UKMFR9&ItemCondition=New",
        &proxy.key,
    );
    assert_eq!(status, 200, "{body}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "sent again after the next token, took {took:?}"
    );
    assert_eq!(standin.spapi_calls().len(), 2);
    let log = proxy.log_with("getItemOffers 200");
    assert!(
        log.contains("getItemOffers 200 waited=19") || log.contains("getItemOffers 200 waited=2"),
        "{log}"
    );
}

#[test]
fn a_token_amazon_echoes_is_cut_out_before_the_client_sees_it() {
    let (standin, env) = logged_in_with_spapi();
    let proxy = proxy(&env, &["p"], &[]);
    standin.queue_spapi(
        Canned::json(200, r#"{"echo":"Atza|standin-1","piece":"standin-1"}"#)
            .with_header("x-echo", "token=Atza|standin-1"),
    );
    let (status, headers, body) = get(
        &proxy.addr,
        "/p/sellers/v1/marketplaceParticipations",
        &proxy.key,
    );
    assert_eq!(status, 200);
    no_real_token_in(&body);
    no_real_token_in(&headers);
    assert!(body.contains("[redacted]"), "{body}");
    assert!(headers.contains("x-echo: token=[redacted]"), "{headers}");
}

#[test]
fn python_amazon_sp_api_works_through_the_proxy_as_readme_shows() {
    python_client_through_the_proxy("sp_api", "python-amazon-sp-api", "proxy_python_sp_api.py");
}
