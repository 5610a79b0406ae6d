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

/// The examples of a help text: each line after "Example(s):" that starts a
/// command, with the lines that continue it (after a `\`), as pasted.
fn examples(help: &str) -> Vec<String> {
    let Some((_, tail)) = help.split_once("Example") else {
        return Vec::new();
    };
    let mut found: Vec<String> = Vec::new();
    for line in tail.lines().skip(1) {
        if line.starts_with("      ") && found.last().is_some_and(|e| e.ends_with('\\')) {
            let last = found.last_mut().unwrap();
            last.push('\n');
            last.push_str(line);
        } else if let Some(command) = line.strip_prefix("  ") {
            found.push(command.to_owned());
        }
    }
    found
}

/// Every example in every `--help` pastes into bash as one command whose `vault`
/// invocations clap accepts as they are: bash runs each line with `vault` (and the
/// other programs) replaced by functions that record their arguments.
#[test]
fn every_help_example_pastes_as_one_working_command() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".local/share/bash-completion/completions")).unwrap();
    for input in [
        "secret.txt",
        "token.txt",
        "notification.json",
        "report.json",
    ] {
        std::fs::write(dir.path().join(input), "").unwrap();
    }
    let record = dir.path().join("vault-args");
    let stubs = "vault() { printf '%s\\0' \"$@\" >> \"$RECORD\"; printf '\\1' >> \"$RECORD\"; }
        for p in curl mail man python3 source cat; do eval \"$p() { :; }\"; done";
    let mut checked = 0;
    for entry in std::fs::read_dir("tests/cmd").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        // The help as the binary prints it: the snapshots turn `\` into `/`.
        let case: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let args: Vec<&str> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let help = std::process::Command::new(env!("CARGO_BIN_EXE_vault"))
            .args(&args)
            .output()
            .unwrap()
            .stdout;
        for example in examples(&String::from_utf8(help).unwrap()) {
            let _ = std::fs::remove_file(&record);
            let status = std::process::Command::new("bash")
                .args(["-c", &format!("{stubs}\n{example}")])
                .current_dir(dir.path())
                .env("HOME", &home)
                .env("RECORD", &record)
                .status()
                .unwrap();
            assert!(status.success(), "{}: {example}", path.display());
            let recorded = std::fs::read(&record).unwrap_or_default();
            let calls: Vec<&[u8]> = recorded
                .split(|&b| b == 1)
                .filter(|c| !c.is_empty())
                .collect();
            assert!(
                !calls.is_empty() || !example.contains("vault "),
                "{example}"
            );
            for call in calls {
                let args: Vec<String> = call
                    .split(|&b| b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                assert!(
                    args.iter().all(|a| !a.contains('\n')),
                    "{}: a quoted word spans lines, so the pasted command is not the one shown: {example}",
                    path.display()
                );
                let line = std::iter::once("vault".to_owned()).chain(args);
                if let Err(e) = <spvault::cli::Cli as clap::Parser>::try_parse_from(line) {
                    panic!("{}: {example}\n{e}", path.display());
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} examples found");
}

/// One set of names everywhere: the quick start's app is `my-app`, and no help
/// example or README command names another app.
#[test]
fn examples_use_the_quick_starts_names() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let mut texts = vec![("README.md".to_owned(), readme)];
    for entry in std::fs::read_dir("tests/cmd").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "stdout") {
            texts.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    for (name, text) in texts {
        for word in [
            "app add ",
            "app edit ",
            "app set-secret ",
            "app remove ",
            "--app ",
        ] {
            for (at, _) in text.match_indices(word) {
                let app = text[at + word.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                assert!(
                    ["my-app", "NAME", "APP", "APP_ID", "ID"].contains(&app)
                        || !app.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                    "{name}: `{word}{app}`: the quick start's app is my-app"
                );
            }
        }
    }
}
