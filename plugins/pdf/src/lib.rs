//! spud's first-party PDF connector: a PDF in the directory the operator grants at `/data` as
//! what a model can use — the text of each page in reading order, the tables found on its pages
//! as rows of cells, and the document's metadata. Parsing is `lopdf`'s; the layout (where each
//! string lands, lines, cells, columns) is this crate's own, in `layout` and `grid`. Read
//! only: the plugin asks for `/data` read-only, no network, no environment.

mod fonts;
mod grid;
mod layout;

use lopdf::{Document, Object};
use spud_sdk::prelude::*;

/// The guest directory the plugin asks for; relative paths resolve under it.
pub const ROOT: &str = "/data";

/// The most text returned by one call (characters), unless the caller asks for less.
const MAX_CHARS: usize = 200_000;

spud_sdk::export_plugin! {
    name: "pdf",
    description: "Read PDFs in the directory the operator grants at /data: text per page, tables, metadata.",
    requests: Requests::new()
        .file(ROOT, Access::ReadOnly, "the PDF files to read")
        .limits(
            Limits::new()
                .memory_mb(256)
                .fuel(20_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(4 * 1024 * 1024),
        ),
    tools: [text, tables, info],
}

/// Input of `text` and `tables`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PagesInput {
    /// The PDF, e.g. `receipts/2026-11-18.pdf` (relative paths resolve under `/data`).
    pub path: String,
    /// Only these pages (1-based; default: every page).
    #[serde(default)]
    pub pages: Vec<u32>,
    /// Cut the text at this many characters in all (default 200000).
    #[serde(default)]
    pub max_chars: Option<u32>,
}

/// One page's text.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PageText {
    /// Its number, from 1.
    pub page: u32,
    /// Its lines top to bottom; cells of a line (text separated by a wide gap) two spaces apart.
    pub text: String,
}

/// The text of a PDF.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TextOutput {
    /// Pages in the document.
    pub page_count: u32,
    /// The pages asked for, in order.
    pub pages: Vec<PageText>,
    /// Whether the text was cut at `max_chars`.
    pub truncated: bool,
}

/// Returns the text of a PDF's pages in reading order (top to bottom, left to right).
#[tool]
pub fn text(input: PagesInput) -> Result<TextOutput, ToolError> {
    let doc = open(&input.path)?;
    let all = doc.get_pages();
    let mut left = input.max_chars.map_or(MAX_CHARS, |m| m as usize);
    let mut out = TextOutput {
        page_count: all.len() as u32,
        pages: Vec::new(),
        truncated: false,
    };
    for (number, id) in selected(&all, &input.pages)? {
        let lines = layout::page_lines(&doc, id).map_err(|e| page_error(number, e))?;
        let mut text: String = lines.iter().map(|l| l.text() + "\n").collect();
        if text.chars().count() > left {
            text = text.chars().take(left).collect();
            out.truncated = true;
        }
        left -= text.chars().count();
        out.pages.push(PageText { page: number, text });
        if out.truncated {
            break;
        }
    }
    Ok(out)
}

/// One table found on a page.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Table {
    /// The page it is on.
    pub page: u32,
    /// Its rows top to bottom (the first is often the header), each as long as the widest.
    pub rows: Vec<Vec<String>>,
}

/// The tables of a PDF.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TablesOutput {
    /// Pages in the document.
    pub page_count: u32,
    /// Every table found on the pages asked for, in reading order.
    pub tables: Vec<Table>,
}

/// Finds the tables on a PDF's pages: runs of two or more lines whose text falls into aligned
/// columns, as rows of cells (an empty string where a row has no value in a column).
#[tool]
pub fn tables(input: PagesInput) -> Result<TablesOutput, ToolError> {
    let doc = open(&input.path)?;
    let all = doc.get_pages();
    let mut found = Vec::new();
    for (number, id) in selected(&all, &input.pages)? {
        let lines = layout::page_lines(&doc, id).map_err(|e| page_error(number, e))?;
        for rows in grid::tables(&lines) {
            found.push(Table { page: number, rows });
        }
    }
    Ok(TablesOutput {
        page_count: all.len() as u32,
        tables: found,
    })
}

/// Input of `info`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoInput {
    /// The PDF (relative paths resolve under `/data`).
    pub path: String,
}

/// A PDF's metadata (what its information dictionary holds).
#[derive(Debug, Serialize, JsonSchema)]
pub struct InfoOutput {
    /// Pages in the document.
    pub page_count: u32,
    /// The PDF version, e.g. `1.4`.
    pub version: String,
    /// `Title`, `Author`, `Subject`, `Keywords`, `Creator`, `Producer`, `CreationDate`,
    /// `ModDate`: those present.
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// Returns a PDF's page count, version and metadata.
#[tool]
pub fn info(input: InfoInput) -> Result<InfoOutput, ToolError> {
    let doc = open(&input.path)?;
    let mut metadata = std::collections::BTreeMap::new();
    let dict = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|o| match o {
            Object::Reference(id) => doc.get_object(*id).ok(),
            other => Some(other),
        })
        .and_then(|o| o.as_dict().ok());
    if let Some(dict) = dict {
        for (key, value) in dict.iter() {
            if let Object::String(bytes, _) = value {
                metadata.insert(
                    String::from_utf8_lossy(key).into_owned(),
                    text_string(bytes),
                );
            }
        }
    }
    Ok(InfoOutput {
        page_count: doc.get_pages().len() as u32,
        version: doc.version.clone(),
        metadata,
    })
}

/// A PDF text string: UTF-16BE with its byte-order mark, else one byte a character.
fn text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Loads the PDF at `path` under `/data`.
fn open(path: &str) -> Result<Document, ToolError> {
    let p = std::path::Path::new(ROOT).join(path);
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(ToolError::new(format!("`{path}` may not contain `..`")));
    }
    let bytes = std::fs::read(&p).map_err(|e| ToolError::new(format!("{}: {e}", p.display())))?;
    if !bytes.starts_with(b"%PDF-") {
        return Err(ToolError::new(format!("{}: not a PDF file", p.display())));
    }
    Document::load_mem(&bytes)
        .map_err(|e| ToolError::new(format!("{}: not a readable PDF: {e}", p.display())))
}

/// The pages asked for (every page when none), each checked to exist.
fn selected(
    all: &std::collections::BTreeMap<u32, lopdf::ObjectId>,
    pages: &[u32],
) -> Result<Vec<(u32, lopdf::ObjectId)>, ToolError> {
    if pages.is_empty() {
        return Ok(all.iter().map(|(n, id)| (*n, *id)).collect());
    }
    pages
        .iter()
        .map(|n| {
            all.get(n).map(|id| (*n, *id)).ok_or_else(|| {
                ToolError::new(format!(
                    "page {n} does not exist: the PDF has {} pages",
                    all.len()
                ))
            })
        })
        .collect()
}

fn page_error(page: u32, e: String) -> ToolError {
    ToolError::new(format!("page {page}: {e}"))
}
