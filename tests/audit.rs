//! The access log, through the real binary: an entry for every event class, a chain
//! that `vault audit verify` checks (changed, removed, reordered, cut off), no secret
//! in its bytes, and a full disk that stops the credential.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::*;

const NEW_PASSPHRASE: &str = "another correct horse battery staple";

fn log_path(env: &Env) -> std::path::PathBuf {
    let mut path = env.vault.clone().into_os_string();
    path.push(".audit");
    path.into()
}

/// Every entry `vault audit --json` shows (since long ago).
fn entries(env: &Env) -> Vec<serde_json::Value> {
    env.run(&["audit", "--since", "3650d", "--json"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .clone()
}

fn events(env: &Env) -> Vec<String> {
    entries(env)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

fn lines(env: &Env) -> Vec<String> {
    std::fs::read_to_string(log_path(env))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(env: &Env, lines: &[String]) {
    std::fs::write(log_path(env), lines.join("\n") + "\n").unwrap();
}

/// A server (`serve` or `proxy`) that said it is ready, with its key.
struct Server {
    child: Child,
    addr: String,
    key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(env: &Env, args: &[&str], ready: &str) -> Server {
        let addr = format!("127.0.0.1:{}", free_port());
        let key_file = env.path(&format!("{}.key", args[0]));
        let mut all = args.to_vec();
        all.extend(["--listen", &addr, "--key-file", key_file.to_str().unwrap()]);
        let mut child = env
            .command(&all)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("the server says something").unwrap();
        assert!(first.starts_with(ready), "{first}");
        std::thread::spawn(move || lines.for_each(drop));
        let key = std::fs::read_to_string(&key_file).unwrap();
        Server { child, addr, key }
    }

    /// `GET path` with the key after `header` ("Name: " and any scheme); the status
    /// and the body.
    fn get(&self, path: &str, header: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{header}{}\r\nConnection: close\r\n\r\n",
            self.addr, self.key
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
        (status, body)
    }

    /// Stops it as a service manager would, and waits until it wrote its last entries.
    fn stop(mut self) {
        // SAFETY: kill only sends a signal to the child we started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "it did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn every_event_class_is_logged_and_the_chain_verifies() {
    let (standin, mut env) = logged_in_with_spapi();
    // Vault changes.
    env.run(&["edit-profile", "p", "--marketplace", "FR"]).ok();
    env.run(&["add-profile", "q", "--region", "eu"]).ok();
    env.run(&["rename", "q", "r"]).ok();
    env.run(&["remove", "r", "--yes"]).ok();
    env.run_stdin(
        &[
            "app",
            "set-secret",
            "main",
            "--stdin",
            "--expires",
            "2099-01-01",
        ],
        CLIENT_SECRET,
    )
    .ok();
    let (_, public) = env.new_identity("server.key");
    env.run(&["recipients", "add", "server", &public]).ok();
    env.run(&["recipients", "remove", "server"]).ok();
    let dotenv = env.path(".env");
    std::fs::write(
        &dotenv,
        format!(
            "AMAZON_CLIENT_ID={CLIENT_ID}\nAMAZON_CLIENT_SECRET={CLIENT_SECRET}\nAMAZON_REFRESH_TOKEN={REFRESH_TOKEN}\n"
        ),
    )
    .unwrap();
    env.import_env(&dotenv, "imported").ok();
    env.set("SPVAULT_NEW_PASSPHRASE", NEW_PASSPHRASE);
    env.run(&["passwd"]).ok();
    env.set("SPVAULT_PASSPHRASE", NEW_PASSPHRASE);
    let copy = env.path("copy.toml");
    env.run(&["migrate", "--to", copy.to_str().unwrap()]).ok();
    // Credentials handed out.
    env.run(&["token", "p"]).ok();
    env.run(&["token", "p", "--grantless", "notifications"])
        .ok();
    env.run(&["env", "p", "--preset", "sp-api-sdk"]).ok();
    env.run(&["exec", "p", "--", "true"]).ok();
    env.run(&["api", "p", "/sellers/v1/marketplaceParticipations"])
        .ok();
    env.run(&["check", "p", "--online"]).expect_code(6);
    env.run(&[
        "rdt",
        "p",
        "--resource",
        "GET /orders/v0/orders",
        "--data-elements",
        "buyerInfo,shippingAddress",
    ])
    .ok();
    // Sessions: a wrong passphrase, then unlock and lock.
    env.set("SPVAULT_PASSPHRASE", "not the passphrase");
    env.run(&["list"]).expect_code(3);
    env.set("SPVAULT_PASSPHRASE", NEW_PASSPHRASE);
    env.run(&["unlock"]).ok();
    env.run(&["token", "p"]).ok();
    env.run(&["lock"]).ok();
    // serve and proxy: one entry per client, profile and minute, with a count.
    let serving = Server::start(&env, &["serve", "p"], "Serving");
    for _ in 0..3 {
        let (status, _) = serving.get("/token/p", "Authorization: Bearer ");
        assert_eq!(status, 200);
    }
    let key = serving.key.clone();
    serving.stop();
    let proxying = Server::start(&env, &["proxy", "p"], "Proxying");
    for _ in 0..2 {
        let (status, body) = proxying.get(
            "/p/sellers/v1/marketplaceParticipations",
            "x-amz-access-token: ",
        );
        assert_eq!(status, 200, "{body}");
    }
    proxying.stop();

    let all = entries(&env);
    let events: Vec<&str> = all.iter().map(|e| e["event"].as_str().unwrap()).collect();
    for expected in [
        "init",
        "app_added",
        "profile_added",
        "login",
        "profile_edited",
        "profile_renamed",
        "profile_removed",
        "secret_set",
        "recipient_added",
        "recipient_removed",
        "import",
        "passwd",
        "migrate",
        "token",
        "grantless_token",
        "env",
        "exec",
        "api",
        "rdt",
        "passphrase_failed",
        "unlock",
        "lock",
        "agent_started",
        "agent_stopped",
        "serve",
        "proxy",
    ] {
        assert!(events.contains(&expected), "no {expected} in {events:?}");
    }
    let find = |event: &str| all.iter().find(|e| e["event"] == event).unwrap();
    assert_eq!(find("serve")["count"], 3);
    assert_eq!(find("serve")["who"]["client"], "127.0.0.1");
    assert_eq!(find("proxy")["count"], 2);
    assert_eq!(find("env")["preset"], "sp-api-sdk");
    assert_eq!(find("env")["secrets"], true);
    assert_eq!(find("api")["operation"], "getMarketplaceParticipations");
    assert_eq!(find("api")["status"], 200);
    assert!(
        all.iter()
            .any(|e| e["event"] == "api" && e["subject"] == "vault check --online"),
        "{all:?}"
    );
    assert_eq!(
        find("rdt")["data_elements"],
        serde_json::json!(["buyerInfo", "shippingAddress"])
    );
    assert_eq!(find("profile_renamed")["subject"], "r");
    assert_eq!(find("passphrase_failed")["unsealed"], true);
    let token = find("token");
    assert_eq!(token["profile"], "p");
    assert_eq!(token["app"], "main");
    assert_eq!(token["outcome"], "ok");
    assert!(token["who"]["pid"].as_u64().is_some());
    assert!(token["who"]["exe"].as_str().unwrap().ends_with("vault"));
    // The sequence numbers run without a gap, and the chain verifies.
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let verified = env.run(&["audit", "verify"]).ok();
    assert!(verified.stdout.starts_with("OK: "), "{}", verified.stdout);

    // No secret, token or key in the log's bytes.
    let log = std::fs::read_to_string(log_path(&env)).unwrap();
    let mut secrets = vec![
        CLIENT_SECRET.to_owned(),
        REFRESH_TOKEN.to_owned(),
        PASSPHRASE.to_owned(),
        NEW_PASSPHRASE.to_owned(),
        key,
    ];
    for n in 1..=standin.issued() + 2 {
        secrets.push(format!("standin-{n}"));
    }
    secrets.push("standin-rdt".into());
    for prefix in ["Atza|", "Atzr|", "Atz.sprdt|", "amzn1.oa2-cs"] {
        secrets.push(prefix.into());
    }
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret} is in the log");
    }
}

#[test]
fn verify_names_the_first_entry_changed_removed_reordered_or_cut_off() {
    let (_standin, env) = logged_in("p");
    for _ in 0..3 {
        env.run(&["token", "p"]).ok();
    }
    let original = lines(&env);
    let last = original.len();
    // Changed: one field of entry 2.
    let mut changed = original.clone();
    changed[1] = changed[1].replacen("\"outcome\":\"ok\"", "\"outcome\":\"usage\"", 1);
    assert_ne!(changed[1], original[1]);
    write_lines(&env, &changed);
    let out = env.run(&["audit", "verify"]).expect_code(4);
    assert!(out.stderr.contains("entry 2 was changed"), "{}", out.stderr);
    // Removed: entry 3.
    let mut removed = original.clone();
    removed.remove(2);
    write_lines(&env, &removed);
    let out = env.run(&["audit", "verify"]).expect_code(4);
    assert!(out.stderr.contains("entry 3 is missing"), "{}", out.stderr);
    // Reordered: entries 4 and 5 swapped.
    let mut reordered = original.clone();
    reordered.swap(3, 4);
    write_lines(&env, &reordered);
    let out = env.run(&["audit", "verify"]).expect_code(4);
    assert!(
        out.stderr.contains("entry 4 is missing or out of order"),
        "{}",
        out.stderr
    );
    // Cut off: the last vault write recorded its own entry (the edit), so cutting
    // even that one entry is noticed; token entries after a write could go unnoticed.
    write_lines(&env, &original);
    env.run(&["edit-profile", "p", "--marketplace", "FR"]).ok();
    let recorded = lines(&env).len();
    assert!(lines(&env)[recorded - 1].contains("profile_edited"));
    write_lines(&env, &lines(&env)[..recorded - 1]);
    let out = env.run(&["audit", "verify"]).expect_code(4);
    assert!(
        out.stderr.contains(&format!("recorded entry {recorded}")),
        "{}",
        out.stderr
    );
    // Deleting the whole log is noticed as well.
    std::fs::remove_file(log_path(&env)).unwrap();
    env.run(&["audit", "verify"]).expect_code(4);
    assert!(last >= 5);
}

#[test]
fn a_log_that_cannot_be_written_stops_the_credential() {
    let (_standin, mut env) = logged_in("p");
    if !std::path::Path::new("/dev/full").exists() {
        return skip_or_fail("/dev/full");
    }
    env.set("SPVAULT_AUDIT_LOG", "/dev/full");
    for args in [
        vec!["token", "p"],
        vec!["env", "p"],
        vec!["exec", "p", "--", "echo", "ran"],
    ] {
        let out = env.run(&args).expect_code(1);
        assert!(!out.stdout.contains("Atza|"), "{}", out.stdout);
        assert!(!out.stdout.contains("ran"), "{}", out.stdout);
        assert!(
            out.stderr.contains("cannot write the access log /dev/full"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn the_log_is_a_setting_of_the_vault() {
    let (_standin, env) = logged_in("p");
    let log_mode = mode(&log_path(&env));
    assert_eq!(log_mode, 0o600);
    env.run(&["check"]).ok();
    env.run(&["audit", "off"]).ok();
    let before = lines(&env).len();
    env.run(&["token", "p"]).ok();
    assert_eq!(
        lines(&env).len(),
        before,
        "nothing is logged while it is off"
    );
    assert_eq!(events(&env).last().unwrap(), "audit_off");
    let out = env.run(&["check", "--json"]).expect_code(6);
    assert!(out.stdout.contains("\"audit_off\""), "{}", out.stdout);
    env.run(&["audit", "on", "--keep", "120d"]).ok();
    env.run(&["token", "p"]).ok();
    assert_eq!(
        &events(&env)[events(&env).len() - 2..],
        ["audit_on", "token"]
    );
    env.run(&["check"]).ok();
    env.run(&["audit", "verify"]).ok();
    // Filters.
    let only = env
        .run(&["audit", "--event", "audit_on", "--json"])
        .ok()
        .json();
    assert_eq!(only.as_array().unwrap().len(), 1);
    let none = env
        .run(&["audit", "--profile", "nobody", "--json"])
        .ok()
        .json();
    assert!(none.as_array().unwrap().is_empty());
    // A vault started without the log: nothing logged, and check says so.
    let other = Env::new();
    other
        .run(&[
            "init",
            "--no-audit",
            "--kdf-memory-mib",
            "8",
            "--kdf-iterations",
            "1",
        ])
        .ok();
    other.add_main_app(CLIENT_SECRET);
    assert!(!log_path(&other).exists());
    other.run(&["check"]).expect_code(6);
}

#[test]
fn processes_writing_at_once_keep_one_chain() {
    let (_standin, env) = logged_in("p");
    let children: Vec<Child> = (0..8)
        .map(|_| {
            env.command(&["token", "p"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(events(&env).iter().filter(|e| *e == "token").count(), 8);
    env.run(&["audit", "verify"]).ok();
}

#[test]
fn init_over_an_earlier_vaults_log_moves_it_aside() {
    let (_standin, env) = logged_in("p");
    std::fs::remove_file(&env.vault).unwrap();
    let out = env
        .run(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
        .ok();
    assert!(out.stderr.contains("moved aside"), "{}", out.stderr);
    assert_eq!(events(&env), ["init"]);
    env.run(&["audit", "verify"]).ok();
}

/// The system log's socket, played by the test: only where there is none (a
/// container) and the test runs as root, as CI does.
fn fake_syslog() -> Option<std::os::unix::net::UnixDatagram> {
    let path = std::path::Path::new("/dev/log");
    // SAFETY: geteuid has no preconditions.
    if path.exists() || unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "SKIPPED: --syslog's copy is read back only as root where /dev/log is free (a system logger has it here)"
        );
        return None;
    }
    let socket = std::os::unix::net::UnixDatagram::bind(path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    Some(socket)
}

fn received(socket: &std::os::unix::net::UnixDatagram) -> String {
    let mut all = String::new();
    let mut buffer = vec![0u8; 65536];
    while let Ok(n) = socket.recv(&mut buffer) {
        all.push_str(&String::from_utf8_lossy(&buffer[..n]));
        all.push('\n');
    }
    all
}

#[test]
fn syslog_gets_a_copy_of_the_entries_of_serve_and_of_commands_through_the_agent() {
    let Some(socket) = fake_syslog() else { return };
    let result = std::panic::catch_unwind(|| {
        let (_standin, env) = logged_in("p");
        let mut agent = env
            .command(&["agent", "--foreground", "--syslog"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(agent.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.starts_with("Agent for"), "{first}");
        env.run(&["unlock"]).ok();
        env.run(&["token", "p"]).ok();
        let copied = received(&socket);
        assert!(copied.contains("spvault"), "{copied}");
        assert!(copied.contains(r#""event":"agent_started""#), "{copied}");
        assert!(copied.contains(r#""event":"token""#), "{copied}");
        assert!(!copied.contains("Atza|"), "{copied}");
        env.run(&["lock"]).ok();
        let _ = agent.kill();
        let _ = agent.wait();
        let serving = Server::start(&env, &["serve", "p", "--syslog"], "Serving");
        assert_eq!(serving.get("/token/p", "Authorization: Bearer ").0, 200);
        serving.stop();
        let copied = received(&socket);
        assert!(copied.contains(r#""event":"serve""#), "{copied}");
    });
    let _ = std::fs::remove_file("/dev/log");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn what_a_writer_without_the_key_does_to_the_log_is_noticed_or_harmless() {
    let (_standin, mut env) = logged_in("p");
    env.run(&["token", "p"]).ok();
    let original = lines(&env);
    // A forged hand-out without a MAC: refused by verify, even once sealed over.
    let forged = format!(
        r#"{{"seq":{},"time":"2026-12-02T00:00:00Z","event":"env","profile":"p","secrets":true,"outcome":"ok","who":{{"uid":1001,"pid":1,"exe":"/tmp/steal","parent_pid":1,"parent_exe":"/bin/sh"}},"unsealed":true}}"#,
        original.len() + 1
    );
    let mut with_forgery = original.clone();
    with_forgery.push(forged);
    write_lines(&env, &with_forgery);
    env.run(&["token", "p"]).ok();
    let out = env.run(&["audit", "verify"]).expect_code(4);
    assert!(
        out.stderr
            .contains(&format!("entry {} has no MAC", original.len() + 1)),
        "{}",
        out.stderr
    );
    // An impossible sequence number, and a last line without its newline: no crash,
    // and the next entry is a line of its own.
    let mut overflow = original.clone();
    overflow.push(r#"{"seq":18446744073709551615,"time":"2026-12-02T00:00:00Z","event":"lock","outcome":"ok","who":{"client":"x","key":"y"},"unsealed":true}"#.into());
    write_lines(&env, &overflow);
    env.run(&["token", "p"]).ok();
    env.run(&["audit", "verify"]).expect_code(4);
    write_lines(&env, &original);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(log_path(&env))
        .unwrap();
    file.write_all(b"garbage{not json").unwrap();
    drop(file);
    env.run(&["token", "p"]).ok();
    let shown = env.run(&["audit", "--event", "token", "--json"]).ok();
    assert_eq!(
        shown.json().as_array().unwrap().len(),
        2,
        "{}",
        shown.stdout
    );
    assert!(shown.stderr.contains("1 line of"), "{}", shown.stderr);
    // A vault change whose entry cannot be written does not happen.
    env.set("SPVAULT_AUDIT_LOG", "/dev/full");
    env.run(&["add-profile", "z", "--region", "eu"])
        .expect_code(1);
    env.unset("SPVAULT_AUDIT_LOG");
    env.run(&["show", "z"]).expect_code(5);
    // A log that is a link or a device is refused, not read forever.
    std::fs::remove_file(log_path(&env)).unwrap();
    std::os::unix::fs::symlink("/dev/zero", log_path(&env)).unwrap();
    let out = env.run(&["audit", "verify"]).expect_code(1);
    assert!(out.stderr.contains("access log"), "{}", out.stderr);
    env.run(&["token", "p"]).expect_code(1);
    // A pasted secret as a profile name is not written down.
    std::fs::remove_file(log_path(&env)).unwrap();
    env.run(&["token", "p"]).ok();
    env.run(&["token", CLIENT_SECRET]).expect_code(5);
    assert!(
        !std::fs::read_to_string(log_path(&env))
            .unwrap()
            .contains(CLIENT_SECRET)
    );
    env.run(&["audit", "--event", "bogus"]).expect_code(2);
}
