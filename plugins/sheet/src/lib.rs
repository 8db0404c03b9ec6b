//! spud's first-party spreadsheet connector: read, write and append CSV and XLSX files in the
//! directory the operator grants at `/data`. A sheet is a header row (`columns`) and data rows
//! of cells: strings, numbers, booleans or null (an empty cell). XLSX is read with `calamine`
//! and written with `rust_xlsxwriter`; CSV with `csv`.

mod table;

use spud_sdk::prelude::*;
pub use table::{Cell, Table};

/// The guest directory the plugin asks for; relative paths resolve under it.
pub const ROOT: &str = "/data";

spud_sdk::export_plugin! {
    name: "sheet",
    description: "Read and write spreadsheets (CSV, XLSX) in the directory the operator grants at /data.",
    requests: Requests::new()
        .file(ROOT, Access::ReadWrite, "the spreadsheets to read and write")
        .limits(
            Limits::new()
                .memory_mb(256)
                .fuel(20_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(8 * 1024 * 1024),
        ),
    tools: [read, write, append],
}

/// Input of `read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadInput {
    /// The file: `.csv` or `.xlsx`, e.g. `/data/invoices.xlsx` (relative paths resolve under `/data`).
    pub path: String,
    /// For XLSX: the sheet's name (default: the first sheet).
    #[serde(default)]
    pub sheet: Option<String>,
    /// Return at most this many data rows (default 10000).
    #[serde(default)]
    pub max_rows: Option<u32>,
}

/// A sheet as read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadOutput {
    /// The header row.
    pub columns: Vec<String>,
    /// Data rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
    /// Data rows in the file (more than `rows` when cut at `max_rows`).
    pub total_rows: u64,
    /// For XLSX: every sheet's name.
    pub sheets: Vec<String>,
}

/// Reads a CSV or XLSX file: its header row and data rows (numbers as numbers, empty cells as null).
#[tool]
pub fn read(input: ReadInput) -> Result<ReadOutput, ToolError> {
    let path = guest_path(&input.path)?;
    let (table, sheets) = table::read(&path, input.sheet.as_deref()).map_err(ToolError::new)?;
    let max = input.max_rows.unwrap_or(10_000) as usize;
    let total_rows = table.rows.len() as u64;
    Ok(ReadOutput {
        columns: table.columns,
        rows: table.rows.into_iter().take(max).collect(),
        total_rows,
        sheets,
    })
}

/// Input of `write`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteInput {
    /// The file to create or replace: `.csv` or `.xlsx`.
    pub path: String,
    /// The header row.
    pub columns: Vec<String>,
    /// Data rows (strings, numbers, booleans, null); none may be longer than `columns`.
    pub rows: Vec<Vec<Cell>>,
    /// For XLSX: the sheet's name (default `Sheet1`).
    #[serde(default)]
    pub sheet: Option<String>,
}

/// What was written.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WriteOutput {
    /// The file.
    pub path: String,
    /// Data rows in it now.
    pub rows: u64,
}

/// Writes a CSV or XLSX file (replacing it): a header row and data rows.
#[tool]
pub fn write(input: WriteInput) -> Result<WriteOutput, ToolError> {
    let path = guest_path(&input.path)?;
    let t = Table {
        columns: input.columns,
        rows: input.rows,
    };
    t.check().map_err(ToolError::new)?;
    table::write(&path, &t, input.sheet.as_deref()).map_err(ToolError::new)?;
    Ok(WriteOutput {
        path: path.display().to_string(),
        rows: t.rows.len() as u64,
    })
}

/// Input of `append`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendInput {
    /// An existing `.csv` or `.xlsx` file (for XLSX: its first sheet, rewritten).
    pub path: String,
    /// Rows to add after the last one; none may be longer than the file's header.
    pub rows: Vec<Vec<Cell>>,
}

/// Adds rows at the end of an existing CSV or XLSX file.
#[tool]
pub fn append(input: AppendInput) -> Result<WriteOutput, ToolError> {
    let path = guest_path(&input.path)?;
    let rows = table::append(&path, input.rows).map_err(ToolError::new)?;
    Ok(WriteOutput {
        path: path.display().to_string(),
        rows,
    })
}

/// `path` under `/data` (relative paths resolve there); `..` is refused.
fn guest_path(path: &str) -> Result<std::path::PathBuf, ToolError> {
    let p = std::path::Path::new(ROOT).join(path);
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(ToolError::new(format!("`{path}` may not contain `..`")));
    }
    Ok(p)
}
