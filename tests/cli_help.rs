//! A snapshot of every command's `--help`, so any change to the CLI surface (the
//! public contract) shows up in review. Refresh with `TRYCMD=overwrite cargo test --test cli_help`.

#[test]
fn every_command_help_matches_its_snapshot() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
