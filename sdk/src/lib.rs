//! Write [spud](https://github.com/) tools in Rust.
//!
//! A tool is a plain function from a deserializable input to a serializable output,
//! annotated with [`#[tool]`](macro@tool). [`export_plugin!`] collects tools into a
//! component that exports the `spud:tool/guest` interface (`wit/spud-tool.wit`):
//! `manifest()` describes the tools and what the plugin asks the host for, and
//! `call(name, input)` runs one. Build with
//! `cargo build --target wasm32-wasip2 --profile guest`.
//!
//! ```
//! use spud_sdk::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Input { text: String }
//! #[derive(Serialize, JsonSchema)]
//! struct Output { words: usize }
//!
//! /// Counts the words in `text`.
//! #[tool]
//! fn count(input: Input) -> Result<Output, ToolError> {
//!     Ok(Output { words: input.text.split_whitespace().count() })
//! }
//!
//! spud_sdk::export_plugin! {
//!     name: "words",
//!     description: "Counts words.",
//!     requests: Requests::new(),
//!     tools: [count],
//! }
//!
//! let out = __spud_plugin().call("count", r#"{"text":"a b c"}"#);
//! assert_eq!(out, Ok(r#"{"words":3}"#.to_string()));
//! ```

#![warn(missing_docs)]

mod error;
pub mod http;
mod tool;

pub use error::ToolError;
pub use schemars::{self, JsonSchema};
pub use serde_json;
/// The manifest types, shared with the host (crate `spud-manifest`): what `manifest()`
/// returns is exactly what the host parses. The format is documented in `sdk/README.md`.
pub use spud_manifest::{
    Access, FileRequest, LimitValue, Limits, Manifest, Requests, Sockets, ToolInfo, MANIFEST_FORMAT,
};
pub use spud_sdk_macros::tool;
pub use tool::{schema_of, Plugin, Tool};

/// Everything a tool needs in one import: `use spud_sdk::prelude::*;`.
///
/// It also brings `schemars` into scope, which `#[derive(JsonSchema)]` needs, so a plugin
/// crate only depends on `spud-sdk` and `serde`.
pub mod prelude {
    pub use crate::{schemars, tool, Access, JsonSchema, Limits, Requests, ToolError};
    pub use serde::{Deserialize, Serialize};
}

// Lets the bindings' export macro name this crate from plugin crates.
extern crate self as spud_sdk;

/// Generated component bindings for the `spud:tool/tool` world (guest target only).
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "tool",
        path: "../wit",
        pub_export_macro: true,
        default_bindings_module: "spud_sdk::bindings",
        export_macro_name: "__export_spud_tool",
    });
}

/// Turns tools into a spud component.
///
/// ```ignore
/// spud_sdk::export_plugin! {
///     name: "fs",                              // default plugin name
///     description: "Read and write files.",    // one line
///     version: "1.2.0",                        // optional; defaults to the crate's version
///     requests: spud_sdk::Requests::new().file("/data", spud_sdk::Access::ReadWrite, "the files"),
///     tools: [read, write, util::list],        // functions marked #[spud_sdk::tool]
/// }
/// ```
///
/// Defines `fn __spud_plugin() -> spud_sdk::Plugin` in the calling module (handy in tests)
/// and, on wasm32, exports the `spud:tool/guest` interface backed by it. Use it once per
/// crate.
#[macro_export]
macro_rules! export_plugin {
    (
        name: $name:expr,
        description: $description:expr,
        $(version: $version:expr,)?
        requests: $requests:expr,
        tools: [$($($tool:ident)::+),* $(,)?] $(,)?
    ) => {
        /// The plugin this crate exports.
        #[doc(hidden)]
        pub fn __spud_plugin() -> $crate::Plugin {
            #[allow(unused_mut, unused_assignments)]
            let mut version: &str = ::core::env!("CARGO_PKG_VERSION");
            $(version = $version;)?
            $crate::Plugin::new($name, $description)
                .version(version)
                .requests($requests)
                $(.tool($($tool)::+::descriptor()))*
        }

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct SpudComponent;

            impl $crate::bindings::exports::spud::tool::guest::Guest for SpudComponent {
                fn manifest() -> ::std::string::String {
                    __spud_plugin().manifest_json()
                }

                fn call(
                    name: ::std::string::String,
                    input: ::std::string::String,
                ) -> ::core::result::Result<::std::string::String, ::std::string::String> {
                    __spud_plugin().call(&name, &input)
                }
            }

            $crate::bindings::__export_spud_tool!(SpudComponent with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests;
