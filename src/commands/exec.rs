use std::os::unix::process::CommandExt;
use std::process::Command;

use super::env::profile_variables;
use crate::cli::ExecArgs;
use crate::error::{Error, ExitCode, Result};
use crate::export::EXEC_GUARD_VAR;
use crate::settings::Settings;
use crate::vault::file::VaultFile;

pub fn run(file: VaultFile, args: ExecArgs, settings: &Settings) -> Result<()> {
    if let Some(active) = std::env::var_os(EXEC_GUARD_VAR)
        && !active.is_empty()
        && active != args.profile.as_str()
    {
        return Err(Error::Invalid(format!(
            "already inside `vault exec` for profile '{}': nesting another profile would mix credentials",
            active.to_string_lossy()
        ))
        .with_hint(format!("unset {EXEC_GUARD_VAR} first if you mean it")));
    }
    let variables = profile_variables(
        file,
        &args.profile,
        &args.variables,
        &args.freshness,
        settings,
    )?;
    let (program, program_args) = args
        .command
        .split_first()
        .ok_or_else(|| Error::Invalid("no command given after --".into()))?;
    let mut command = Command::new(program);
    command.args(program_args);
    crate::settings::withhold_unlocking_vars(&mut command, &args.keep_env);
    for variable in &variables {
        command.env(variable.name, variable.value.expose());
    }
    command.env(EXEC_GUARD_VAR, &args.profile);
    crate::process::restore_core_dumps();
    // exec only returns on failure; on success the command replaces this process, so
    // signals and the exit status are its own.
    let error = command.exec();
    let program = program.to_string_lossy().into_owned();
    // As shells do: 127 when there is no such command, 126 when it cannot run.
    Err(match error.kind() {
        std::io::ErrorKind::NotFound => Error::CannotRun {
            detail: "no such command: check its name, or give its path".into(),
            program,
            code: ExitCode::CommandNotFound,
        },
        _ => Error::CannotRun {
            detail: format!("{error}"),
            program,
            code: ExitCode::CannotExecute,
        },
    })
}
