//! `passwd` and `recipients remove` re-encrypt every profile's record, which one that
//! does not open prevents: they refuse, naming it, unless `--drop-damaged` is given.

use crate::error::Error;

/// The refusal of `command` (as typed, without the flag) over damaged records, with
/// the flag that goes ahead among the fixes.
pub fn refusal(error: Error, command: &str) -> Error {
    let Error::DamagedRecords { profiles, .. } = &error else {
        return error;
    };
    let them = if profiles.len() == 1 { "it" } else { "them" };
    let others = error.hint().unwrap_or_default();
    let hint = format!("`{command} --drop-damaged` leaves {them} out; else {others}");
    error.with_hint(hint)
}

/// Says which damaged profiles `--drop-damaged` left out, if any.
pub fn report_dropped(dropped: &[String]) {
    if dropped.is_empty() {
        return;
    }
    let names: Vec<String> = dropped.iter().map(|p| format!("'{p}'")).collect();
    let (noun, s) = match dropped.len() {
        1 => ("profile", ""),
        _ => ("profiles", "s"),
    };
    println!(
        "Dropped {noun} {}, whose record{s} did not open (--drop-damaged)",
        names.join(", ")
    );
}
