//! The browser the tools drive: the host's `spud:browser/browser` import inside spud; outside
//! a component (native builds, the plugin's unit tests) there is none.

/// What the tools need of a browser; the host's import implements it.
pub trait Driver {
    /// The session's open pages.
    fn pages(&self) -> Result<Vec<u32>, String>;
    /// Opens a page.
    fn new_page(&self) -> Result<u32, String>;
    /// Goes to `url`; the final URL.
    fn navigate(&self, page: u32, url: &str) -> Result<String, String>;
    /// (url, title, text, truncated).
    fn snapshot(&self, page: u32, max: u32) -> Result<(String, String, String, bool), String>;
    /// Clicks `r`.
    fn click(&self, page: u32, r: &str) -> Result<(), String>;
    /// Types into `r`.
    fn type_text(&self, page: u32, r: &str, text: &str, submit: bool) -> Result<(), String>;
    /// Selects `value` in `r`.
    fn select(&self, page: u32, r: &str, value: &str) -> Result<(), String>;
    /// The page's text.
    fn text(&self, page: u32, max: u32) -> Result<String, String>;
    /// A PNG.
    fn screenshot(&self, page: u32) -> Result<Vec<u8>, String>;
    /// History back; the URL.
    fn back(&self, page: u32) -> Result<String, String>;
}

#[cfg(target_arch = "wasm32")]
mod bindings {
    wit_bindgen::generate!({
        world: "host",
        path: "../../wit/browser",
    });
}

/// The host's browser.
pub struct Host;

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::bindings::spud::browser::browser as b;
    use super::{Driver, Host};

    fn err(e: b::BrowserError) -> String {
        match e {
            b::BrowserError::Denied(m) => format!("denied: {m}"),
            b::BrowserError::NotFound(m) => format!("not found: {m}"),
            b::BrowserError::Timeout(m) => format!("timeout: {m}"),
            b::BrowserError::Limit(m) => format!("limit: {m}"),
            b::BrowserError::Crashed(m) => format!("browser crashed: {m}"),
            b::BrowserError::Failed(m) => format!("failed: {m}"),
        }
    }

    impl Driver for Host {
        fn pages(&self) -> Result<Vec<u32>, String> {
            b::pages().map_err(err)
        }
        fn new_page(&self) -> Result<u32, String> {
            b::new_page().map_err(err)
        }
        fn navigate(&self, page: u32, url: &str) -> Result<String, String> {
            b::navigate(page, url).map_err(err)
        }
        fn snapshot(&self, page: u32, max: u32) -> Result<(String, String, String, bool), String> {
            b::snapshot(page, max)
                .map(|s| (s.url, s.title, s.text, s.truncated))
                .map_err(err)
        }
        fn click(&self, page: u32, r: &str) -> Result<(), String> {
            b::click(page, r).map_err(err)
        }
        fn type_text(&self, page: u32, r: &str, text: &str, submit: bool) -> Result<(), String> {
            b::type_text(page, r, text, submit).map_err(err)
        }
        fn select(&self, page: u32, r: &str, value: &str) -> Result<(), String> {
            b::select(page, r, value).map_err(err)
        }
        fn text(&self, page: u32, max: u32) -> Result<String, String> {
            b::text(page, max).map_err(err)
        }
        fn screenshot(&self, page: u32) -> Result<Vec<u8>, String> {
            b::screenshot(page).map_err(err)
        }
        fn back(&self, page: u32) -> Result<String, String> {
            b::back(page).map_err(err)
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{Driver, Host};

    const NONE: &str = "no browser here: the browser tools run as a component inside spud";

    impl Driver for Host {
        fn pages(&self) -> Result<Vec<u32>, String> {
            Err(NONE.into())
        }
        fn new_page(&self) -> Result<u32, String> {
            Err(NONE.into())
        }
        fn navigate(&self, _: u32, _: &str) -> Result<String, String> {
            Err(NONE.into())
        }
        fn snapshot(&self, _: u32, _: u32) -> Result<(String, String, String, bool), String> {
            Err(NONE.into())
        }
        fn click(&self, _: u32, _: &str) -> Result<(), String> {
            Err(NONE.into())
        }
        fn type_text(&self, _: u32, _: &str, _: &str, _: bool) -> Result<(), String> {
            Err(NONE.into())
        }
        fn select(&self, _: u32, _: &str, _: &str) -> Result<(), String> {
            Err(NONE.into())
        }
        fn text(&self, _: u32, _: u32) -> Result<String, String> {
            Err(NONE.into())
        }
        fn screenshot(&self, _: u32) -> Result<Vec<u8>, String> {
            Err(NONE.into())
        }
        fn back(&self, _: u32) -> Result<String, String> {
            Err(NONE.into())
        }
    }
}
