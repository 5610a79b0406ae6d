use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;

use crate::cli::RefreshArgs;
use crate::duration;
use crate::error::{Error, ExitCode, Result};
use crate::settings::Settings;
use crate::tokens::{SomeFailed, TokenService};
use crate::unlock;
use crate::vault::file::VaultFile;
use crate::vault::payload::Selection;

pub fn run(file: VaultFile, args: RefreshArgs, settings: &Settings) -> Result<()> {
    if args.profiles.is_empty() && !args.all {
        return Err(
            Error::Invalid("name the profiles to refresh, or refresh them all".into())
                .with_hint("`vault refresh --all` refreshes every profile that has a refresh token; `vault refresh PROFILE…` only those"),
        );
    }
    // Only the profiles named; with --all every one, around damaged records, which
    // are reported beside the others' outcomes.
    let named: Vec<&str> = args.profiles.iter().map(String::as_str).collect();
    let selection = if args.all {
        Selection::All
    } else {
        Selection::Only(&named)
    };
    let (unlocked, salvaged) = unlock::open_around_damage(file, selection)?;
    salvaged.require(unlocked.file(), &named)?;
    let mut codes = Vec::new();
    for damaged in &salvaged.damaged {
        let error = damaged.error(unlocked.file());
        codes.push(error.exit_code());
        println!("{}: FAILED: {}", damaged.profile, error.in_full());
    }
    let vault = salvaged.vault;
    let now = Timestamp::now();
    let names: Vec<String> = if args.all {
        vault
            .profiles
            .iter()
            .filter(|(_, p)| p.refresh_token.is_some())
            .map(|(name, _)| name.clone())
            .collect()
    } else {
        for name in &args.profiles {
            vault.profile(name)?;
        }
        args.profiles.clone()
    };
    let (due, fresh): (Vec<String>, Vec<String>) = names.into_iter().partition(|name| {
        args.force
            || !vault.profiles[name]
                .access_token
                .as_ref()
                .is_some_and(|t| t.valid_for(args.freshness.min_valid, now))
    });
    for name in &fresh {
        let left = now.duration_until(
            vault.profiles[name]
                .access_token
                .as_ref()
                .map(|t| t.expires_at)
                .unwrap_or(now),
        );
        println!(
            "{name}: still valid {} (use --force to refresh anyway)",
            duration::short(left)
        );
    }
    if due.is_empty() {
        return some_failed(&codes, codes.len());
    }
    let progress = ProgressBar::new(due.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .expect("constant template is valid"),
    );
    let service = TokenService::new(&settings.network()?)?;
    let outcomes = service
        .refresh(
            &unlocked,
            &vault,
            &due,
            usize::from(args.concurrency),
            |name| {
                progress.set_message(name.to_owned());
                progress.inc(1);
            },
        )?
        .saved()?;
    progress.finish_and_clear();
    for outcome in &outcomes {
        match &outcome.result {
            Ok(token) => println!(
                "{}: refreshed, valid {}",
                outcome.profile,
                duration::short(Timestamp::now().duration_until(token.expires_at))
            ),
            Err(e) => {
                codes.push(e.exit_code());
                println!("{}: FAILED: {}", outcome.profile, e.in_full());
            }
        }
    }
    some_failed(&codes, outcomes.len() + salvaged.damaged.len())
}

/// Exit 0 when nothing failed; else the code all failures share, or 1 when they differ.
fn some_failed(codes: &[ExitCode], total: usize) -> Result<()> {
    match codes.first() {
        None => Ok(()),
        Some(first) => Err(Error::from(SomeFailed {
            failed: codes.len(),
            total,
            code: if codes.iter().all(|c| c == first) {
                *first
            } else {
                ExitCode::Other
            },
        })),
    }
}
