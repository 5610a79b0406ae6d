use clap::Parser;

fn main() -> std::process::ExitCode {
    spvault::process::disable_core_dumps();
    let cli = spvault::cli::Cli::parse();
    match spvault::commands::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vault: {error}");
            std::process::ExitCode::from(error.exit_code() as u8)
        }
    }
}
