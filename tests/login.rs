//! `vault login`: the consent flow with the stand-in playing Seller Central and LWA.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::lwa_standin::Consent;
use support::*;

const CODE: &str = "RHxAuthCode0001";
const SELLER: &str = "A3SELLER0001";

/// A stand-in, an env using it for LWA and Seller Central, and an app with the given
/// redirect URI (or none).
fn setup(redirect_uri: Option<&str>, draft: bool) -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.init_fast();
    let mut extra = Vec::new();
    if let Some(uri) = redirect_uri {
        extra.extend(["--redirect-uri", uri]);
    }
    if draft {
        extra.push("--draft");
    }
    env.add_main_app_with(CLIENT_SECRET, &extra).ok();
    standin.add_client(CLIENT_ID, CLIENT_SECRET);
    env.set("SPVAULT_LWA_TOKEN_URL", &standin.token_url());
    env.set("SPVAULT_CONSENT_BASE_URL", &standin.base_url());
    env.run(&["add-profile", "p", "--region", "eu", "--marketplace", "DE"])
        .ok();
    (standin, env)
}

fn approve(refresh_token: &str) -> Consent {
    Consent::Approve {
        client_id: CLIENT_ID.into(),
        code: CODE.into(),
        refresh_token: refresh_token.into(),
        selling_partner_id: SELLER.into(),
    }
}

/// A running `vault login` whose stderr is read line by line.
struct Login {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Login {
    fn start(env: &Env, args: &[&str]) -> Login {
        let mut child = env
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let stdin = child.stdin.take();
        Login {
            child: Some(child),
            stdin,
            lines,
        }
    }

    /// The next address printed on stderr that contains `part`.
    fn url_with(&self, part: &str) -> url::Url {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("vault printed an address");
            let line = line.trim();
            if line.starts_with("http") && line.contains(part) {
                return url::Url::parse(line).unwrap();
            }
        }
    }

    fn paste(&mut self, address: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{address}").unwrap();
        stdin.flush().unwrap();
    }

    fn finish(mut self) -> Out {
        drop(self.stdin.take());
        let child = self.child.take().unwrap();
        let mut out = finish(child, "", Duration::from_secs(60));
        // The reader thread may still hold the last lines: take them until it ends.
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push(line);
        }
        out.stderr = rest.join("\n");
        out
    }
}

/// A `$BROWSER` for the tests: it records its arguments in `browser-args`, reads the
/// page spvault opened (a `file://` address), and runs `then` with the address that
/// page forwards to in `$url`.
fn browser(env: &Env, then: &str) -> String {
    let script = env.path("browser.sh");
    let record = env.path("browser-args");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nurl=$(sed -n 's/.*http-equiv=\"refresh\" content=\"0;url=\\([^\"]*\\)\".*/\\1/p' \"${{1#file://}}\" | sed 's/&amp;/\\&/g')\n{then}\n",
            record.display()
        ),
    )
    .unwrap();
    format!("sh {}", script.display())
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

#[test]
fn listener_flow_end_to_end_with_a_browser_script() {
    if !have("curl") {
        return;
    }
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/spvault/callback");
    let (standin, mut env) = setup(Some(&redirect), true);
    env.set("BROWSER", &browser(&env, "curl -sSL -o /dev/null \"$url\""));
    standin.on_consent(approve(REFRESH_TOKEN));
    let out = env.run(&["login", "p"]).ok();
    assert!(
        out.stdout
            .contains("Authorized profile 'p' for selling partner A3SELLER0001"),
        "{}",
        out.stdout
    );

    let visit = &standin.consent_visits()[0];
    assert_eq!(visit["application_id"], APP_ID);
    assert_eq!(visit["version"], "beta");
    assert_eq!(visit["redirect_uri"], redirect);
    assert!(visit["state"].len() >= 32, "state of at least 128 bits");
    let exchange = standin
        .seen()
        .into_iter()
        .find(|s| s.grant_type == "authorization_code")
        .unwrap();
    assert_eq!(exchange.code, CODE);
    assert_eq!(exchange.redirect_uri, redirect);
    assert_eq!(exchange.client_secret, CLIENT_SECRET);

    let row = &env.profiles_json()[0];
    assert_eq!(row["selling_partner_id"], SELLER);
    assert_eq!(row["refresh_token_present"], true);
    assert_eq!(row["access_token_status"], "valid");
    let vars = env
        .run(&["env", "p", "--with-secrets", "--format", "json"])
        .ok()
        .json();
    assert_eq!(vars["SP_API_REFRESH_TOKEN"], REFRESH_TOKEN);
    assert_eq!(vars["SP_API_SELLING_PARTNER_ID"], SELLER);
}

#[test]
fn listen_flag_receives_what_the_relay_page_forwards() {
    if !have("curl") {
        return;
    }
    let (standin, mut env) = setup(Some("https://relay.example.com/spvault.html"), false);
    let port = free_port();
    // Plays the browser and docs/oauth-relay.html: follow the consent page to its
    // redirect, then forward that query string to the local listener.
    let relay = browser(
        &env,
        &format!(
            "loc=$(curl -s -o /dev/null -w '%{{redirect_url}}' \"$url\")\ncurl -s -o /dev/null \"http://127.0.0.1:{port}/callback?${{loc#*\\?}}\""
        ),
    );
    env.set("BROWSER", &relay);
    standin.on_consent(approve(REFRESH_TOKEN));
    let out = env.run(&["login", "p", "--listen", &port.to_string()]).ok();
    assert!(
        out.stdout.contains("Authorized profile 'p'"),
        "{}",
        out.stdout
    );
    assert_eq!(
        standin.consent_visits()[0].get("version"),
        None,
        "not a draft"
    );
}

#[test]
fn paste_flow_from_stdin() {
    let (standin, env) = setup(None, false);
    standin.add_code(CLIENT_ID, CODE, REFRESH_TOKEN);
    let mut login = Login::start(&env, &["login", "p", "--no-browser"]);
    let consent = login.url_with("/apps/authorize/consent");
    assert_eq!(consent.origin().ascii_serialization(), standin.base_url());
    assert_eq!(query(&consent, "application_id").as_deref(), Some(APP_ID));
    assert_eq!(query(&consent, "redirect_uri"), None);
    let state = query(&consent, "state").unwrap();
    login.paste("this is not an address");
    login.paste(&format!("https://app.example.com/cb?state={state}&selling_partner_id={SELLER}&spapi_oauth_code={CODE}"));
    let out = login.finish().ok();
    assert!(
        out.stdout
            .contains("Authorized profile 'p' for selling partner A3SELLER0001"),
        "{}",
        out.stdout
    );
    let row = &env.profiles_json()[0];
    assert_eq!(row["refresh_token_present"], true);
    // A consent-flow authorization lapses after 365 days; check warns ahead of it.
    let authorized: jiff::Timestamp = row["authorized_at"].as_str().unwrap().parse().unwrap();
    let lapses: jiff::Timestamp = row["authorization_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(lapses.duration_since(authorized).as_hours(), 365 * 24);
    assert!(env.run(&["list"]).ok().stdout.contains("days left"));
    let check = env
        .run(&["check", "--within", "400d", "--json"])
        .expect_code(6)
        .json();
    assert!(
        check["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "authorization_expiring" && p["profile"] == "p"),
        "{check}"
    );
    let apps = env.run(&["app", "list", "--json"]).ok().json();
    assert_eq!(apps[0]["consent_flow_authorized"], 1);
}

#[test]
fn login_uri_hand_off_then_a_second_paste() {
    let (standin, env) = setup(Some("https://app.example.com/cb"), true);
    standin.add_code(CLIENT_ID, CODE, REFRESH_TOKEN);
    let mut login = Login::start(&env, &["login", "p", "--no-browser"]);
    let consent = login.url_with("/apps/authorize/consent");
    let state = query(&consent, "state").unwrap();
    login.paste("https://app.example.com/login?amazon_callback_uri=%2Fapps%2Fauthorize%2Fconfirm&amazon_state=AS-77&selling_partner_id=A3SELLER0001");
    let continuation = login.url_with("/apps/authorize/confirm");
    assert_eq!(
        continuation.origin().ascii_serialization(),
        standin.base_url()
    );
    assert_eq!(
        query(&continuation, "amazon_state").as_deref(),
        Some("AS-77")
    );
    assert_eq!(query(&continuation, "state"), Some(state.clone()));
    assert_eq!(
        query(&continuation, "redirect_uri").as_deref(),
        Some("https://app.example.com/cb")
    );
    assert_eq!(query(&continuation, "version").as_deref(), Some("beta"));
    login.paste(&format!("https://app.example.com/cb?state={state}&selling_partner_id={SELLER}&spapi_oauth_code={CODE}"));
    let out = login.finish().ok();
    assert!(out.stdout.contains("Authorized"), "{}", out.stdout);
}

#[test]
fn a_wrong_state_stores_nothing() {
    let (standin, env) = setup(None, false);
    standin.add_code(CLIENT_ID, CODE, REFRESH_TOKEN);
    let before = env.vault_bytes();
    let mut login = Login::start(&env, &["login", "p", "--no-browser"]);
    login.url_with("/apps/authorize/consent");
    login.paste(&format!("https://app.example.com/cb?state=0000forged&selling_partner_id={SELLER}&spapi_oauth_code={CODE}"));
    let out = login.finish().expect_code(1);
    assert!(out.stderr.contains("forged"), "{}", out.stderr);
    assert_eq!(env.vault_bytes(), before);
    assert!(standin.seen().is_empty(), "the code was not exchanged");
}

#[test]
fn an_access_denied_redirect_is_shown() {
    if !have("curl") {
        return;
    }
    let port = free_port();
    let (standin, mut env) = setup(Some(&format!("http://localhost:{port}/cb")), false);
    env.set("BROWSER", &browser(&env, "curl -sSL -o /dev/null \"$url\""));
    standin.on_consent(Consent::Deny);
    let before = env.vault_bytes();
    let out = env.run(&["login", "p"]).expect_code(1);
    assert!(
        out.stderr.contains("access_denied") && out.stderr.contains("The seller declined"),
        "{}",
        out.stderr
    );
    assert_eq!(env.vault_bytes(), before);
}

#[test]
fn a_code_exchanged_twice_fails_with_exit_6() {
    let (standin, env) = setup(None, false);
    standin.add_code(CLIENT_ID, CODE, REFRESH_TOKEN);
    for expected in [0, 6] {
        let mut login = Login::start(&env, &["login", "p", "--no-browser"]);
        let state = query(&login.url_with("/apps/authorize/consent"), "state").unwrap();
        login.paste(&format!(
            "https://app.example.com/cb?state={state}&spapi_oauth_code={CODE}"
        ));
        let out = login.finish().expect_code(expected);
        if expected == 6 {
            assert!(
                out.stderr.contains("invalid_grant")
                    && out.stderr.contains("5 minutes")
                    && out.stderr.contains("redirect URI")
                    && out.stderr.contains("vault login p"),
                "{}",
                out.stderr
            );
        }
    }
    assert_eq!(
        env.profiles_json()[0]["refresh_token_present"],
        true,
        "the first login's token stays"
    );
}

/// The listening socket's local address, from /proc/net/tcp (hex, little-endian IPv4).
fn listening_address(port: u16) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (address, hex_port) = fields.get(1)?.split_once(':')?;
        (u16::from_str_radix(hex_port, 16).ok()? == port && fields.get(3) == Some(&"0A"))
            .then(|| address.to_owned())
    })
}

#[test]
fn the_listener_binds_only_to_127_0_0_1_and_times_out() {
    let port = free_port();
    let (_standin, env) = setup(Some(&format!("http://127.0.0.1:{port}/cb")), false);
    let login = Login::start(&env, &["login", "p", "--no-browser", "--timeout", "3s"]);
    login.url_with("/apps/authorize/consent");
    let mut address = None;
    for _ in 0..100 {
        address = listening_address(port);
        if address.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        address.as_deref(),
        Some("0100007F"),
        "listening on 127.0.0.1 only"
    );
    // A request to another path is ignored, and the wait goes on.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /other HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let out = login.finish().expect_code(1);
    assert!(out.stderr.contains("timeout"), "{}", out.stderr);
}

#[test]
fn paste_mode_times_out() {
    let (_standin, env) = setup(None, false);
    let login = Login::start(&env, &["login", "p", "--no-browser", "--timeout", "1s"]);
    std::thread::sleep(Duration::from_secs(2));
    let out = login.finish().expect_code(1);
    assert!(out.stderr.contains("before the timeout"), "{}", out.stderr);
}

#[test]
fn self_authorized_prompts_on_the_terminal() {
    if !have("script") {
        return;
    }
    let (standin, env) = setup(None, false);
    standin.add_refresh_token(CLIENT_ID, REFRESH_TOKEN);
    standin.add_refresh_token(CLIENT_ID, "Atzr|revoked");
    standin.revoke("Atzr|revoked");
    for (token, code) in [("Atzr|revoked", 6), (REFRESH_TOKEN, 0)] {
        let mut terminal = Terminal::start(&env, &["login", "p", "--self-authorized"]);
        // Type only once the prompt is up (and echo is off), as a person would.
        terminal.expect("Refresh token (Atzr|...): ");
        terminal.type_line(token);
        let (status, screen) = terminal.finish();
        assert_eq!(status, code, "{screen}");
        assert!(screen.contains("Develop Apps"), "guidance shown: {screen}");
        assert!(!screen.contains(token), "the token was echoed: {screen}");
        let stored = env.profiles_json()[0]["refresh_token_present"]
            .as_bool()
            .unwrap();
        assert_eq!(stored, code == 0);
    }
}

/// Sends one request to the listener as any local process could; returns the answer.
fn local_request(port: u16, host: &str, target: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
    answer
}

#[test]
fn other_local_processes_can_neither_take_the_state_nor_end_the_login() {
    if !have("curl") {
        return;
    }
    let port = free_port();
    let (standin, mut env) = setup(Some(&format!("http://127.0.0.1:{port}/cb")), false);
    // The browser waits for the test's go-ahead, so the attacks come first.
    let go = env.path("go");
    let wait = format!(
        "i=0; while [ ! -e '{}' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\ncurl -sSL -o /dev/null \"$url\"",
        go.display()
    );
    env.set("BROWSER", &browser(&env, &wait));
    standin.on_consent(approve(REFRESH_TOKEN));
    let login = Login::start(&env, &["login", "p", "--timeout", "60s"]);
    let consent = login.url_with("/apps/authorize/consent");
    let state = query(&consent, "state").unwrap();
    for _ in 0..250 {
        if listening_address(port).is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let us = format!("127.0.0.1:{port}");
    // 1. A forged Login-URI hand-off to another host gets no state back.
    for hostile in [
        "https%3A%2F%2Famazon.evil.example%2Fx",
        "https%3A%2F%2Fsellercentral.amazon.com.evil.example%2F",
        "%2F%2Fevil.example%2F",
    ] {
        let answer = local_request(
            port,
            &us,
            &format!("/cb?amazon_callback_uri={hostile}&amazon_state=y"),
        );
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(!answer.contains(&state), "the state leaked: {answer}");
    }
    // 2. A callback with a wrong or missing state does not end the login.
    for forged in [
        "/cb?state=0000forged&spapi_oauth_code=attacker",
        "/cb?spapi_oauth_code=attacker",
    ] {
        assert!(local_request(port, &us, forged).starts_with("HTTP/1.1 400"));
    }
    // 3. A request naming another host (DNS rebinding) is not processed at all.
    let rebound = local_request(
        port,
        &format!("evil.example:{port}"),
        &format!("/cb?state={state}&spapi_oauth_code=attacker"),
    );
    assert!(rebound.starts_with("HTTP/1.1 400"), "{rebound}");
    // The real browser still completes the login, with the real code.
    std::fs::write(&go, "").unwrap();
    let out = login.finish().ok();
    assert!(
        out.stdout.contains("Authorized profile 'p'"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("Ignored a request"), "{}", out.stderr);
    let exchanges: Vec<_> = standin
        .seen()
        .into_iter()
        .filter(|s| s.grant_type == "authorization_code")
        .collect();
    assert_eq!(exchanges.len(), 1);
    assert_eq!(exchanges[0].code, CODE);
    // 4. The state never was in the browser's arguments (readable by every user).
    let args = std::fs::read_to_string(env.path("browser-args")).unwrap();
    assert!(args.starts_with("file://"), "{args}");
    assert!(!args.contains(&state), "the state was in argv: {args}");
}

#[test]
fn the_browser_never_gets_the_keys_to_the_vault() {
    if !have("curl") {
        return;
    }
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/spvault/callback");
    let (standin, mut env) = setup(Some(&redirect), true);
    let seen = env.path("browser-env");
    env.set(
        "BROWSER",
        &browser(
            &env,
            &format!(
                "env > '{}'; curl -sSL -o /dev/null \"$url\"",
                seen.display()
            ),
        ),
    );
    env.set("BAO_TOKEN", "s.bao-token-0001");
    env.set("VAULT_TOKEN", "s.vault-token-0001");
    env.set("SPVAULT_NEW_PASSPHRASE", "the next one");
    standin.on_consent(approve(REFRESH_TOKEN));
    env.run(&["login", "p"]).ok();
    let seen = std::fs::read_to_string(seen).unwrap();
    assert!(seen.contains("PATH="), "{seen}");
    for name in [
        "SPVAULT_PASSPHRASE",
        "SPVAULT_NEW_PASSPHRASE",
        "BAO_TOKEN",
        "VAULT_TOKEN",
    ] {
        assert!(
            !seen.contains(&format!("{name}=")),
            "{name} reached the browser"
        );
    }
    assert!(
        !seen.contains(PASSPHRASE),
        "the passphrase reached the browser"
    );
}
