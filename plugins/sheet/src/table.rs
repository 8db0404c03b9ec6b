//! Tables in and out of CSV and XLSX files.

use spud_sdk::prelude::*;
use std::path::Path;

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Cell {
    /// Empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// Text.
    Text(String),
}

impl Cell {
    /// A CSV field as a cell: empty is null, numbers are numbers, `true`/`false` booleans.
    fn from_field(s: &str) -> Cell {
        let t = s.trim();
        if t.is_empty() {
            Cell::Null
        } else if let Ok(i) = t.parse::<i64>() {
            Cell::Int(i)
        } else if let Some(f) = t.parse::<f64>().ok().filter(|f| f.is_finite()) {
            Cell::Float(f)
        } else if t == "true" || t == "false" {
            Cell::Bool(t == "true")
        } else {
            Cell::Text(s.to_string())
        }
    }

    /// The cell as a CSV field.
    fn to_field(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Bool(b) => b.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Text(s) => s.clone(),
        }
    }

    fn from_xlsx(d: &calamine::Data) -> Cell {
        use calamine::Data;
        match d {
            Data::Empty => Cell::Null,
            Data::Bool(b) => Cell::Bool(*b),
            Data::Int(i) => Cell::Int(*i),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Cell::Int(*f as i64),
            Data::Float(f) => Cell::Float(*f),
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
            Data::DateTime(d) => Cell::Float(d.as_f64()),
            Data::Error(e) => Cell::Text(format!("#{e:?}")),
        }
    }
}

/// A header row and data rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The header row.
    pub columns: Vec<String>,
    /// Data rows.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// No row may be longer than the header.
    pub fn check(&self) -> Result<(), String> {
        match self.rows.iter().position(|r| r.len() > self.columns.len()) {
            Some(i) => Err(format!(
                "row {} has {} cells but there are {} columns",
                i + 1,
                self.rows[i].len(),
                self.columns.len()
            )),
            None => Ok(()),
        }
    }
}

fn is_xlsx(path: &Path) -> Result<bool, String> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("xlsx") => Ok(true),
        Some("csv") => Ok(false),
        _ => Err(format!(
            "{}: only .csv and .xlsx files are spreadsheets here",
            path.display()
        )),
    }
}

/// Reads `path` (for XLSX, `sheet` or the first one); returns the table and the sheet names.
pub fn read(path: &Path, sheet: Option<&str>) -> Result<(Table, Vec<String>), String> {
    if !is_xlsx(path)? {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok((read_csv(&text)?, Vec::new()));
    }
    use calamine::Reader;
    let mut wb =
        calamine::open_workbook_auto(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let names = wb.sheet_names().to_vec();
    let name = match sheet {
        Some(s) if names.iter().any(|n| n == s) => s.to_string(),
        Some(s) => {
            return Err(format!(
                "{} has no sheet `{s}`; its sheets: {}",
                path.display(),
                names.join(", ")
            ))
        }
        None => names
            .first()
            .cloned()
            .ok_or_else(|| format!("{} has no sheets", path.display()))?,
    };
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| format!("{} sheet {name}: {e}", path.display()))?;
    let mut rows = range
        .rows()
        .map(|r| r.iter().map(Cell::from_xlsx).collect::<Vec<_>>());
    let columns = rows
        .next()
        .unwrap_or_default()
        .iter()
        .map(Cell::to_field)
        .collect::<Vec<_>>();
    let rows = rows.collect();
    Ok((Table { columns, rows }, names))
}

fn read_csv(bytes: &[u8]) -> Result<Table, String> {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let columns = r
        .headers()
        .map_err(|e| format!("CSV header: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| format!("CSV: {e}"))?;
        rows.push(rec.iter().map(Cell::from_field).collect());
    }
    Ok(Table { columns, rows })
}

/// Writes `t` to `path`, replacing it.
pub fn write(path: &Path, t: &Table, sheet: Option<&str>) -> Result<(), String> {
    let bytes = if is_xlsx(path)? {
        xlsx_bytes(t, sheet.unwrap_or("Sheet1"))?
    } else {
        csv_bytes(t)?
    };
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn csv_bytes(t: &Table) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&t.columns).map_err(|e| e.to_string())?;
    for row in &t.rows {
        let mut fields: Vec<String> = row.iter().map(Cell::to_field).collect();
        fields.resize(t.columns.len(), String::new());
        w.write_record(&fields).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

fn xlsx_bytes(t: &Table, sheet: &str) -> Result<Vec<u8>, String> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    ws.set_name(sheet).map_err(e)?;
    for (c, name) in t.columns.iter().enumerate() {
        ws.write_string(0, c as u16, name).map_err(e)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(|_| "too many rows".to_string())?;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Null => {}
                Cell::Bool(b) => {
                    ws.write_boolean(r, c, *b).map_err(e)?;
                }
                Cell::Int(i) => {
                    ws.write_number(r, c, *i as f64).map_err(e)?;
                }
                Cell::Float(f) => {
                    ws.write_number(r, c, *f).map_err(e)?;
                }
                Cell::Text(s) => {
                    ws.write_string(r, c, s).map_err(e)?;
                }
            }
        }
    }
    wb.save_to_buffer().map_err(e)
}

/// Adds `rows` to the end of the existing file at `path`; returns its data rows now.
pub fn append(path: &Path, rows: Vec<Vec<Cell>>) -> Result<u64, String> {
    let (mut t, sheets) = read(path, None)?;
    t.rows.extend(rows);
    t.check()?;
    write(path, &t, sheets.first().map(String::as_str))?;
    Ok(t.rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            columns: vec!["item".into(), "qty".into(), "price".into(), "paid".into()],
            rows: vec![
                vec![
                    Cell::Text("bolt, m6".into()),
                    Cell::Int(40),
                    Cell::Float(0.25),
                    Cell::Bool(true),
                ],
                vec![Cell::Text("nut".into()), Cell::Null, Cell::Float(0.1)],
            ],
        }
    }

    #[test]
    fn csv_and_xlsx_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["t.csv", "t.xlsx"] {
            let p = dir.path().join(name);
            write(&p, &table(), Some("Stock")).unwrap();
            let (back, sheets) = read(&p, None).unwrap();
            assert_eq!(back.columns, table().columns, "{name}");
            assert_eq!(back.rows[0], table().rows[0], "{name}");
            assert_eq!(back.rows[1][..3], table().rows[1][..], "{name}");
            if name.ends_with("xlsx") {
                assert_eq!(sheets, ["Stock"]);
            }
            assert_eq!(
                append(&p, vec![vec![Cell::Text("washer".into()), Cell::Int(5)]]).unwrap(),
                3
            );
            assert_eq!(read(&p, None).unwrap().0.rows[2][1], Cell::Int(5), "{name}");
        }
        let p = dir.path().join("t.xlsx");
        assert!(read(&p, Some("Nope")).unwrap_err().contains("Stock"));
        assert!(write(&dir.path().join("t.txt"), &table(), None).is_err());
        let mut long = table();
        long.rows.push(vec![Cell::Null; 5]);
        assert!(long.check().unwrap_err().contains("row 3"));
    }
}
