//! Regression tests for the security review: each reproduces an attack (on loopback,
//! bounded, stopping by itself) that worked before its fix.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;

/// A proxy on 127.0.0.1 that records the first line of each request it gets, then
/// hangs up; it stops accepting after `lifetime`.
struct FakeProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeProxy {
    fn start(lifetime: Duration) -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < lifetime {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        stream
                            .set_read_timeout(Some(Duration::from_secs(2)))
                            .unwrap();
                        let mut line = String::new();
                        let _ = BufReader::new(&stream).read_line(&mut line);
                        record.lock().unwrap().push(line.trim().to_owned());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeProxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

#[test]
fn loopback_destinations_never_go_through_a_proxy() {
    let (standin, mut env) = logged_in("p");
    let proxy = FakeProxy::start(Duration::from_secs(20));
    env.use_proxy(&proxy.url);
    env.run(&["refresh", "p", "--force"]).ok();
    assert_eq!(
        standin.seen().last().unwrap().refresh_token,
        REFRESH_TOKEN,
        "the refresh reached the token endpoint directly"
    );
    assert!(proxy.seen().is_empty(), "the proxy saw {:?}", proxy.seen());
    // Real hosts still use the proxy (company networks need it): the request to
    // Amazon's endpoint goes to the proxy, which hangs up.
    env.unset("SPVAULT_LWA_TOKEN_URL");
    env.set("SPVAULT_HTTP_TIMEOUT", "3s");
    env.run(&["refresh", "p", "--force"]).expect_code(7);
    assert!(
        proxy
            .seen()
            .iter()
            .any(|line| line.starts_with("CONNECT api.amazon.com:443")),
        "{:?}",
        proxy.seen()
    );
}

#[test]
fn dotenv_output_refuses_what_python_dotenv_would_expand() {
    let secret = "Atzr|a${HOME}b";
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, "p", secret);
    let dotenv = ["env", "p", "--with-secrets", "--format", "dotenv"];
    let out = env.run(&dotenv).expect_code(2);
    assert!(
        out.stderr.contains("SP_API_REFRESH_TOKEN") && out.stderr.contains("${"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.is_empty(),
        "nothing half-written: {}",
        out.stdout
    );
    assert!(!out.stderr.contains(secret), "the secret was shown");
    // Without the secrets, the same output is fine; and shells get it unchanged.
    env.run(&["env", "p", "--format", "dotenv"]).ok();
    let json = env
        .run(&["env", "p", "--with-secrets", "--format", "json"])
        .ok()
        .json();
    assert_eq!(json["SP_API_REFRESH_TOKEN"], secret);
    // What the quoting alone would have written reads back changed in python-dotenv.
    if let Some(python) = python_with("dotenv") {
        let file = env.path("old.env");
        std::fs::write(&file, "X='a${HOME}b'\n").unwrap();
        let read = std::process::Command::new(python)
            .args(["-c", "import sys\nfrom dotenv import dotenv_values\nprint(dotenv_values(sys.argv[1])['X'])"])
            .arg(&file)
            .env("HOME", "/home/x")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "a/home/xb");
    }
}

/// The salt in the vault's plaintext header.
fn salt(env: &Env) -> String {
    String::from_utf8_lossy(&env.vault_bytes())
        .lines()
        .find_map(|line| line.strip_prefix("salt = "))
        .unwrap()
        .to_owned()
}

#[test]
fn passwd_asks_for_the_current_passphrase_even_when_unlocked() {
    let mut env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    env.run(&["unlock"]).ok();
    let identity = env.path("id.key");
    let public = env
        .run(&["identity", "new", identity.to_str().unwrap()])
        .ok()
        .stdout;
    env.run(&["recipients", "add", "id", public.trim()]).ok();
    // A process of the same user with the agent unlocked, or with an identity file,
    // but without the passphrase: it must not be able to set one of its own.
    env.unset("SPVAULT_PASSPHRASE");
    env.set("SPVAULT_NEW_PASSPHRASE", "attacker's choice");
    let before = env.vault_bytes();
    for identity_args in [vec![], vec!["--identity", identity.to_str().unwrap()]] {
        let mut args = identity_args.clone();
        args.push("passwd");
        let out = env.run(&args).expect_code(3);
        assert!(out.stderr.contains("passphrase"), "{}", out.stderr);
        assert_eq!(env.vault_bytes(), before, "the vault changed");
    }
    // With the passphrase it works, and the agent forgets the old key.
    env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
    env.run(&["passwd"]).ok();
    assert_eq!(
        env.run(&["status", "--json"]).ok().json()["unlocked"],
        false
    );
}

#[test]
fn removing_a_recipient_renews_the_passphrase_key() {
    let mut env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    let identity = env.path("id.key");
    let public = env
        .run(&["identity", "new", identity.to_str().unwrap()])
        .ok()
        .stdout;
    env.run(&["recipients", "add", "id", public.trim()]).ok();
    let (old_salt, before) = (salt(&env), env.vault_bytes());
    // The holder of the identity cannot remove itself (or others) without the passphrase.
    env.unset("SPVAULT_PASSPHRASE");
    env.run(&[
        "--identity",
        identity.to_str().unwrap(),
        "recipients",
        "remove",
        "id",
    ])
    .expect_code(3);
    assert_eq!(env.vault_bytes(), before);
    env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
    env.run(&["recipients", "remove", "id"]).ok();
    assert_ne!(salt(&env), old_salt, "the passphrase key was not renewed");
    assert_eq!(
        env.run(&["app", "list", "--json"]).ok().json()[0]["app"],
        "main"
    );
}

#[test]
fn another_user_cannot_keep_the_agent_from_starting() {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let squatted = std::env::temp_dir().join(format!("spvault-{uid}"));
    if squatted.exists() {
        eprintln!("SKIPPED: {} exists already", squatted.display());
        return;
    }
    let mut env = Env::new();
    env.init_fast();
    env.unset("XDG_RUNTIME_DIR");
    // The folder the agent used without XDG_RUNTIME_DIR, made first by someone else
    // (as root: owned by nobody; otherwise open to all, which is as unusable).
    std::fs::create_dir(&squatted).unwrap();
    std::fs::set_permissions(
        &squatted,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    if uid == 0 {
        std::os::unix::fs::chown(&squatted, Some(65534), Some(65534)).unwrap();
    }
    let out = env.run(&["unlock"]);
    let status = env.run(&["status", "--json"]);
    env.run(&["lock"]).ok();
    std::fs::remove_dir(&squatted).unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(status.ok().json()["unlocked"], true);
}

#[test]
fn an_agent_that_cannot_start_says_why() {
    let mut env = Env::new();
    env.init_fast();
    // Where the agent's folder should be, a file.
    let runtime = env.path("blocked");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::write(runtime.join("spvault"), "").unwrap();
    env.set("XDG_RUNTIME_DIR", runtime.to_str().unwrap());
    let started = Instant::now();
    let out = env.run(&["unlock"]).expect_code(1);
    assert!(
        out.stderr.contains("could not start") && out.stderr.contains("spvault"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("within 5 seconds"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn escape_sequences_from_imported_files_never_reach_the_terminal() {
    let env = Env::new();
    env.init_fast();
    let title = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
    // A client id with escapes after Amazon's prefix, in a .env file.
    let dotenv = env.path(".env");
    std::fs::write(
        &dotenv,
        format!(
            "AMAZON_CLIENT_ID=\"amzn1.application-oa2-client.abc{title}\"\nAMAZON_CLIENT_SECRET=amzn1.oa2-cs.v1.x\nAMAZON_REFRESH_TOKEN=Atzr|x\n"
        ),
    )
    .unwrap();
    let out = env.import_env(&dotenv, "p").expect_code(2);
    assert!(out.stderr.contains("client"), "{}", out.stderr);
    // A section name with escapes, in credentials.yml.
    let yml = env.path("credentials.yml");
    std::fs::write(
        &yml,
        format!(
            "\"a\\e]0;pwned\\a\\e[2J\":\n  refresh_token: 'Atzr|x'\n  lwa_app_id: '{CLIENT_ID}'\n  lwa_client_secret: 'amzn1.oa2-cs.v1.x'\n"
        ),
    )
    .unwrap();
    let yml_out = env.import_yml(&yml, &[]).expect_code(2);
    assert!(yml_out.stderr.contains("section"), "{}", yml_out.stderr);
    for text in [&out.stdout, &out.stderr, &yml_out.stdout, &yml_out.stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
    }
    assert!(yml_out.stderr.contains("\\u{1b}"), "{}", yml_out.stderr);
}

#[test]
fn a_passphrase_file_others_can_read_is_warned_about() {
    let mut env = Env::new();
    env.init_fast();
    let file = env.path("passphrase");
    std::fs::write(&file, PASSPHRASE).unwrap();
    env.unset("SPVAULT_PASSPHRASE");
    env.set("SPVAULT_PASSPHRASE_FILE", file.to_str().unwrap());
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .unwrap();
        let out = env.run(&["app", "list"]).ok();
        assert_eq!(
            out.stderr.contains("readable by other users") && out.stderr.contains("chmod 600"),
            warned,
            "{mode:o}: {}",
            out.stderr
        );
    }
}

#[test]
fn exec_children_never_get_the_keys_to_the_vault() {
    let (_standin, mut env) = logged_in("p");
    let file = env.path("passphrase");
    std::fs::write(&file, PASSPHRASE).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    // Everything that opens the vault or its store, set as a user would (an empty
    // identity file is no identity file, so the passphrase still opens the vault).
    let unlocking = [
        ("SPVAULT_PASSPHRASE", PASSPHRASE),
        ("SPVAULT_PASSPHRASE_FILE", file.to_str().unwrap()),
        ("SPVAULT_NEW_PASSPHRASE", "the next one"),
        ("SPVAULT_IDENTITY_FILE", ""),
        ("BAO_TOKEN", "s.bao-token-0001"),
        ("VAULT_TOKEN", "s.vault-token-0001"),
        ("SPVAULT_BAO_TOKEN_FILE", "/nonexistent/bao-token"),
    ];
    for (name, value) in unlocking {
        env.set(name, value);
    }
    let child_env = |extra: &[&str]| {
        let mut args = vec!["exec", "p"];
        args.extend_from_slice(extra);
        args.extend(["--", "env"]);
        env.run(&args).ok().stdout
    };
    let seen = child_env(&[]);
    assert!(seen.contains("SP_API_ACCESS_TOKEN="), "{seen}");
    for (name, value) in unlocking {
        assert!(
            !seen.contains(&format!("{name}=")),
            "{name} reached the child"
        );
        assert!(
            value.is_empty() || !seen.contains(value),
            "{name}'s value reached the child"
        );
    }
    // Kept on purpose, one at a time.
    let seen = child_env(&["--keep-env", "BAO_TOKEN"]);
    assert!(seen.contains("BAO_TOKEN=s.bao-token-0001"), "{seen}");
    assert!(!seen.contains("VAULT_TOKEN="), "{seen}");
    assert!(!seen.contains("SPVAULT_PASSPHRASE="), "{seen}");
}

#[test]
fn adding_a_recipient_takes_the_passphrase_even_when_unlocked() {
    let mut env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    env.run(&["unlock"]).ok();
    // A process of the same user, without the passphrase, while the agent is unlocked:
    // a recipient of its own would survive `lock` and `passwd`.
    env.unset("SPVAULT_PASSPHRASE");
    let identity = env.path("attacker.key");
    let public = env
        .run(&["identity", "new", identity.to_str().unwrap()])
        .ok()
        .stdout;
    let before = env.vault_bytes();
    let out = env
        .run(&["recipients", "add", "backdoor", public.trim()])
        .expect_code(3);
    assert!(out.stderr.contains("passphrase"), "{}", out.stderr);
    assert_eq!(env.vault_bytes(), before, "the vault changed");
    // The owner can, with the passphrase; `passwd` then says who else keeps access.
    env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
    env.run(&["recipients", "add", "laptop", public.trim()])
        .ok();
    env.set("SPVAULT_NEW_PASSPHRASE", "a new passphrase");
    let out = env.run(&["passwd"]).ok();
    assert!(
        out.stdout.contains("laptop") && out.stdout.contains("keep"),
        "{}",
        out.stdout
    );
}

#[test]
fn bidi_overrides_and_invisible_characters_from_imported_files_are_shown_escaped() {
    let env = Env::new();
    env.init_fast();
    // A section name that reads as `admin` backwards, with a zero-width space and an
    // isolate in it: unescaped, the terminal shows other text than the file holds.
    let yml = env.path("credentials.yml");
    std::fs::write(
        &yml,
        format!(
            "\"a\\u202Enimda\\u200B\\u2066x\\u2069\\uFEFF\":\n  refresh_token: 'Atzr|x'\n  lwa_app_id: '{CLIENT_ID}'\n  lwa_client_secret: 'amzn1.oa2-cs.v1.x'\n"
        ),
    )
    .unwrap();
    let out = env.import_yml(&yml, &[]).expect_code(2);
    assert!(out.stderr.contains("section"), "{}", out.stderr);
    for hidden in ['\u{202e}', '\u{200b}', '\u{2066}', '\u{2069}', '\u{feff}'] {
        assert!(
            !out.stderr.contains(hidden) && !out.stdout.contains(hidden),
            "{hidden:?} reached the terminal: {:?}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("\\u{202e}"), "{}", out.stderr);
}

/// The vault with its header's `sha256` recomputed, as anyone can (it has no key).
fn with_checksum_recomputed(file: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let start = payload_start(file);
    let header = std::str::from_utf8(&file[..start]).unwrap();
    let checksum_line = header.rfind("sha256 = \"").unwrap();
    let table: toml::Table = toml::from_str(header).unwrap();
    let age = table["payload"]["age_bytes"].as_integer().unwrap() as usize;
    let mut digest = sha2::Sha256::new();
    digest.update(&file[..checksum_line]);
    digest.update(&file[start..start + age]);
    let hex: String = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut out = format!("{}sha256 = \"{hex}\"\n", &header[..checksum_line]).into_bytes();
    out.extend_from_slice(&file[start..]);
    out
}

/// The file with `from` replaced by `to` in its header, and its checksum recomputed.
fn header_changed(file: &[u8], from: &str, to: &str) -> Vec<u8> {
    let start = payload_start(file);
    let header = std::str::from_utf8(&file[..start]).unwrap();
    assert!(header.contains(from), "{header}");
    let mut out = header.replace(from, to).into_bytes();
    out.extend_from_slice(&file[start..]);
    with_checksum_recomputed(&out)
}

#[test]
fn one_profile_cannot_be_rolled_back_by_copying_an_older_record() {
    let (standin, env) = logged_in("p");
    env.logged_in_profile(&standin, "q", "Atzr|IwEBIA-test-refresh-token-0002");
    // p's record is written last, at the end of the file; then p logs in again with a
    // refresh token of the same length.
    env.run_stdin(&["login", "p", "--refresh-token-stdin"], REFRESH_TOKEN)
        .ok();
    let old = env.vault_bytes();
    let newer = "Atzr|IwEBIA-test-refresh-token-0003";
    standin.add_refresh_token(CLIENT_ID, newer);
    let records_of = |file: &[u8]| payload_start(file) + age_payload(file).len();
    let old_records = records_of(&old);
    let old = &old[old_records..];
    // Times are written without trailing zeros in their fraction, so records of the
    // same shape can differ by a byte: log in again until the lengths agree (an
    // attacker, too, picks a copy that fits).
    let (mut current, mut records) = (Vec::new(), 0);
    for _ in 0..50 {
        env.run_stdin(&["login", "p", "--refresh-token-stdin"], newer)
            .ok();
        current = env.vault_bytes();
        records = records_of(&current);
        if current.len() - records == old.len() {
            break;
        }
    }
    assert_eq!(
        old.len(),
        current.len() - records,
        "the records are the same length"
    );
    // Anyone who can write the file copies the older record over the current one:
    // the records after the first byte the two files' records differ in.
    let differs = (0..old.len())
        .find(|&i| old[i] != current[records + i])
        .unwrap();
    current[records + differs..].copy_from_slice(&old[differs..]);
    std::fs::write(&env.vault, &current).unwrap();
    let out = env.run(&["refresh", "p", "--force"]).expect_code(4);
    assert!(out.stderr.contains("'p'"), "{}", out.stderr);
    assert_ne!(standin.seen().last().unwrap().refresh_token, REFRESH_TOKEN);
    let out = env.run(&["check"]).expect_code(4);
    assert!(out.stderr.contains("'p'"), "{}{}", out.stdout, out.stderr);
    // The other profile is untouched and still works.
    env.run(&["token", "q", "--min-valid", "0s"]).ok();
}

#[test]
fn a_header_changed_without_the_key_is_tampering() {
    let env = Env::new();
    env.init_fast();
    env.add_main_app(CLIENT_SECRET);
    let identity = env.path("id.key");
    let public = env
        .run(&["identity", "new", identity.to_str().unwrap()])
        .ok()
        .stdout;
    env.run(&["recipients", "add", "id", public.trim()]).ok();
    let good = env.vault_bytes();
    let tampered = |name: &str, bytes: Vec<u8>| {
        std::fs::write(&env.vault, bytes).unwrap();
        // Where the key does not come from the header, at once.
        let id = identity.to_str().unwrap();
        let mut with_identity = env.command(&["--identity", id, "app", "list"]);
        with_identity.env_remove("SPVAULT_PASSPHRASE");
        let out = with_identity.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{name}: {stderr}");
        assert!(stderr.contains("tampering"), "{name}: {stderr}");
    };
    // Bytes appended to the records, with the lengths and the checksum made to fit.
    let mut appended = good.clone();
    appended.extend_from_slice(b"more");
    let header = String::from_utf8_lossy(&good[..payload_start(&good)]).into_owned();
    let len = header
        .lines()
        .find_map(|l| l.strip_prefix("records_bytes = "))
        .unwrap()
        .to_owned();
    let longer = (len.parse::<u64>().unwrap() + 4).to_string();
    tampered(
        "appended",
        header_changed(
            &appended,
            &format!("records_bytes = {len}\n"),
            &format!("records_bytes = {longer}\n"),
        ),
    );
    // The KDF's cost raised, and the salt changed.
    let raised = header_changed(&good, "memory_kib = 8192\n", "memory_kib = 16384\n");
    tampered("kdf", raised.clone());
    let salt = header
        .lines()
        .find_map(|l| l.strip_prefix("salt = "))
        .unwrap()
        .to_owned();
    let other_salt = format!("\"{}\"", "0".repeat(salt.len() - 2));
    tampered("salt", header_changed(&good, &salt, &other_salt));
    // Where the key comes from the passphrase, both causes are named, with the
    // settings in force.
    std::fs::write(&env.vault, &raised).unwrap();
    let out = env.run(&["app", "list"]).expect_code(3);
    assert!(
        out.stderr.contains("wrong passphrase")
            && out.stderr.contains("KDF settings")
            && out.stderr.contains("16 MiB"),
        "{}",
        out.stderr
    );
}

/// The unlock agent holds a key made for the header's KDF settings and salt: a header
/// whose settings were raised behind it (same salt) is tampering, reported at once,
/// never a fall back to the passphrase through a 1 GiB, 4-pass KDF.
#[test]
fn a_header_raised_behind_the_unlocked_agent_is_tampering_at_once() {
    let (_standin, mut env) = logged_in("p");
    env.run(&["unlock"]).ok();
    env.unset("SPVAULT_PASSPHRASE");
    let good = env.vault_bytes();
    let raised = header_changed(&good, "memory_kib = 8192\n", "memory_kib = 1048576\n");
    let raised = header_changed(&raised, "iterations = 1\n", "iterations = 4\n");
    std::fs::write(&env.vault, &raised).unwrap();
    for args in [&["token", "p"][..], &["list"], &["app", "list"]] {
        let started = Instant::now();
        let out = env.run(args).expect_code(4);
        assert!(
            out.stderr.contains("tampering") && out.stderr.contains("1024 MiB"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?}: slow");
    }
    // The agent keeps its key: the file put back opens without the passphrase.
    std::fs::write(&env.vault, &good).unwrap();
    assert_eq!(env.run(&["token", "p"]).ok().stdout, "Atza|standin-1\n");
}

/// Profiles p and q logged in, then one flipped byte in q's record.
fn one_damaged_record() -> (StandIn, Env) {
    let (standin, env) = logged_in("p");
    env.logged_in_profile(&standin, "q", "Atzr|IwEBIA-test-refresh-token-0002");
    damage_record(&env, "q");
    (standin, env)
}

/// Flips one byte of profile `name`'s record: a write about it puts its record last.
fn damage_record(env: &Env, name: &str) {
    env.run(&["edit-profile", name, "--marketplace", "FR"]).ok();
    let mut bytes = env.vault_bytes();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&env.vault, bytes).unwrap();
}

#[test]
fn one_damaged_record_stays_out_of_the_backup_and_can_be_removed_unread() {
    let (_standin, env) = one_damaged_record();
    env.run(&["token", "q", "--min-valid", "0s"]).expect_code(4);
    // Writes about the other profile copy the damaged record forward, but the backup
    // stays a vault whose records all open.
    env.run(&["edit-profile", "p", "--marketplace", "FR"]).ok();
    env.run(&["edit-profile", "p", "--marketplace", "DE"]).ok();
    let backup = format!("{}.bak", env.vault.display());
    env.run(&["--vault", &backup, "check"]).ok();
    // Commands about the other profile keep working, rename included.
    env.run(&["rename", "p", "p2"]).ok();
    env.run(&["token", "p2", "--min-valid", "0s"]).ok();
    // The damaged profile is dropped without being read.
    let out = env.run(&["remove", "q", "--yes"]).ok();
    assert!(out.stdout.contains("damaged"), "{}", out.stdout);
    env.run(&["check"]).ok();
    env.run(&["--vault", &backup, "check"]).ok();
    assert!(env.profile_names().iter().eq(["p2"]));
}

#[test]
fn list_and_check_show_a_damaged_profile_beside_the_others() {
    let (_standin, env) = one_damaged_record();
    let backup = format!("{}.bak", env.vault.display());
    let out = env.run(&["list"]).ok();
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}: {}", out.stdout))
            .to_owned()
    };
    assert!(row("q").contains("damaged") && !row("p").contains("damaged"));
    assert!(
        out.stderr.contains("profile 'q'") && out.stderr.contains("vault remove q --yes"),
        "{}",
        out.stderr
    );
    let listed = env.profiles_json();
    assert_eq!(listed[0]["profile"], "p");
    assert_eq!(listed[0]["record"], "ok");
    assert_eq!(listed[1]["profile"], "q");
    assert_eq!(listed[1]["record"], "damaged");
    assert!(listed[1]["detail"].as_str().unwrap().contains("'q'"));
    // check: exit 4, naming the profile and both fixes.
    let out = env.run(&["check"]).expect_code(4);
    for text in ["profile 'q'", "vault remove q --yes", &backup] {
        assert!(out.stderr.contains(text), "{text}: {}", out.stderr);
    }
    assert!(out.stdout.contains("'q'"), "{}", out.stdout);
    let report = env.run(&["check", "--json"]).expect_code(4).json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"][0]["kind"], "record_damaged");
    assert_eq!(report["problems"][0]["profile"], "q");
    // Checking only the other profile does not fail over the damaged one.
    assert_ne!(env.run(&["check", "p"]).code, 4);
}

#[test]
fn passwd_and_recipients_remove_refuse_a_damaged_record_unless_told_to_drop_it() {
    let (standin, mut env) = logged_in("p");
    env.logged_in_profile(&standin, "q", "Atzr|IwEBIA-test-refresh-token-0002");
    let identity = env.path("server.key");
    let public = env
        .run(&["identity", "new", identity.to_str().unwrap()])
        .ok()
        .stdout;
    env.run(&["recipients", "add", "server", public.trim()])
        .ok();
    damage_record(&env, "q");
    let damaged = env.vault_bytes();
    env.set("SPVAULT_NEW_PASSPHRASE", "a new passphrase of some length");
    for command in [&["passwd"][..], &["recipients", "remove", "server"]] {
        let out = env.run(command).expect_code(4);
        assert!(
            out.stderr.contains("profile 'q'") && out.stderr.contains("--drop-damaged"),
            "{}",
            out.stderr
        );
        assert_eq!(env.vault_bytes(), damaged, "{command:?} wrote");
    }
    let out = env
        .run(&["recipients", "remove", "server", "--drop-damaged"])
        .ok();
    assert!(out.stdout.contains("Dropped profile 'q'"), "{}", out.stdout);
    assert!(env.profile_names().iter().eq(["p"]));
    env.run(&["token", "p", "--min-valid", "0s"]).ok();
    // The backup is the vault from before the damage, not the file that held it.
    let backup = format!("{}.bak", env.vault.display());
    env.run(&["--vault", &backup, "list"]).ok();
    assert!(
        !env.run(&["--vault", &backup, "list"])
            .stdout
            .contains("damaged")
    );
    // passwd drops too, and says so.
    env.run(&["add-profile", "r", "--region", "eu"]).ok();
    damage_record(&env, "r");
    let out = env.run(&["passwd", "--drop-damaged"]).ok();
    assert!(out.stdout.contains("Dropped profile 'r'"), "{}", out.stdout);
    env.set("SPVAULT_PASSPHRASE", "a new passphrase of some length");
    assert!(env.profile_names().iter().eq(["p"]));
    env.run(&["check"]).ok();
}

#[test]
fn commands_about_other_profiles_work_around_a_damaged_record() {
    let (standin, env) = one_damaged_record();
    // The agent is handed the profiles that open; the damaged one still says why.
    env.run(&["unlock"]).ok();
    env.run(&["token", "p", "--min-valid", "0s"]).ok();
    env.run(&["token", "q", "--min-valid", "0s"]).expect_code(4);
    env.run(&["lock"]).ok();
    env.run(&["add-profile", "r", "--region", "eu"]).ok();
    standin.add_refresh_token(CLIENT_ID, "Atzr|IwEBIA-test-refresh-token-0003");
    env.run_stdin(
        &["login", "r", "--refresh-token-stdin"],
        "Atzr|IwEBIA-test-refresh-token-0003",
    )
    .ok();
    env.run_stdin(&["login", "q", "--refresh-token-stdin"], REFRESH_TOKEN)
        .expect_code(4);
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(90 * 24)).to_string();
    env.run_stdin(
        &[
            "app",
            "set-secret",
            "main",
            "--stdin",
            "--expires",
            &expires,
        ],
        CLIENT_SECRET,
    )
    .ok();
    env.run(&["refresh", "p", "--force"]).ok();
    // --all refreshes the others and reports the damaged one: exit 4.
    let out = env.run(&["refresh", "--all", "--force"]).expect_code(4);
    for text in [
        "p: refreshed",
        "r: refreshed",
        "q: FAILED",
        "vault remove q --yes",
    ] {
        assert!(out.stdout.contains(text), "{text}: {}", out.stdout);
    }
    env.run(&["refresh", "q", "--force"]).expect_code(4);
}
