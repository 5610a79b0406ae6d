use std::os::unix::process::CommandExt;
use std::process::Command;

use super::env::profile_variables;
use crate::cli::ExecArgs;
use crate::error::{Error, Result};
use crate::export::PROFILE_VAR;
use crate::vault::file::VaultFile;

pub fn run(file: VaultFile, args: ExecArgs) -> Result<()> {
    if let Some(active) = std::env::var_os(PROFILE_VAR)
        && !active.is_empty()
        && active != args.profile.as_str()
    {
        return Err(Error::Invalid(format!(
            "already inside `vault exec` for profile '{}': nesting another profile would mix credentials; unset {PROFILE_VAR} first if you mean it",
            active.to_string_lossy()
        )));
    }
    let variables = profile_variables(file, &args.profile, &args.variables, &args.freshness)?;
    let (program, program_args) = args
        .command
        .split_first()
        .ok_or_else(|| Error::Invalid("no command given after --".into()))?;
    let mut command = Command::new(program);
    command.args(program_args);
    for variable in &variables {
        command.env(variable.name, variable.value.expose());
    }
    crate::process::restore_core_dumps();
    // exec only returns on failure; on success the command replaces this process, so
    // signals and the exit status are its own.
    let error = command.exec();
    Err(Error::Other(format!(
        "cannot run {}: {error}",
        program.to_string_lossy()
    )))
}
