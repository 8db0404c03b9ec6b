//! Tables from a page's lines: a run of at least two consecutive lines of two or more cells.
//! The row with the most cells gives the columns; every other row's cells go to the column
//! they overlap most (or the nearest), so a row with an empty cell keeps its values in place.

use crate::layout::{Cell, Line};

/// A table: rows of cells, every row as long as the widest.
pub type Rows = Vec<Vec<String>>;

/// The tables among `lines`, top to bottom.
pub fn tables(lines: &[Line]) -> Vec<Rows> {
    let mut found = Vec::new();
    let mut start = 0;
    while start < lines.len() {
        let mut end = start;
        while end < lines.len() && lines[end].cells.len() >= 2 {
            end += 1;
        }
        if end - start >= 2 {
            found.push(table(&lines[start..end]));
            start = end;
        } else {
            start = end.max(start + 1);
        }
    }
    found
}

/// One table's rows, aligned to the columns of its widest row.
fn table(lines: &[Line]) -> Rows {
    let widest = lines
        .iter()
        .max_by_key(|l| l.cells.len())
        .map(|l| l.cells.clone())
        .unwrap_or_default();
    lines
        .iter()
        .map(|line| {
            let mut row = vec![String::new(); widest.len()];
            for cell in &line.cells {
                let col = column(&widest, cell);
                if !row[col].is_empty() {
                    row[col].push(' ');
                }
                row[col].push_str(&cell.text);
            }
            row
        })
        .collect()
}

/// The column `cell` belongs to: most overlap, else the nearest centre.
fn column(columns: &[Cell], cell: &Cell) -> usize {
    let overlap = |c: &Cell| (c.x1.min(cell.x1) - c.x0.max(cell.x0)).max(0.0);
    let centre = |c: &Cell| (c.x0 + c.x1) / 2.0;
    let best = columns
        .iter()
        .enumerate()
        .max_by(|a, b| overlap(a.1).total_cmp(&overlap(b.1)));
    match best {
        Some((i, c)) if overlap(c) > 0.0 => i,
        _ => columns
            .iter()
            .enumerate()
            .min_by(|a, b| {
                let da = (centre(a.1) - centre(cell)).abs();
                let db = (centre(b.1) - centre(cell)).abs();
                da.total_cmp(&db)
            })
            .map(|(i, _)| i)
            .unwrap_or(0),
    }
}
