//! spvault's worst day: processes killed mid-write, many writers at once, damaged and
//! swapped files, and secrets looked for everywhere they must not be.

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use support::*;

fn temp_files(env: &Env) -> Vec<String> {
    std::fs::read_dir(env.vault.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

/// How many kills the crash test makes (`SPVAULT_CRASH_ITERATIONS`, default 200).
fn iterations() -> usize {
    std::env::var("SPVAULT_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

#[test]
fn sigkill_at_random_points_leaves_the_old_or_the_new_vault() {
    let env = Env::new();
    env.init_fast();
    env.add_main_app("amzn1.oa2-cs.v1.s");
    // A large vault, so that a write takes long enough to be interrupted at many points.
    let yml = env.path("many.yml");
    let text = credentials_yml("seller", 400, 400);
    std::fs::write(&yml, text).unwrap();
    env.import_yml(&yml, &["--no-verify"]).ok();
    env.run(&["add-profile", "marker-a", "--region", "eu"]).ok();
    let mut expected = env.profile_names();
    let mut rng_state: u64 = 0x5eed;
    let mut interrupted = 0;
    for round in 0..iterations() {
        // The change: rename the marker back and forth.
        let (from, to) = if expected.contains("marker-a") {
            ("marker-a", "marker-b")
        } else {
            ("marker-b", "marker-a")
        };
        let mut child = env
            .command(&["rename", from, to])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        rng_state = rng_state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_micros((rng_state >> 33) % 150_000));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let names = env.profile_names();
        let mut renamed = expected.clone();
        renamed.remove(from);
        renamed.insert(to.to_owned());
        if names == renamed {
            expected = renamed;
        } else {
            assert_eq!(
                names, expected,
                "round {round}: neither the old nor the new content"
            );
        }
        if !status.success() {
            interrupted += 1;
        }
    }
    assert!(
        interrupted > iterations() / 10,
        "only {interrupted} writes were interrupted: the test proves little"
    );
    // Leftover temp files never get in the way, and the next write clears them.
    env.run(&["add-profile", "after", "--region", "na"]).ok();
    assert_eq!(temp_files(&env), Vec::<String>::new());
    assert!(env.profile_names().contains("after"));
}

/// A write killed between backing up and replacing leaves the backup a hard link to
/// the vault itself. The next write must still leave no temp file behind (renaming a
/// link over another link to the same file does nothing).
#[test]
fn a_backup_that_is_the_vault_itself_leaves_no_temp_file() {
    let env = Env::new();
    env.init_fast();
    env.add_main_app("amzn1.oa2-cs.v1.s");
    let backup = env.path("vault/vault.toml.bak");
    std::fs::remove_file(&backup).unwrap();
    std::fs::hard_link(&env.vault, &backup).unwrap();
    env.run(&["add-profile", "p", "--region", "eu"]).ok();
    assert_eq!(temp_files(&env), Vec::<String>::new());
    assert_ne!(std::fs::read(&backup).unwrap(), env.vault_bytes());
    env.run(&["show", "p"]).ok();
}

#[test]
fn thirty_two_processes_at_once_lose_nothing() {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    for i in 0..8 {
        env.logged_in_profile(&standin, &format!("r{i}"), &format!("Atzr|refresh-{i}"));
    }
    for i in 0..8 {
        env.run(&["add-profile", &format!("gone{i}"), "--region", "na"])
            .ok();
    }
    let issued_before = standin.issued();
    standin.set_latency(Duration::from_millis(100));
    let mut jobs: Vec<(String, Vec<String>)> = Vec::new();
    for i in 0..8 {
        jobs.push((
            "refresh".into(),
            vec!["refresh".into(), format!("r{i}"), "--force".into()],
        ));
        jobs.push((
            "add".into(),
            vec![
                "add-profile".into(),
                format!("new{i}"),
                "--region".into(),
                "fe".into(),
            ],
        ));
        jobs.push((
            "remove".into(),
            vec!["remove".into(), format!("gone{i}"), "--yes".into()],
        ));
        jobs.push(("list".into(), vec!["list".into(), "--json".into()]));
    }
    let children: Vec<_> = jobs
        .iter()
        .map(|(_, args)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            env.command(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for ((kind, args), child) in jobs.iter().zip(children) {
        let out = finish(child, "", Duration::from_secs(180));
        assert_eq!(out.code, 0, "{kind} {args:?} failed: {}", out.stderr);
    }
    standin.set_latency(Duration::ZERO);
    let expected: BTreeSet<String> = (0..8)
        .flat_map(|i| [format!("r{i}"), format!("new{i}")])
        .collect();
    assert_eq!(env.profile_names(), expected);
    assert_eq!(standin.issued(), issued_before + 8);
    // Every refreshed token was saved: reading them makes no request.
    let requests = standin.requests();
    let tokens: BTreeSet<String> = (0..8)
        .map(|i| env.run(&["token", &format!("r{i}")]).ok().stdout)
        .collect();
    assert_eq!(tokens.len(), 8);
    assert_eq!(standin.requests(), requests);
}

#[test]
fn truncation_anywhere_and_swapped_payloads_are_refused_untouched() {
    let env = Env::new();
    env.init_fast();
    env.run(&["add-profile", "x", "--region", "eu"])
        .expect_code(2);
    env.add_main_app("amzn1.oa2-cs.v1.s");
    let good = env.vault_bytes();
    let header_end = payload_start(&good);
    let header_lines = good[..header_end]
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n');
    let cuts: Vec<usize> = header_lines
        .flat_map(|(i, _)| [i, i + 1])
        .chain([
            header_end + 1,
            (header_end + good.len()) / 2,
            good.len() - 1,
        ])
        .collect();
    for at in cuts {
        std::fs::write(&env.vault, &good[..at]).unwrap();
        env.run(&["list"]).expect_code(4);
        assert_eq!(std::fs::read(&env.vault).unwrap(), &good[..at]);
    }
    // Another vault's payload (same passphrase) inside this one's envelope.
    let other = Env::new();
    other.init_fast();
    let other_bytes = other.vault_bytes();
    let mut swapped = good[..header_end].to_vec();
    swapped.extend_from_slice(&other_bytes[payload_start(&other_bytes)..]);
    std::fs::write(&env.vault, &swapped).unwrap();
    env.run(&["list"]).expect_code(4);
    assert_eq!(std::fs::read(&env.vault).unwrap(), swapped);
    std::fs::write(&env.vault, &good).unwrap();
    env.run(&["list"]).ok();
}

/// Format 3 seals each profile on its own: a damaged record is named, spoils its
/// own profile and no other, and nothing is written over it.
#[test]
fn a_damaged_record_is_named_and_spoils_no_other_profile() {
    let env = Env::new();
    env.init_fast();
    env.add_main_app("amzn1.oa2-cs.v1.s");
    for name in ["a", "b"] {
        env.run(&["add-profile", name, "--region", "eu"]).ok();
    }
    // Each write appends the records it sealed: b's is last, ending with its tag.
    let mut bytes = env.vault_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&env.vault, &bytes).unwrap();
    let out = env.run(&["show", "b"]).expect_code(4);
    assert!(
        out.stderr.contains("profile 'b'") && out.stderr.contains("damaged"),
        "{}",
        out.stderr
    );
    env.run(&["show", "a"]).ok();
    env.run(&["check"]).expect_code(4);
    env.run(&["edit-profile", "b", "--sandbox"]).expect_code(4);
    assert_eq!(env.vault_bytes(), bytes);
}

#[test]
fn an_unreadable_vault_exits_4() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let env = Env::new();
        env.init_fast();
        std::fs::set_permissions(&env.vault, std::fs::Permissions::from_mode(0o000)).unwrap();
        env.run(&["list"]).expect_code(4);
        return;
    }
    // Root reads anything: read as nobody instead, a file only root may read.
    let env = Env::new();
    env.init_fast();
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        env.vault.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let binary = env.dir.path().join("vault-bin");
    std::fs::copy(env!("CARGO_BIN_EXE_vault"), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = env.vault_bytes();
    let passphrase_file = env.path("pass.txt");
    std::fs::write(&passphrase_file, PASSPHRASE).unwrap();
    std::fs::set_permissions(&passphrase_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.dir.path().join("run");
    let vars = [
        ("SPVAULT_FILE", env.vault.as_path()),
        ("SPVAULT_PASSPHRASE_FILE", passphrase_file.as_path()),
        ("XDG_RUNTIME_DIR", run.as_path()),
    ];
    let out = run_as_nobody(&binary, &["list"], &vars).expect_code(4);
    assert!(
        out.stderr.contains("cannot read vault file"),
        "{}",
        out.stderr
    );
    assert_eq!(env.vault_bytes(), before);
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_the_vault() {
    let env = Env::new();
    let mount = env.path("tiny");
    std::fs::create_dir(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=48k,mode=0700",
            "tmpfs",
            mount.to_str().unwrap(),
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root and mount rights)");
        return;
    }
    let mut env2 = Env::new();
    let vault = mount.join("vault.toml");
    env2.set("SPVAULT_FILE", vault.to_str().unwrap());
    env2.init_fast();
    env2.add_main_app("amzn1.oa2-cs.v1.s");
    let yml = env.path("big.yml");
    let text = credentials_yml("s", 200, 300);
    std::fs::write(&yml, text).unwrap();
    let before = std::fs::read(&vault).unwrap();
    let out = env2.import_yml(&yml, &["--no-verify"]).expect_code(1);
    assert!(
        out.stderr.contains("No space left") || out.stderr.contains("space"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read(&vault).unwrap(),
        before,
        "the vault is unchanged"
    );
    env2.run(&["app", "list"]).ok();
    let _ = std::process::Command::new("umount").arg(&mount).status();
}

/// Runs `script` (sh) recording the cmdline of every process it can see that is an
/// ancestor, for the leak check.
const RECORD_CMDLINES: &str =
    "for p in $$ $PPID; do tr '\\0' ' ' < /proc/$p/cmdline; echo; done >> \"$CMDLINES\"";

#[test]
fn no_secret_leaks_into_output_arguments_or_errors() {
    let standin = StandIn::start();
    let mut env = Env::new();
    env.with_app(Some(&standin));
    // Half-hour tokens, so that a 45-minute margin makes `token` refresh below.
    standin.set_expires_in(1800);
    env.logged_in_profile(&standin, "p", REFRESH_TOKEN);
    let cmdlines = env.path("cmdlines.txt");
    env.set("CMDLINES", cmdlines.to_str().unwrap());
    // The passphrase now comes from a command that records the processes' arguments.
    env.unset("SPVAULT_PASSPHRASE");
    let passphrase_file = env.path("passphrase.txt");
    std::fs::write(&passphrase_file, PASSPHRASE).unwrap();
    env.set(
        "SPVAULT_PASSPHRASE_COMMAND",
        &format!("{RECORD_CMDLINES}; cat '{}'", passphrase_file.display()),
    );
    env.set(
        "BROWSER",
        &format!("sh -c '{}' ", RECORD_CMDLINES.replace('\'', "'\\''")),
    );
    let secrets = [PASSPHRASE, "amzn1.oa2-cs", REFRESH_TOKEN];
    let commands: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["list", "--json"],
        vec!["show", "p"],
        vec!["show", "p", "--json"],
        vec!["app", "list"],
        vec!["app", "list", "--json"],
        vec!["status"],
        vec!["check"],
        vec!["refresh", "--all", "--force"],
        vec!["token", "p"],
        vec!["env", "p"],
        vec!["exec", "p", "--", "sh", "-c", RECORD_CMDLINES],
        vec!["token", "p", "--grantless", "notifications"],
        vec!["login", "p", "--no-browser", "--timeout", "1s"],
        vec!["rename", "p", "q"],
        vec!["rename", "q", "p"],
        vec!["show", "nobody"],
        vec!["login", "p", "--refresh-token-stdin"],
    ];
    for args in &commands {
        let out = env.run_stdin(args, "Atza|not-a-refresh-token");
        for secret in secrets {
            assert!(!out.stdout.contains(secret), "{args:?} printed {secret}");
            assert!(
                !out.stderr.contains(secret),
                "{args:?} printed {secret} on stderr"
            );
        }
    }
    // Rejections and failures, where secrets are most at risk.
    standin.revoke(REFRESH_TOKEN);
    standin.add_client(CLIENT_ID, "rotated");
    for (args, code) in [
        (vec!["refresh", "p", "--force"], 6),
        // Falls back to the cached token, with a warning that must not leak either.
        (vec!["token", "p", "--min-valid", "45m"], 0),
        (
            vec!["token", "p", "--grantless", "client-credential-rotation"],
            6,
        ),
    ] {
        let out = env.run(&args).expect_code(code);
        for secret in secrets {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{args:?} leaked {secret}"
            );
        }
    }
    let recorded = std::fs::read_to_string(&cmdlines).unwrap();
    assert!(
        recorded.lines().count() >= 10,
        "too few processes recorded: {recorded}"
    );
    for secret in secrets.iter().chain(&["Atza|standin"]) {
        assert!(
            !recorded.contains(secret),
            "a process's arguments hold {secret}:\n{recorded}"
        );
    }
}

#[test]
fn sidecar_files_never_follow_links_and_shared_folders_are_refused() {
    let mut env = Env::new();
    env.with_app(None);
    let sidecar = |suffix: &str| {
        let mut name = env.vault.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    let add_profile = |name: &str| env.run(&["add-profile", name, "--region", "eu"]);
    // A dangling link as the lock file: refused, and nothing appears where it points.
    let elsewhere = env.path("elsewhere");
    std::fs::remove_file(sidecar(".lock")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, sidecar(".lock")).unwrap();
    let before = env.vault_bytes();
    let out = add_profile("a").expect_code(2);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert!(!elsewhere.exists(), "a file was created through the link");
    assert_eq!(env.vault_bytes(), before);
    std::fs::remove_file(sidecar(".lock")).unwrap();
    // A link as the backup: replaced by the backup, its target untouched.
    let precious = env.path("precious");
    std::fs::write(&precious, "keep me").unwrap();
    let _ = std::fs::remove_file(sidecar(".bak"));
    std::os::unix::fs::symlink(&precious, sidecar(".bak")).unwrap();
    add_profile("b").ok();
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    let backup = std::fs::symlink_metadata(sidecar(".bak")).unwrap();
    assert!(backup.file_type().is_file());
    // A vault folder other users can write to: no write goes there.
    let folder = env.vault.parent().unwrap();
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o777)).unwrap();
    let before = env.vault_bytes();
    let out = add_profile("c").expect_code(2);
    assert!(
        out.stderr.contains("other users can write"),
        "{}",
        out.stderr
    );
    assert_eq!(env.vault_bytes(), before);
}
