use super::damaged;
use crate::cli::{InitArgs, KdfOverride};
use crate::error::{Error, Result};
use crate::passphrase;
use crate::unlock;
use crate::vault::crypto::{KdfOutOfBounds, KdfParams};
use crate::vault::file::VaultFile;
use crate::vault::payload::Selection;

fn kdf_from_mib(memory_mib: u32, iterations: u32, parallelism: u32) -> Result<KdfParams> {
    let kdf = KdfParams {
        memory_kib: memory_mib.saturating_mul(1024),
        iterations,
        parallelism,
    };
    kdf.check_bounds().map_err(|e| {
        let mib = |kib: u64| kib / 1024;
        Error::Invalid(match e {
            KdfOutOfBounds::Memory(_) => format!(
                "--kdf-memory-mib {memory_mib} is outside {}..={} (MiB)",
                mib(KdfParams::MIN_MEMORY_KIB.into()),
                mib(KdfParams::MAX_MEMORY_KIB.into())
            ),
            KdfOutOfBounds::Iterations(n) => format!(
                "--kdf-iterations {n} is outside 1..={} (Argon2id passes)",
                KdfParams::MAX_ITERATIONS
            ),
            KdfOutOfBounds::Parallelism(n) => format!(
                "--kdf-parallelism {n} is outside 1..={} (Argon2id lanes)",
                KdfParams::MAX_PARALLELISM
            ),
            KdfOutOfBounds::Work(_) => format!(
                "--kdf-memory-mib times --kdf-iterations is {}, above {}: lower one of them",
                u64::from(memory_mib) * u64::from(iterations),
                mib(KdfParams::MAX_WORK_KIB)
            ),
        })
    })?;
    Ok(kdf)
}

pub fn init(file: VaultFile, args: InitArgs) -> Result<()> {
    let kdf = kdf_from_mib(
        args.kdf.kdf_memory_mib,
        args.kdf.kdf_iterations,
        args.kdf.kdf_parallelism,
    )?;
    let (unlocked, vault) = unlock::create(file, kdf, !args.no_audit)?;
    println!(
        "Created an empty vault at {}",
        unlocked.file().path().display()
    );
    let log = crate::audit::Log::of(unlocked.file(), &vault);
    if log.is_on() {
        println!("Its access log: {}", log.path().display());
    }
    Ok(())
}

pub fn passwd(file: VaultFile, args: KdfOverride, drop_damaged: bool) -> Result<()> {
    // The current passphrase even while the agent or an identity file could open the
    // vault: otherwise any process of this user could lock the owner out.
    let (mut unlocked, vault, _) = unlock::open_with_passphrase(file)?;
    // Refused before the new passphrase is asked for, not after; the write checks
    // again under the lock.
    if !drop_damaged && let Some(damage) = unlocked.reload(Selection::All)?.damage(unlocked.file())
    {
        return Err(damaged::refusal(damage, "vault passwd"));
    }
    let current = unlocked.kdf();
    let kdf = kdf_from_mib(
        args.kdf_memory_mib.unwrap_or(current.memory_kib / 1024),
        args.kdf_iterations.unwrap_or(current.iterations),
        args.kdf_parallelism.unwrap_or(current.parallelism),
    )?;
    let new_passphrase = passphrase::new(
        unlocked.file().path(),
        unlocked.file().passphrase_sources(),
        true,
    )?;
    let dropped = unlocked
        .change_passphrase(&new_passphrase, kdf, drop_damaged, |_| Ok(()))
        .map_err(|e| damaged::refusal(e, "vault passwd"))?;
    crate::agent::forget_key(unlocked.file().path());
    let backup = unlocked
        .file()
        .backup_path()
        .map(|path| {
            format!(
                " (the backup {} still opens with the old one: delete it if that passphrase leaked)",
                path.display()
            )
        })
        .unwrap_or_default();
    println!(
        "Changed the passphrase of {}; the old one no longer opens it{backup}",
        unlocked.file().path().display()
    );
    damaged::report_dropped(&dropped);
    if !vault.recipients.is_empty() {
        let names: Vec<_> = vault.recipients.keys().map(String::as_str).collect();
        println!(
            "Recipients keep access (their keys do not depend on the passphrase): {}. Remove one with `vault recipients remove NAME`.",
            names.join(", ")
        );
    }
    Ok(())
}
