//! The actions on a session's pages, as one enum so every door (the WIT bindings, tests,
//! benchmarks) drives the browser the same way.

use super::error::BrowserError;
use super::session::Session;
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Element, Page};
use std::time::{Duration, Instant};

const SNAPSHOT_JS: &str = include_str!("snapshot.js");

/// One action on the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a page.
    NewPage,
    /// The open pages.
    Pages,
    /// Close a page.
    ClosePage(u32),
    /// Go to a URL and wait for the load.
    Navigate(u32, String),
    /// The accessibility snapshot, cut at this many bytes.
    Snapshot(u32, usize),
    /// Click an element.
    Click(u32, String),
    /// Type into an element (replacing its value), then Enter if `submit`.
    Type {
        /// The page.
        page: u32,
        /// The element.
        element: String,
        /// What to type.
        text: String,
        /// Press Enter after.
        submit: bool,
    },
    /// Select an option (by value or label).
    Select(u32, String, String),
    /// Press a key on the focused element.
    Press(u32, String),
    /// Scroll an element into view, or the page by `dy` pixels.
    Scroll(u32, Option<String>, i32),
    /// Wait until the page's text contains this.
    WaitText(u32, String, Duration),
    /// Wait for the next navigation.
    WaitNavigation(u32, Duration),
    /// The page's text, cut at this many bytes.
    Text(u32, usize),
    /// A PNG of the viewport.
    Screenshot(u32),
    /// History back.
    Back(u32),
    /// History forward.
    Forward(u32),
    /// The session's cookies.
    Cookies,
}

impl Action {
    /// The page the action is on, if one.
    pub fn page(&self) -> Option<u32> {
        match self {
            Action::NewPage | Action::Pages | Action::Cookies => None,
            Action::ClosePage(p)
            | Action::Navigate(p, _)
            | Action::Snapshot(p, _)
            | Action::Click(p, _)
            | Action::Type { page: p, .. }
            | Action::Select(p, _, _)
            | Action::Press(p, _)
            | Action::Scroll(p, _, _)
            | Action::WaitText(p, _, _)
            | Action::WaitNavigation(p, _)
            | Action::Text(p, _)
            | Action::Screenshot(p)
            | Action::Back(p)
            | Action::Forward(p) => Some(*p),
        }
    }
}

/// A page's accessibility snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    /// The page's URL.
    pub url: String,
    /// Its title.
    pub title: String,
    /// One line per node.
    pub text: String,
    /// Whether `text` was cut at the cap.
    pub truncated: bool,
}

/// A cookie of the session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cookie {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Domain.
    pub domain: String,
    /// Path.
    pub path: String,
    /// Secure only.
    pub secure: bool,
    /// Hidden from scripts.
    pub http_only: bool,
}

/// What an action answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Nothing.
    Done,
    /// A new page.
    Page(u32),
    /// The open pages.
    Pages(Vec<u32>),
    /// A URL.
    Url(String),
    /// A snapshot.
    Snapshot(Snapshot),
    /// Text (cut at the cap, with whether it was).
    Text(String, bool),
    /// A PNG.
    Png(Vec<u8>),
    /// Cookies.
    Cookies(Vec<Cookie>),
}

impl Session {
    /// Performs `action` (no deadline of its own: the slot puts one around it).
    pub async fn perform(&mut self, action: Action) -> Result<Reply, BrowserError> {
        match action {
            Action::NewPage => self.new_page().await.map(Reply::Page),
            Action::Pages => Ok(Reply::Pages(self.pages.keys().copied().collect())),
            Action::ClosePage(p) => {
                self.page(p)?;
                self.drop_page(p);
                Ok(Reply::Done)
            }
            Action::Cookies => Ok(Reply::Cookies(self.cookies().await?)),
            other => {
                let snapshot_cap = self.limits.snapshot_bytes;
                let screenshot_cap = self.limits.screenshot_bytes;
                let page = self.page(other.page().unwrap_or(0))?;
                on_page(page, other, snapshot_cap, screenshot_cap).await
            }
        }
    }

    async fn cookies(&self) -> Result<Vec<Cookie>, BrowserError> {
        let all = self.browser.get_cookies().await?;
        Ok(all
            .into_iter()
            .map(|c| Cookie {
                name: c.name,
                value: c.value,
                domain: c.domain,
                path: c.path,
                secure: c.secure,
                http_only: c.http_only,
            })
            .collect())
    }
}

/// An action on one page.
async fn on_page(
    page: &Page,
    action: Action,
    snapshot_cap: usize,
    screenshot_cap: usize,
) -> Result<Reply, BrowserError> {
    match action {
        Action::Navigate(_, url) => navigate(page, &url).await.map(Reply::Url),
        Action::Snapshot(_, max) => snapshot(page, max.min(snapshot_cap))
            .await
            .map(Reply::Snapshot),
        Action::WaitText(_, text, timeout) => {
            wait_text(page, &text, timeout).await.map(|()| Reply::Done)
        }
        Action::WaitNavigation(_, timeout) => {
            tokio::time::timeout(timeout, page.wait_for_navigation())
                .await
                .map_err(|_| {
                    BrowserError::Timeout(format!(
                        "no navigation within {} ms",
                        timeout.as_millis()
                    ))
                })??;
            Ok(Reply::Url(url(page).await))
        }
        Action::Text(_, max) => {
            let text: String = eval(page, "document.body ? document.body.innerText : ''").await?;
            let (text, cut) = cap(text, max.min(snapshot_cap));
            Ok(Reply::Text(text, cut))
        }
        Action::Screenshot(_) => screenshot(page, screenshot_cap).await.map(Reply::Png),
        other => interact(page, other).await,
    }
}

/// An action that acts on the page (and may navigate it).
async fn interact(page: &Page, action: Action) -> Result<Reply, BrowserError> {
    match action {
        Action::Click(_, r) => {
            mark(page).await;
            element(page, &r).await?.click().await?;
            settle(page).await;
        }
        Action::Type {
            element: r,
            text,
            submit,
            ..
        } => {
            let el = element(page, &r).await?;
            el.click().await?;
            el.call_js_fn("function() { this.value = ''; }", false)
                .await?;
            el.type_str(&text).await?;
            if submit {
                mark(page).await;
                el.press_key("Enter").await?;
                settle(page).await;
            }
        }
        Action::Select(_, r, value) => select(page, &r, &value).await?,
        Action::Press(_, key) => {
            mark(page).await;
            let el = match page.find_element(":focus").await {
                Ok(el) => el,
                Err(_) => page.find_element("body").await?,
            };
            el.press_key(&key).await?;
            settle(page).await;
        }
        Action::Scroll(_, Some(r), _) => {
            element(page, &r).await?.scroll_into_view().await?;
        }
        Action::Scroll(_, None, dy) => {
            page.evaluate(format!("window.scrollBy(0, {dy})")).await?;
        }
        Action::Back(_) => return history(page, "back").await,
        Action::Forward(_) => return history(page, "forward").await,
        _ => return Err(BrowserError::Failed("not a page action".into())),
    }
    Ok(Reply::Done)
}

/// `history.back()` or `history.forward()`, and the URL after.
async fn history(page: &Page, step: &str) -> Result<Reply, BrowserError> {
    mark(page).await;
    if let Err(e) = page.evaluate(format!("history.{step}()")).await {
        // Going back or forward to another document can answer the evaluation itself with
        // "Inspected target navigated or closed": that is the navigation asked for.
        if !e.to_string().contains("navigated or closed") {
            return Err(e.into());
        }
    }
    settle(page).await;
    Ok(Reply::Url(url(page).await))
}

async fn navigate(page: &Page, url: &str) -> Result<String, BrowserError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(BrowserError::Denied(format!(
            "only http and https URLs can be opened, not {url}"
        )));
    }
    page.goto(url).await?;
    Ok(self::url(page).await)
}

async fn url(page: &Page) -> String {
    page.url().await.ok().flatten().unwrap_or_default()
}

async fn eval<T: serde::de::DeserializeOwned>(page: &Page, js: &str) -> Result<T, BrowserError> {
    page.evaluate(js)
        .await?
        .into_value()
        .map_err(|e| BrowserError::Failed(format!("the page answered something unexpected: {e}")))
}

async fn snapshot(page: &Page, max: usize) -> Result<Snapshot, BrowserError> {
    let js = SNAPSHOT_JS.replace("__MAX__", &max.to_string());
    let text: String = eval(page, &js).await?;
    let (text, truncated) = cap(text, max);
    Ok(Snapshot {
        url: url(page).await,
        title: page.get_title().await.ok().flatten().unwrap_or_default(),
        text,
        truncated,
    })
}

/// `text` cut to at most `max` bytes (at a character boundary), and whether it was cut.
pub fn cap(mut text: String, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (text, true)
}

/// The element with reference `r` (from a snapshot); references are `e` and digits.
async fn element(page: &Page, r: &str) -> Result<Element, BrowserError> {
    let well_formed =
        r.len() > 1 && r.starts_with('e') && r[1..].bytes().all(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(BrowserError::NotFound(format!(
            "`{r}` is not an element reference (they look like e12; take them from a snapshot)"
        )));
    }
    page.find_element(format!("[data-spud-ref=\"{r}\"]"))
        .await
        .map_err(|_| {
            BrowserError::NotFound(format!("no element {r} on the page; take a new snapshot"))
        })
}

async fn select(page: &Page, r: &str, value: &str) -> Result<(), BrowserError> {
    let el = element(page, r).await?;
    let value = serde_json::to_string(value).unwrap_or_default();
    let js = format!(
        "function() {{ const v = {value}; const o = [...(this.options || [])].find(o => o.value === v || o.label === v || o.text === v); if (!o) return false; this.value = o.value; this.dispatchEvent(new Event('input', {{bubbles: true}})); this.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }}"
    );
    let found = el.call_js_fn(js, false).await?;
    if found.result.value != Some(serde_json::Value::Bool(true)) {
        return Err(BrowserError::NotFound(format!("no option {value} in {r}")));
    }
    Ok(())
}

async fn wait_text(page: &Page, text: &str, timeout: Duration) -> Result<(), BrowserError> {
    let needle = serde_json::to_string(text).unwrap_or_default();
    let js = format!("!!document.body && document.body.innerText.includes({needle})");
    let start = Instant::now();
    loop {
        if eval::<bool>(page, &js).await.unwrap_or(false) {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(BrowserError::Timeout(format!(
                "the text {needle} did not appear within {} ms",
                timeout.as_millis()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn screenshot(page: &Page, max: usize) -> Result<Vec<u8>, BrowserError> {
    let params = ScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Png)
        .build();
    let png = page.screenshot(params).await?;
    if png.len() > max {
        return Err(BrowserError::Limit(format!(
            "the screenshot is {} bytes, over the cap of {max}",
            png.len()
        )));
    }
    Ok(png)
}

/// Marks the current document, so [`settle`] can tell whether an action navigated away.
async fn mark(page: &Page) {
    let _ = page.evaluate("window.__spudMark = 1").await;
}

/// After an action that may navigate: waits until the page is the same document 300 ms
/// later, or a new document has loaded.
async fn settle(page: &Page) {
    let start = Instant::now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    loop {
        let state: Result<(bool, String), _> =
            eval(page, "[!!window.__spudMark, document.readyState]").await;
        match state {
            Ok((false, s)) if s == "complete" => return,
            Ok((true, _)) if start.elapsed() > Duration::from_millis(300) => return,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
