//! Tables that fit the terminal: columns dropped whole, least useful first, rather
//! than cells wrapped mid-word or an id cut into pieces; names truncated with `…`
//! only when the name column alone is too wide. No rule between rows.

use comfy_table::{ContentArrangement, Table, TableComponent};

/// From this width on (and with `--wide`, or when the width is unknown) every
/// column is shown.
pub const WIDE: usize = 140;

/// The space a column takes beside its content: one blank on either side.
const PADDING: usize = 2;

pub struct Column {
    pub header: &'static str,
    /// Lower is more useful: kept first when the terminal is narrow. 0 is the name
    /// column, always shown.
    pub rank: u8,
}

/// What fits `width` columns: the indices of the columns to show (in their own
/// order) and the width the name column's cells are cut to, if it must be.
fn fit(columns: &[Column], rows: &[Vec<String>], width: usize) -> (Vec<usize>, Option<usize>) {
    let natural: Vec<usize> = (0..columns.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([columns[i].header.chars().count()])
                .max()
                .unwrap_or(0)
                + PADDING
        })
        .collect();
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&i| columns[i].rank);
    let mut shown = Vec::new();
    let mut used = 0;
    for i in order {
        if columns[i].rank == 0 || used + natural[i] <= width {
            used += natural[i];
            shown.push(i);
        }
    }
    shown.sort_unstable();
    let cut = (used > width).then(|| width.saturating_sub(used - natural[0] + PADDING).max(1));
    (shown, cut)
}

/// `text` in at most `width` characters, ending in `…` when cut.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let kept: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The terminal's width, when stdout is one and says; a width of 0 (as under
/// `script`) is no width.
fn terminal_width() -> Option<usize> {
    Table::new().width().map(usize::from).filter(|&w| w > 0)
}

/// Renders `rows` under `columns` in `width` columns (every column when `None`);
/// the second value names the columns left out.
fn render(
    columns: &[Column],
    rows: &[Vec<String>],
    width: Option<usize>,
) -> (String, Vec<&'static str>) {
    let (shown, cut) = match width {
        Some(width) => fit(columns, rows, width),
        None => ((0..columns.len()).collect(), None),
    };
    let mut table = Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_style(TableComponent::HeaderLines, '─')
        .remove_style(TableComponent::LeftBorder)
        .remove_style(TableComponent::RightBorder)
        .remove_style(TableComponent::VerticalLines)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(shown.iter().map(|&i| columns[i].header));
    for row in rows {
        table.add_row(shown.iter().map(|&i| match (i, cut) {
            (0, Some(width)) => truncate(&row[i], width),
            _ => row[i].clone(),
        }));
    }
    // Cells are padded to their column: trailing blanks would only get in the way
    // of copying.
    let text = table
        .to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    let hidden = (0..columns.len())
        .filter(|i| !shown.contains(i))
        .map(|i| columns[i].header)
        .collect();
    (text, hidden)
}

/// `text` in lines of at most `width` characters, broken between words.
fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if line.is_empty() {
            line.push_str(word);
        } else if line.chars().count() + 1 + word.chars().count() <= width {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(word.to_owned());
        }
    }
    lines.join("\n")
}

/// Prints the table fitted to the terminal (every column when `wide`, from `WIDE`
/// columns on, or when the width is unknown), and under it which columns did not
/// fit and how to see them.
pub fn print(columns: &[Column], rows: &[Vec<String>], wide: bool, command: &str) {
    let width = terminal_width().filter(|&w| !wide && w < WIDE);
    let (table, hidden) = render(columns, rows, width);
    println!("{table}");
    if let (Some(width), false) = (width, hidden.is_empty()) {
        let note = format!("Left out to fit the terminal: {}.", hidden.join(", "));
        // The command on a line of its own, so that it is never broken.
        println!(
            "{}\n`{command} --wide` shows every column.",
            wrap(&note, width)
        );
    }
}

/// Sorts rows by their first cell the way people count: `client-2` before
/// `client-10`.
pub fn sort_naturally(rows: &mut [Vec<String>]) {
    rows.sort_by(|a, b| alphanumeric_sort::compare_str(&a[0], &b[0]));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<Column> {
        ["name", "short", "long"]
            .iter()
            .zip([0, 1, 2])
            .map(|(header, rank)| Column { header, rank })
            .collect()
    }

    #[test]
    fn columns_are_dropped_whole_least_useful_first() {
        let rows = vec![vec!["p".repeat(10), "s".repeat(8), "l".repeat(40)]];
        assert_eq!(fit(&columns(), &rows, 80), (vec![0, 1, 2], None));
        assert_eq!(fit(&columns(), &rows, 40), (vec![0, 1], None));
        // Only the name column is ever cut, and only when it alone is too wide.
        let (shown, cut) = fit(&columns(), &rows, 8);
        assert_eq!((shown, cut), (vec![0], Some(6)));
        assert_eq!(truncate(&"p".repeat(10), 6), "ppppp…");
    }

    #[test]
    fn a_fitted_table_is_no_wider_than_the_terminal() {
        let rows = vec![vec!["p".repeat(30), "s".repeat(20), "l".repeat(40)]];
        let (text, hidden) = render(&columns(), &rows, Some(60));
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        assert_eq!(hidden, ["long"]);
        let (text, hidden) = render(&columns(), &rows, None);
        assert!(
            text.contains(&"l".repeat(40)) && hidden.is_empty(),
            "{text}"
        );
        assert_eq!(wrap("aaaa bbbb cc dd", 10), "aaaa bbbb\ncc dd");
    }

    #[test]
    fn names_sort_the_way_people_count() {
        let mut rows: Vec<Vec<String>> = ["client-10", "client-2", "alpha", "client-1"]
            .iter()
            .map(|n| vec![n.to_string()])
            .collect();
        sort_naturally(&mut rows);
        let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(names, ["alpha", "client-1", "client-2", "client-10"]);
    }
}
