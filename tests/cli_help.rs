//! A snapshot of every command's `--help`, so any change to the CLI surface (the
//! public contract) shows up in review. Refresh with `TRYCMD=overwrite cargo test --test cli_help`.

#[test]
fn every_command_help_matches_its_snapshot() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}

/// Every example line in the help fits in 80 columns, so clap never wraps one in
/// the middle of a command: a copied line runs (long ones continue with `\`).
#[test]
fn help_examples_are_never_wrapped_mid_command() {
    for entry in std::fs::read_dir("tests/cmd").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "stdout") {
            continue;
        }
        let help = std::fs::read_to_string(&path).unwrap();
        let Some((_, examples)) = help.split_once("Example") else {
            continue;
        };
        for line in examples.lines().skip(1) {
            assert!(
                line.chars().count() <= 80,
                "{}: {line:?} is {} columns",
                path.display(),
                line.chars().count()
            );
            let command = line.trim_start();
            // Two spaces start an example; six continue the one before (after a `\`).
            if line.starts_with("  ") && !line.starts_with("      ") {
                assert!(
                    ["vault", "eval", "curl", "SPVAULT_", "BAO_", "#"]
                        .iter()
                        .any(|start| command.starts_with(start)),
                    "{}: {line:?} does not start a command",
                    path.display()
                );
            }
        }
    }
}

/// The options every command shares stand under their own heading, apart from the
/// command's own.
#[test]
fn global_options_have_their_own_heading() {
    for entry in std::fs::read_dir("tests/cmd").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "stdout") {
            continue;
        }
        let help = std::fs::read_to_string(&path).unwrap();
        let Some(at) = help.find("      --vault <PATH>") else {
            continue;
        };
        let heading = help[..at].rfind("\nGlobal options:\n");
        let own = help[..at].rfind("\nOptions:\n");
        assert!(
            heading.is_some() && heading > own,
            "{}: --vault is not under 'Global options'",
            path.display()
        );
    }
}
