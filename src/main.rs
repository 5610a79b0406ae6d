use clap::Parser;

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
    let cli = spvault::cli::Cli::parse();
    match spvault::commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vault: {error}");
            std::process::ExitCode::from(error.exit_code() as u8)
        }
    }
}
