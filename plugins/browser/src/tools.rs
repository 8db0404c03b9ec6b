//! The tools. Each one works on a page of the session: the one named by `page`, else the most
//! recently opened one (`open` opens one when there is none).

use crate::driver::{Driver, Host};
use base64::Engine as _;
use spud_sdk::prelude::*;

/// The default (and largest) size of a snapshot in a tool's answer, bytes.
pub const SNAPSHOT_BYTES: u32 = 24_000;

/// A page as the model sees it after an action.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PageView {
    /// The page (tab) the action was on.
    pub page: u32,
    /// Its URL.
    pub url: String,
    /// Its title.
    pub title: String,
    /// The compact accessibility tree: one line per node, `[ref=eN]` on what can be acted on.
    pub snapshot: String,
    /// Whether the snapshot was cut at its size cap.
    pub truncated: bool,
}

/// Input of `open`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenInput {
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Open it in a new page (tab) instead of the current one.
    #[serde(default)]
    pub new_page: bool,
}

/// Input of `snapshot`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageInput {
    /// The page (default: the current one).
    #[serde(default)]
    pub page: Option<u32>,
    /// Cut the text at this many bytes (default and maximum 24000).
    #[serde(default)]
    pub max_bytes: Option<u32>,
}

/// Input of `click`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickInput {
    /// The element's reference from a snapshot, e.g. `e12`.
    #[serde(rename = "ref")]
    pub element: String,
    /// The page (default: the current one).
    #[serde(default)]
    pub page: Option<u32>,
}

/// Input of `type`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeInput {
    /// The field's reference from a snapshot.
    #[serde(rename = "ref")]
    pub element: String,
    /// The text; it replaces the field's value.
    pub text: String,
    /// Press Enter after typing (submits most forms).
    #[serde(default)]
    pub submit: bool,
    /// The page (default: the current one).
    #[serde(default)]
    pub page: Option<u32>,
}

/// Input of `select`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectInput {
    /// The `<select>`'s reference from a snapshot.
    #[serde(rename = "ref")]
    pub element: String,
    /// The option's value or label.
    pub value: String,
    /// The page (default: the current one).
    #[serde(default)]
    pub page: Option<u32>,
}

/// A screenshot.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Image {
    /// `image/png`.
    pub mime_type: String,
    /// The PNG, base64.
    pub data_base64: String,
    /// Its size, bytes.
    pub bytes: usize,
}

/// A page's text.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PageText {
    /// The page.
    pub page: u32,
    /// Its visible text.
    pub text: String,
}

fn fail(e: String) -> ToolError {
    ToolError::new(e)
}

/// The page named, else the most recent one.
fn current(d: &dyn Driver, page: Option<u32>) -> Result<u32, ToolError> {
    match page {
        Some(p) => Ok(p),
        None => {
            d.pages().map_err(fail)?.last().copied().ok_or_else(|| {
                ToolError::new("no page is open: call browser.open with a URL first")
            })
        }
    }
}

/// The page's snapshot, as a tool answers.
pub fn view(d: &dyn Driver, page: u32, max: Option<u32>) -> Result<PageView, ToolError> {
    let max = max.unwrap_or(SNAPSHOT_BYTES).min(SNAPSHOT_BYTES);
    let (url, title, snapshot, truncated) = d.snapshot(page, max).map_err(fail)?;
    Ok(PageView {
        page,
        url,
        title,
        snapshot,
        truncated,
    })
}

/// `open` on a driver.
pub fn open_with(d: &dyn Driver, input: OpenInput) -> Result<PageView, ToolError> {
    let page = match d.pages().map_err(fail)?.last().copied() {
        Some(p) if !input.new_page => p,
        _ => d.new_page().map_err(fail)?,
    };
    d.navigate(page, &input.url).map_err(fail)?;
    view(d, page, None)
}

/// Opens `url` in the current page (or a new one) and answers with its snapshot.
#[tool]
pub fn open(input: OpenInput) -> Result<PageView, ToolError> {
    open_with(&Host, input)
}

/// The current page's accessibility snapshot: roles, names and `[ref=eN]` references.
#[tool]
pub fn snapshot(input: PageInput) -> Result<PageView, ToolError> {
    let page = current(&Host, input.page)?;
    view(&Host, page, input.max_bytes)
}

/// Clicks the element `ref` and answers with the page's snapshot after.
#[tool]
pub fn click(input: ClickInput) -> Result<PageView, ToolError> {
    let page = current(&Host, input.page)?;
    Host.click(page, &input.element).map_err(fail)?;
    view(&Host, page, None)
}

/// Types `text` into the field `ref` (Enter after with `submit`) and answers with the snapshot.
#[tool(name = "type")]
pub fn type_text(input: TypeInput) -> Result<PageView, ToolError> {
    let page = current(&Host, input.page)?;
    Host.type_text(page, &input.element, &input.text, input.submit)
        .map_err(fail)?;
    view(&Host, page, None)
}

/// Selects an option of the `<select>` `ref` and answers with the snapshot.
#[tool]
pub fn select(input: SelectInput) -> Result<PageView, ToolError> {
    let page = current(&Host, input.page)?;
    Host.select(page, &input.element, &input.value)
        .map_err(fail)?;
    view(&Host, page, None)
}

/// A PNG screenshot of the current page's viewport.
#[tool]
pub fn screenshot(input: PageInput) -> Result<Image, ToolError> {
    let page = current(&Host, input.page)?;
    let png = Host.screenshot(page).map_err(fail)?;
    Ok(Image {
        mime_type: "image/png".into(),
        bytes: png.len(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(&png),
    })
}

/// The current page's visible text.
#[tool]
pub fn text(input: PageInput) -> Result<PageText, ToolError> {
    let page = current(&Host, input.page)?;
    let max = input
        .max_bytes
        .unwrap_or(SNAPSHOT_BYTES)
        .min(SNAPSHOT_BYTES);
    let text = Host.text(page, max).map_err(fail)?;
    Ok(PageText { page, text })
}

/// Goes back in the current page's history and answers with the snapshot.
#[tool]
pub fn back(input: PageInput) -> Result<PageView, ToolError> {
    let page = current(&Host, input.page)?;
    Host.back(page).map_err(fail)?;
    view(&Host, page, input.max_bytes)
}
