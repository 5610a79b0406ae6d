//! `vault man`: the manual pages. clap_mangen writes most of each page; spvault
//! writes the synopsis (clap_mangen's leaves out the options' values), heads the
//! help's epilogue EXAMPLES rather than EXTRA, and adds ENVIRONMENT, EXIT STATUS
//! and FILES to vault(1).

use std::path::Path;

use clap::CommandFactory;
use roff::{Roff, bold, italic, roman};

use crate::cli::Cli;
use crate::error::{Error, Result};
use crate::reference;

/// The manual page on stdout, or one page per command written to `dir` (created
/// when missing).
pub fn man(dir: Option<&Path>) -> Result<()> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    match dir {
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(page(&command, true).as_bytes())
                .map_err(|e| Error::Other(format!("cannot print the manual: {e}")))
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
            write_pages(&command, dir, true)?;
            println!("Wrote the manual pages to {}", dir.display());
            Ok(())
        }
    }
}

/// `command`'s page and its subcommands', named as clap_mangen names them.
fn write_pages(command: &clap::Command, dir: &Path, root: bool) -> Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, false)?;
    }
    let path = dir.join(clap_mangen::Man::new(command.clone()).get_filename());
    std::fs::write(&path, page(command, root)).map_err(|e| Error::io("write", &path, e))
}

fn page(command: &clap::Command, root: bool) -> String {
    let man = clap_mangen::Man::new(command.clone());
    let mut out: Vec<u8> = Vec::new();
    let has_arguments = command.get_arguments().any(|a| !a.is_hide_set());
    let has_subcommands = command.get_subcommands().any(|s| !s.is_hide_set());
    // Writing to a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = synopsis(command).to_writer(&mut out);
    let _ = man.render_description_section(&mut out);
    if has_arguments {
        let _ = man.render_options_section(&mut out);
    }
    if has_subcommands {
        let _ = man.render_subcommands_section(&mut out);
    }
    let mut roff = Roff::new();
    if let Some(epilogue) = command.get_after_help() {
        let text = epilogue.to_string();
        let heading = if text.contains("Example") {
            "EXAMPLES"
        } else {
            "NOTES"
        };
        roff.control("SH", [heading]);
        for line in text.lines().filter(|l| !l.starts_with("Example")) {
            roff.text([roman(line)]);
            roff.control("br", []);
        }
    }
    if root {
        roff.control("SH", ["ENVIRONMENT"]);
        for (name, meaning) in reference::ENVIRONMENT {
            roff.control("TP", [])
                .text([bold(*name)])
                .text([roman(*meaning)]);
        }
        roff.control("SH", ["EXIT STATUS"]);
        roff.control("TP", [])
            .text([bold("0")])
            .text([roman("success")]);
        for (code, meaning) in reference::EXIT_STATUS {
            roff.control("TP", [])
                .text([bold((*code as u8).to_string())])
                .text([roman(*meaning)]);
        }
        roff.control("SH", ["FILES"]);
        for (name, meaning) in reference::FILES {
            roff.control("TP", [])
                .text([italic(*name)])
                .text([roman(*meaning)]);
        }
    }
    let _ = roff.to_writer(&mut out);
    if command.get_version().is_some() {
        let _ = man.render_version_section(&mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `vault [--vault PATH] [--store STORE] … <COMMAND>`: every option with its value.
fn synopsis(command: &clap::Command) -> Roff {
    let name = command
        .get_bin_name()
        .unwrap_or_else(|| command.get_name())
        .to_owned();
    let mut line = vec![bold(name)];
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        let Some(flag) = arg
            .get_long()
            .map(|l| format!("--{l}"))
            .or_else(|| arg.get_short().map(|s| format!("-{s}")))
        else {
            continue;
        };
        let (open, close) = if arg.is_required_set() {
            ("", "")
        } else {
            ("[", "]")
        };
        line.push(roman(format!(" {open}")));
        line.push(bold(flag));
        if arg.get_action().takes_values() {
            let value = arg
                .get_value_names()
                .map(|v| v.join(" "))
                .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
            line.push(roman(" "));
            line.push(italic(value));
        }
        line.push(roman(close));
    }
    for arg in command.get_positionals() {
        let value = arg
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let (open, close) = if arg.is_required_set() {
            ("<", ">")
        } else {
            ("[", "]")
        };
        line.push(roman(format!(" {open}")));
        line.push(italic(value));
        line.push(roman(close));
    }
    if command.get_subcommands().any(|s| !s.is_hide_set()) {
        line.push(roman(" <"));
        line.push(italic("COMMAND"));
        line.push(roman(">"));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]).text(line);
    roff
}
