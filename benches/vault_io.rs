//! Opening and saving vaults of 1, 100 and 10,000 profiles, and opening and changing
//! one profile of 1 or 10,000, with the KDF measured apart: `cargo bench --bench
//! vault_io`. Figures go to docs/performance.md.

mod fixture;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use spvault::secret::Secret;
use spvault::vault::crypto::{KdfParams, VaultKey, new_salt};
use spvault::vault::file::VaultFile;

const MIN_KDF: KdfParams = KdfParams {
    memory_kib: KdfParams::MIN_MEMORY_KIB,
    iterations: 1,
    parallelism: 1,
};

fn kdf(c: &mut Criterion) {
    let mut group = c.benchmark_group("kdf");
    group.sample_size(10);
    let passphrase = Secret::from("correct horse battery staple");
    for (name, params) in [("default", KdfParams::DEFAULT), ("minimum", MIN_KDF)] {
        let salt = new_salt();
        group.bench_function(name, |b| {
            b.iter(|| VaultKey::derive(&passphrase, params, &salt).unwrap())
        });
    }
    group.finish();
}

/// One `update` re-reads, decrypts and parses the whole vault, changes nothing, seals
/// every profile anew, and atomically replaces the file: open+save without the KDF.
fn open_and_save(c: &mut Criterion) {
    // SAFETY: set before any other thread exists; read by the passphrase sources.
    unsafe { std::env::set_var("SPVAULT_PASSPHRASE", "correct horse battery staple") };
    let mut group = c.benchmark_group("open_and_save");
    group.sample_size(10);
    for profiles in [1u32, 100, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.toml");
        let unlocked = fixture::write_vault(path.to_str().unwrap(), profiles, MIN_KDF).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        eprintln!("vault of {profiles} profiles: {size} bytes");
        group.bench_with_input(BenchmarkId::from_parameter(profiles), &profiles, |b, _| {
            b.iter(|| unlocked.update(|_| Ok(())).unwrap())
        });
    }
    group.finish();
}

/// Opening the vault to read one profile (what `token`, `env` and `exec` do without
/// the agent): read the header and the root, checksum and decrypt them, and read and
/// open that profile's record only.
fn open_one_profile(c: &mut Criterion) {
    // SAFETY: as above.
    unsafe { std::env::set_var("SPVAULT_PASSPHRASE", "correct horse battery staple") };
    let mut group = c.benchmark_group("open_one_profile");
    group.sample_size(10);
    for profiles in [1u32, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.toml");
        fixture::write_vault(path.to_str().unwrap(), profiles, MIN_KDF).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(profiles), &profiles, |b, _| {
            b.iter(|| spvault::unlock::open_profile(VaultFile::file(path.clone()), "p0").unwrap())
        });
    }
    group.finish();
}

/// A write about one profile (what `edit-profile`, `login` and a token refresh do):
/// re-read the header and root under the lock, open, change and re-seal that
/// profile, copy the others' records, replace the file. Without the KDF.
fn update_one_profile(c: &mut Criterion) {
    // SAFETY: as above.
    unsafe { std::env::set_var("SPVAULT_PASSPHRASE", "correct horse battery staple") };
    let mut group = c.benchmark_group("update_one_profile");
    group.sample_size(10);
    for profiles in [1u32, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.toml");
        let unlocked = fixture::write_vault(path.to_str().unwrap(), profiles, MIN_KDF).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(profiles), &profiles, |b, _| {
            b.iter(|| {
                unlocked
                    .update_profiles(&["p0"], |vault| {
                        let profile = vault.profile_mut("p0")?;
                        profile.sandbox = !profile.sandbox;
                        Ok(())
                    })
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// One access log entry, sealed: open and lock the log, read its tail, MAC, append
/// (issue 26: at most 0.2 ms).
fn audit_entry(c: &mut Criterion) {
    use spvault::audit::{Entry, Event, Log};
    let dir = tempfile::tempdir().unwrap();
    let file = VaultFile::file(dir.path().join("vault.toml"));
    let vault = spvault::vault::Vault {
        audit: Some(spvault::vault::model::AuditSetting::new(true)),
        ..Default::default()
    };
    let log = Log::of(&file, &vault);
    c.bench_function("audit entry (sealed, appended)", |b| {
        b.iter(|| {
            let entry = Entry::new(Event::Token)
                .profile("p0")
                .app("main")
                .credential("access_token");
            log.record(entry).unwrap()
        })
    });
}

criterion_group!(
    benches,
    kdf,
    open_and_save,
    open_one_profile,
    update_one_profile,
    audit_entry
);
criterion_main!(benches);
