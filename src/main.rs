use clap::Parser;

// Zeroes freed memory once the unlock agent switches it on (src/zeroing_allocator.rs).
#[global_allocator]
static ALLOCATOR: spvault::zeroing_allocator::ZeroingAllocator =
    spvault::zeroing_allocator::ZeroingAllocator;

fn main() -> std::process::ExitCode {
    spvault::process::disable_core_dumps();
    // A panic's message could quote a value; print where it happened, never what.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("vault: internal error{at}; please report it (see SECURITY.md)");
    }));
    // A completion script calling back (SPVAULT_COMPLETE set) is answered and exits.
    clap_complete::CompleteEnv::with_factory(spvault::commands::completions::command)
        .var(spvault::commands::completions::VAR)
        .complete();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match spvault::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => {
            if let Some(message) = spvault::cli::bad_variable(&error, &args) {
                eprintln!("vault: {message}");
                return std::process::ExitCode::from(spvault::ExitCode::Usage as u8);
            }
            let _ = error.print();
            if error.use_stderr()
                && let Some(line) = spvault::cli::exec_without_separator(&args)
            {
                eprintln!("hint: the command goes after `--`: {line}");
            }
            return std::process::ExitCode::from(error.exit_code() as u8);
        }
    };
    match spvault::commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vault: {error}");
            if let Some(hint) = error.hint() {
                eprintln!("hint: {hint}");
            }
            std::process::ExitCode::from(error.exit_code() as u8)
        }
    }
}
