//! The unlock agent: one passphrase per session, timeouts, locking, and who may talk to it.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use support::*;

/// A logged-in profile `p`, a vault unlocked with `args`, and no passphrase source left.
fn unlocked(args: &[&str]) -> (StandIn, Env) {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    env.logged_in_profile(&standin, "p", REFRESH_TOKEN);
    let mut unlock = vec!["unlock"];
    unlock.extend_from_slice(args);
    let out = env.run(&unlock).ok();
    assert!(out.stdout.contains("Unlocked"), "{}", out.stdout);
    env.unset("SPVAULT_PASSPHRASE");
    (standin, env)
}

fn status(env: &Env) -> serde_json::Value {
    env.run(&["status", "--json"]).ok().json()
}

#[test]
fn unlocked_commands_need_no_passphrase() {
    let (standin, env) = unlocked(&[]);
    assert_eq!(status(&env)["unlocked"], true);
    assert_eq!(env.run(&["token", "p"]).ok().stdout, "Atza|standin-1\n");
    let vars = env.run(&["env", "p", "--format", "json"]).ok().json();
    assert_eq!(vars["SP_API_ACCESS_TOKEN"], "Atza|standin-1");
    let out = env
        .run(&["exec", "p", "--", "sh", "-c", "echo $SP_API_ACCESS_TOKEN"])
        .ok();
    assert_eq!(out.stdout, "Atza|standin-1\n");
    assert_eq!(env.profiles_json()[0]["profile"], "p");
    // Writes work too, with the agent's key.
    env.run(&["refresh", "p", "--force"]).ok();
    env.run(&["add-profile", "q", "--region", "na"]).ok();
    assert_eq!(standin.requests(), 2);
    assert_eq!(env.profiles_json().as_array().unwrap().len(), 2);
}

#[test]
fn lock_then_a_command_without_passphrase_exits_3() {
    let (_standin, env) = unlocked(&[]);
    env.run(&["lock"]).ok();
    assert_eq!(status(&env)["unlocked"], false);
    let out = env.run(&["token", "p"]).expect_code(3);
    assert!(
        out.stderr.contains("no passphrase available"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_idle_timeout_expires_and_status_does_not_extend_it() {
    let (_standin, env) = unlocked(&["--timeout", "4s"]);
    for _ in 0..3 {
        // Status is not use: asking it every second must not keep the session alive
        // (if it did, the session would last until 4 s after the last status).
        assert_eq!(status(&env)["unlocked"], true);
        std::thread::sleep(Duration::from_secs(1));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(status(&env)["unlocked"], false);
    env.run(&["token", "p"]).expect_code(3);
}

#[test]
fn real_use_resets_the_idle_timeout() {
    let (_standin, env) = unlocked(&["--timeout", "3s"]);
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(1500));
        env.run(&["token", "p"]).ok();
    }
    assert_eq!(status(&env)["unlocked"], true);
}

#[test]
fn the_maximum_lifetime_ends_even_a_busy_session() {
    let (_standin, env) = unlocked(&["--timeout", "3s", "--max-lifetime", "4s"]);
    for _ in 0..3 {
        std::thread::sleep(Duration::from_secs(1));
        env.run(&["token", "p"]).ok();
    }
    // Last used 1.5 s ago, well inside the idle timeout: only the lifetime ends it.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status(&env)["unlocked"], false);
}

#[test]
fn a_wrong_passphrase_at_unlock_starts_nothing() {
    let mut env = Env::new();
    env.init_fast();
    env.set("SPVAULT_PASSPHRASE", "wrong");
    env.run(&["unlock"]).expect_code(3);
    assert!(
        !env.agent_folder().exists()
            || std::fs::read_dir(env.agent_folder())
                .unwrap()
                .next()
                .is_none()
    );
    assert_eq!(status(&env)["unlocked"], false);
}

#[test]
fn passwd_while_unlocked_leads_to_a_clean_lock() {
    let (_standin, mut env) = unlocked(&[]);
    env.set("SPVAULT_NEW_PASSPHRASE", "the new one");
    // passwd proves the current passphrase even while unlocked (tests/security.rs).
    env.set("SPVAULT_PASSPHRASE", PASSPHRASE);
    env.run(&["passwd"]).ok();
    env.unset("SPVAULT_PASSPHRASE");
    env.unset("SPVAULT_NEW_PASSPHRASE");
    assert_eq!(status(&env)["unlocked"], false);
    env.run(&["token", "p"]).expect_code(3);
    env.set("SPVAULT_PASSPHRASE", "the new one");
    env.run(&["token", "p"]).ok();
}

#[test]
fn a_vault_changed_behind_the_agent_makes_it_lock() {
    let (_standin, mut env) = unlocked(&[]);
    // Another copy of spvault, not talking to this agent, changes the passphrase.
    let copy = env.path("copy.toml");
    std::fs::copy(&env.vault, &copy).unwrap();
    let mut other = Env::new();
    other.set("SPVAULT_FILE", copy.to_str().unwrap());
    other.set("SPVAULT_NEW_PASSPHRASE", "changed");
    other.run(&["passwd"]).ok();
    std::fs::copy(&copy, &env.vault).unwrap();
    let out = env.run(&["list"]).expect_code(3);
    assert!(
        out.stderr.contains("no passphrase available"),
        "{}",
        out.stderr
    );
    assert_eq!(status(&env)["unlocked"], false);
    env.set("SPVAULT_PASSPHRASE", "changed");
    env.run(&["list"]).ok();
}

#[test]
fn the_socket_and_its_folder_are_private() {
    let (_standin, env) = unlocked(&[]);
    assert_eq!(mode(&env.agent_folder()), 0o700);
    let sockets: Vec<_> = std::fs::read_dir(env.agent_folder())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(sockets.len(), 1);
    assert_eq!(mode(&sockets[0]), 0o600);
}

#[test]
fn another_user_is_refused_even_with_loosened_permissions() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: the other-user test needs root to run a client as nobody");
        return;
    }
    let (_standin, env) = unlocked(&[]);
    let folder = env.agent_folder();
    for path in [
        env.dir.path().to_path_buf(),
        env.dir.path().join("run"),
        folder.clone(),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let socket = std::fs::read_dir(&folder)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    // `nobody` must be able to reach the binary; copy it somewhere world-readable.
    let binary = env.dir.path().join("vault-bin");
    std::fs::copy(env!("CARGO_BIN_EXE_vault"), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Ask the agent directly for the key, as nobody, with the folder's owner check
    // out of the way: the agent itself must refuse.
    let request = "{\"version\":1,\"request\":{\"type\":\"status\"}}\n";
    // A refused connection is closed unanswered: the send may fail or read nothing.
    let script = format!(
        "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ntry:\n    s.sendall({request:?}.encode())\n    data = s.recv(4096)\nexcept OSError:\n    data = b''\nprint(repr(data))"
    );
    let out = run_as_nobody(
        std::path::Path::new("python3"),
        &["-c", &script, socket.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.code, 0, "nobody could connect: {}", out.stderr);
    assert_eq!(out.stdout.trim(), "b''", "the agent answered another user");
    // And the vault client run as nobody gets a clear refusal, not the key.
    let run = env.dir.path().join("run");
    let out = run_as_nobody(
        &binary,
        &["status"],
        &[
            ("XDG_RUNTIME_DIR", run.as_path()),
            ("SPVAULT_FILE", env.vault.as_path()),
        ],
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("another user") || out.stderr.contains("must be a folder of yours"),
        "{}",
        out.stderr
    );
    // The owner still gets answers.
    assert_eq!(status(&env)["unlocked"], true);
}

/// The agent holds the decrypted vault between commands about one profile; whatever
/// changes the file, spvault or another program, is seen by the next command, and
/// locking forgets it.
#[test]
fn what_the_agent_holds_is_never_served_after_the_file_changed() {
    let (standin, env) = unlocked(&[]);
    let marketplace =
        |env: &Env| env.run(&["show", "p", "--json"]).ok().json()["marketplace"].clone();
    assert_eq!(marketplace(&env), "DE");
    assert_eq!(marketplace(&env), "DE", "served from what the agent holds");
    assert_eq!(env.run(&["token", "p"]).ok().stdout, "Atza|standin-1\n");

    // Another command writes: the next read sees it.
    env.run(&["edit-profile", "p", "--marketplace", "FR"]).ok();
    assert_eq!(marketplace(&env), "FR");
    // A refresh (a write) is seen too.
    env.run(&["refresh", "p", "--force"]).ok();
    assert_eq!(env.run(&["token", "p"]).ok().stdout, "Atza|standin-2\n");
    assert_eq!(standin.requests(), 2);

    // Another program puts the previous version back in place (same file, same
    // inode): seen as well.
    let backup = std::fs::read(format!("{}.bak", env.vault.display())).unwrap();
    std::fs::write(&env.vault, &backup).unwrap();
    assert_eq!(env.run(&["token", "p"]).ok().stdout, "Atza|standin-1\n");

    // A profile the held vault lacks is no such profile, as without the agent.
    env.run(&["show", "nobody"]).expect_code(5);

    env.run(&["lock"]).ok();
    env.run(&["show", "p"]).expect_code(3);
}

/// Which of `secrets` occur anywhere in the readable memory of process `pid`, and how
/// many bytes were read (as root: the agent is not dumpable).
fn secrets_in_memory<'a>(pid: u32, secrets: &[(&'a str, &str)]) -> (usize, Vec<&'a str>) {
    use std::os::unix::fs::FileExt;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("read maps");
    let memory = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open mem");
    let (mut read, mut found) = (0, Vec::new());
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (range, perms) = (fields.next().unwrap(), fields.next().unwrap());
        if !perms.starts_with('r') || line.ends_with("[vvar]") || line.ends_with("[vsyscall]") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut region = vec![0; (end - start) as usize];
        let Ok(()) = memory.read_exact_at(&mut region, start) else {
            continue;
        };
        read += region.len();
        // The secrets are ASCII, which a lossy conversion keeps as it is; std's
        // optimized substring search keeps a debug build's scan quick.
        let text = String::from_utf8_lossy(&region);
        for (name, secret) in secrets {
            if !found.contains(name) && text.contains(*secret) {
                found.push(*name);
            }
        }
    }
    (read, found)
}

/// The age identity (`AGE-SECRET-KEY-1…`) the passphrase gives for the vault's header:
/// what an unlocked agent holds.
fn identity_of(env: &Env) -> String {
    let file = env.vault_bytes();
    let header: toml::Table =
        toml::from_str(std::str::from_utf8(&file[..payload_start(&file)]).unwrap()).unwrap();
    let kdf: spvault::vault::crypto::KdfParams = header["kdf"].clone().try_into().unwrap();
    let salt = header["kdf"]["salt"].as_str().unwrap();
    let key = spvault::vault::crypto::VaultKey::derive(&PASSPHRASE.into(), kdf, salt).unwrap();
    key.identity_string().expose().to_owned()
}

/// Whatever the agent held or handed out (the key, client secrets, refresh and
/// access tokens) is gone from its memory once locked: no freed buffer keeps a copy.
/// A service-manager agent (`--foreground`) stays running, locked, so its memory can
/// be read after the lock.
#[test]
fn after_lock_no_secret_is_left_in_the_agents_memory() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail("reading the agent's memory needs root");
        return;
    }
    let (_standin, mut env) = logged_in("p");
    let mut agent = env
        .command(&["agent", "--foreground"])
        .env_remove("SPVAULT_PASSPHRASE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(agent.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert!(ready.contains("listening"), "{ready}");
    env.run(&["unlock"]).ok();
    env.unset("SPVAULT_PASSPHRASE");
    // The first read hands the agent the decrypted vault; the next ones are answered
    // from it.
    for _ in 0..2 {
        assert_eq!(env.run(&["token", "p"]).ok().stdout, "Atza|standin-1\n");
    }
    env.run(&["env", "p", "--format", "json"]).ok();
    let identity = identity_of(&env);
    let secrets = [
        ("the key", identity.as_str()),
        ("the client secret", CLIENT_SECRET),
        ("the refresh token", REFRESH_TOKEN),
        ("the access token", "Atza|standin-1"),
        ("the passphrase", PASSPHRASE),
    ];
    let (read, unlocked) = secrets_in_memory(agent.id(), &secrets);
    env.run(&["lock"]).ok();
    let (_, locked) = secrets_in_memory(agent.id(), &secrets);
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(read > 0, "no memory read");
    assert!(
        unlocked.contains(&"the key"),
        "the scan does not find the key the agent holds: {unlocked:?}"
    );
    assert!(locked.is_empty(), "left after lock: {locked:?}");
    // Between requests, what it holds of the vault is encrypted.
    assert_eq!(unlocked, ["the key"], "in plaintext while unlocked");
}
