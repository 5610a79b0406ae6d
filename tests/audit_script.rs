//! scripts/audit.sh: skipped loudly, never silently, when the advisory database
//! cannot be had; enforced whenever the snapshot is there (CI).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// A folder of stand-in programs: each name with the shell body it runs.
fn fake_programs(dir: &Path, programs: &[(&str, &str)]) -> String {
    for (name, body) in programs {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap())
}

fn audit(path: &str, snapshot: &Path) -> std::process::Output {
    Command::new("scripts/audit.sh")
        .env("PATH", path)
        .env("SPVAULT_ADVISORY_DB", snapshot)
        .output()
        .unwrap()
}

#[test]
fn without_snapshot_or_network_the_audit_is_skipped_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let path = fake_programs(dir.path(), &[("git", "exit 128")]);
    let out = audit(&path, &dir.path().join("no-snapshot"));
    assert_eq!(out.status.code(), Some(75), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("!!! WARNING: the dependency audit was SKIPPED"),
        "{stderr}"
    );
}

#[test]
fn with_the_snapshot_an_advisory_still_fails() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("advisory-db");
    std::fs::create_dir(&snapshot).unwrap();
    let found = fake_programs(
        dir.path(),
        &[
            ("git", "exit 128"),
            ("cargo-audit", "exit 0"),
            (
                "cargo",
                "echo \"error: 1 vulnerability found ($*)\"; exit 1",
            ),
        ],
    );
    let out = audit(&found, &snapshot);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--no-fetch --db"), "{stdout}");
    let clean = fake_programs(dir.path(), &[("cargo", "exit 0")]);
    assert_eq!(audit(&clean, &snapshot).status.code(), Some(0));
}
