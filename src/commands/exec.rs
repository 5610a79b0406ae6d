use std::os::unix::process::CommandExt;
use std::process::Command;

use super::env::profile_variables;
use crate::cli::ExecArgs;
use crate::error::{Error, ExitCode, Result};
use crate::export::{EXEC_GUARD_VAR, Variable};
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
    if args.proxy {
        return super::exec_proxy::run(file, args, settings);
    }
    let variables = profile_variables(
        file,
        &args.profile,
        &args.variables,
        &args.freshness,
        settings,
        crate::audit::Event::Exec,
    )?;
    let mut command = child_command(&args, &variables)?;
    crate::process::restore_core_dumps();
    // exec only returns on failure; on success the command replaces this process, so
    // signals and the exit status are its own.
    Err(cannot_run(&args, command.exec()))
}

/// The command after `--`, with the profile's variables and the nesting guard.
pub fn child_command(args: &ExecArgs, variables: &[Variable]) -> Result<Command> {
    let (program, program_args) = args
        .command
        .split_first()
        .ok_or_else(|| Error::Invalid("no command given after --".into()))?;
    let mut command = Command::new(program);
    command.args(program_args);
    crate::settings::withhold_unlocking_vars(&mut command, &args.keep_env);
    for variable in variables {
        command.env(variable.name, variable.value.expose());
    }
    command.env(EXEC_GUARD_VAR, &args.profile);
    Ok(command)
}

/// Why the command could not start, as shells say it: 127 when there is no such
/// command, 126 when it cannot run.
pub fn cannot_run(args: &ExecArgs, error: std::io::Error) -> Error {
    let program = args.command[0].to_string_lossy().into_owned();
    match error.kind() {
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
    }
}
