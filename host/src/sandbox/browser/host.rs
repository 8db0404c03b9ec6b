//! The `spud:browser/browser` import (`wit/browser/spud-browser.wit`), linked for every
//! component: each function is one [`Action`] through the call's [`BrowserAccess`], which
//! denies it unless the call's grant has `browser`.

use super::error::BrowserError;
use super::session::{Action, Reply};
use super::slot::BrowserAccess;
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/browser",
        world: "host",
        imports: { default: async },
    });
}

use bindings::spud::browser::browser as wit;

/// The import's name, as a component lists it.
pub const IMPORT: &str = "spud:browser/browser@0.1.0";

/// Adds the `spud:browser/browser` functions to `linker`, reaching each call's
/// [`BrowserAccess`] through `get`.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut BrowserAccess,
) -> anyhow::Result<()> {
    wit::add_to_linker::<T, HasSelf<BrowserAccess>>(linker, get)?;
    Ok(())
}

impl From<BrowserError> for wit::BrowserError {
    fn from(e: BrowserError) -> Self {
        match e {
            BrowserError::Denied(m) => wit::BrowserError::Denied(m),
            BrowserError::NotFound(m) => wit::BrowserError::NotFound(m),
            BrowserError::Timeout(m) => wit::BrowserError::Timeout(m),
            BrowserError::Limit(m) => wit::BrowserError::Limit(m),
            BrowserError::Crashed(m) => wit::BrowserError::Crashed(m),
            BrowserError::Failed(m) => wit::BrowserError::Failed(m),
        }
    }
}

type R<T> = Result<T, wit::BrowserError>;

fn unexpected() -> wit::BrowserError {
    wit::BrowserError::Failed("the browser answered something unexpected".into())
}

impl BrowserAccess {
    async fn done(&mut self, action: Action) -> R<()> {
        match self.act(action).await? {
            Reply::Done => Ok(()),
            _ => Err(unexpected()),
        }
    }

    async fn url(&mut self, action: Action) -> R<String> {
        match self.act(action).await? {
            Reply::Url(u) => Ok(u),
            _ => Err(unexpected()),
        }
    }

    async fn text_of(&mut self, action: Action) -> R<String> {
        match self.act(action).await? {
            Reply::Text(t, _) => Ok(t),
            _ => Err(unexpected()),
        }
    }
}

fn bytes(max: u32) -> usize {
    usize::try_from(max).unwrap_or(usize::MAX)
}

fn ms(t: u32) -> Duration {
    Duration::from_millis(u64::from(t))
}

impl wit::Host for BrowserAccess {
    async fn new_page(&mut self) -> R<u32> {
        match self.act(Action::NewPage).await? {
            Reply::Page(p) => Ok(p),
            _ => Err(unexpected()),
        }
    }

    async fn pages(&mut self) -> R<Vec<u32>> {
        match self.act(Action::Pages).await? {
            Reply::Pages(p) => Ok(p),
            _ => Err(unexpected()),
        }
    }

    async fn close_page(&mut self, page: u32) -> R<()> {
        self.done(Action::ClosePage(page)).await
    }

    async fn navigate(&mut self, page: u32, url: String) -> R<String> {
        self.url(Action::Navigate(page, url)).await
    }

    async fn snapshot(&mut self, page: u32, max_bytes: u32) -> R<wit::PageSnapshot> {
        match self.act(Action::Snapshot(page, bytes(max_bytes))).await? {
            Reply::Snapshot(s) => Ok(wit::PageSnapshot {
                url: s.url,
                title: s.title,
                text: s.text,
                truncated: s.truncated,
            }),
            _ => Err(unexpected()),
        }
    }

    async fn click(&mut self, page: u32, r: String) -> R<()> {
        self.done(Action::Click(page, r)).await
    }

    async fn type_text(&mut self, page: u32, r: String, text: String, submit: bool) -> R<()> {
        self.done(Action::Type {
            page,
            element: r,
            text,
            submit,
        })
        .await
    }

    async fn select(&mut self, page: u32, r: String, value: String) -> R<()> {
        self.done(Action::Select(page, r, value)).await
    }

    async fn press(&mut self, page: u32, key: String) -> R<()> {
        self.done(Action::Press(page, key)).await
    }

    async fn scroll(&mut self, page: u32, r: Option<String>, dy: i32) -> R<()> {
        self.done(Action::Scroll(page, r, dy)).await
    }

    async fn wait_for_text(&mut self, page: u32, text: String, timeout_ms: u32) -> R<()> {
        self.done(Action::WaitText(page, text, ms(timeout_ms)))
            .await
    }

    async fn wait_for_navigation(&mut self, page: u32, timeout_ms: u32) -> R<String> {
        self.url(Action::WaitNavigation(page, ms(timeout_ms))).await
    }

    async fn text(&mut self, page: u32, max_bytes: u32) -> R<String> {
        self.text_of(Action::Text(page, bytes(max_bytes))).await
    }

    async fn screenshot(&mut self, page: u32) -> R<Vec<u8>> {
        match self.act(Action::Screenshot(page)).await? {
            Reply::Png(p) => Ok(p),
            _ => Err(unexpected()),
        }
    }

    async fn back(&mut self, page: u32) -> R<String> {
        self.url(Action::Back(page)).await
    }

    async fn forward(&mut self, page: u32) -> R<String> {
        self.url(Action::Forward(page)).await
    }

    async fn cookies(&mut self) -> R<Vec<wit::Cookie>> {
        match self.act(Action::Cookies).await? {
            Reply::Cookies(c) => Ok(c
                .into_iter()
                .map(|c| wit::Cookie {
                    name: c.name,
                    value: c.value,
                    domain: c.domain,
                    path: c.path,
                    secure: c.secure,
                    http_only: c.http_only,
                })
                .collect()),
            _ => Err(unexpected()),
        }
    }

    async fn close_session(&mut self) {
        self.close_now().await;
    }
}
