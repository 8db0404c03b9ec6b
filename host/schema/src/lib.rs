//! WIT types as JSON: the schema an agent sees for a component's function, and the conversion
//! of the agent's JSON arguments into component values (and of results back into JSON).
//!
//! The mapping, which [`type_schema`] describes and [`json_to_value`] accepts exactly:
//!
//! | WIT | JSON |
//! |---|---|
//! | `bool` | boolean |
//! | `u8` … `s64` | integer within the type's bounds |
//! | `f32`, `f64` | number; non-finite values as `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | `char` | string of exactly one Unicode scalar value |
//! | `string` | string |
//! | `list<T>` | array |
//! | `tuple<A, B>` | array of fixed length |
//! | `record` | object with the WIT field names; `option` fields may be omitted |
//! | `variant` | object with one property, the case name; its value is the payload or `null` |
//! | `enum` | string |
//! | `flags` | array of unique flag names |
//! | `option<T>` | `null` or `T`; `{"some": T}` when `T` itself can be `null` |
//! | `result<T, E>` | `{"ok": T}` or `{"err": E}` (`null` for a missing type) |
//!
//! Resources, futures, streams and error contexts have no JSON form: a function that takes
//! one is reported as not callable by [`is_callable`].

#![warn(missing_docs)]

mod convert;
mod from_json;
mod schema;
mod to_json;

#[cfg(feature = "component")]
mod component;
#[cfg(feature = "wasmtime")]
pub mod wasmtime_bridge;

#[cfg(feature = "component")]
pub use component::{docs_from_wit, exported_functions, DecodeError, ExportedFunc};
pub use convert::ConvertError;
pub use from_json::{args_from_json, json_to_value};
pub use schema::{input_schema, output_schema, type_schema};
pub use to_json::value_to_json;

/// A WIT type, as far as JSON is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitType {
    /// `bool`
    Bool,
    /// `s8`
    S8,
    /// `s16`
    S16,
    /// `s32`
    S32,
    /// `s64`
    S64,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `char`
    Char,
    /// `string`
    String,
    /// `list<T>`
    List(Box<WitType>),
    /// `record { name: T, … }`
    Record(Vec<(String, WitType)>),
    /// `tuple<…>`
    Tuple(Vec<WitType>),
    /// `variant { case(T), case, … }`
    Variant(Vec<(String, Option<WitType>)>),
    /// `enum { a, b }`
    Enum(Vec<String>),
    /// `option<T>`
    Option(Box<WitType>),
    /// `result<T, E>`, either side optional.
    Result {
        /// Ok type.
        ok: Option<Box<WitType>>,
        /// Err type.
        err: Option<Box<WitType>>,
    },
    /// `flags { a, b }`
    Flags(Vec<String>),
    /// A type with no JSON form (resource, future, stream, error-context), by name.
    Unsupported(String),
}

/// A value of a [`WitType`].
#[derive(Debug, Clone, PartialEq)]
pub enum WitValue {
    /// `bool`
    Bool(bool),
    /// `s8`
    S8(i8),
    /// `s16`
    S16(i16),
    /// `s32`
    S32(i32),
    /// `s64`
    S64(i64),
    /// `u8`
    U8(u8),
    /// `u16`
    U16(u16),
    /// `u32`
    U32(u32),
    /// `u64`
    U64(u64),
    /// `f32`
    F32(f32),
    /// `f64`
    F64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list`
    List(Vec<WitValue>),
    /// `record`: fields in declaration order.
    Record(Vec<(String, WitValue)>),
    /// `tuple`
    Tuple(Vec<WitValue>),
    /// `variant`: case name and payload.
    Variant(String, Option<Box<WitValue>>),
    /// `enum`: case name.
    Enum(String),
    /// `option`
    Option(Option<Box<WitValue>>),
    /// `result`
    Result(Result<Option<Box<WitValue>>, Option<Box<WitValue>>>),
    /// `flags`: the names that are set.
    Flags(Vec<String>),
}

/// A function's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncSig {
    /// Function name.
    pub name: String,
    /// Its WIT doc comment.
    pub docs: Option<String>,
    /// Parameters in order.
    pub params: Vec<(String, WitType)>,
    /// Result type, if any.
    pub result: Option<WitType>,
}

impl WitType {
    /// The first unsupported type inside this one, if any.
    pub fn unsupported(&self) -> Option<&str> {
        match self {
            WitType::Unsupported(name) => Some(name),
            WitType::List(t) | WitType::Option(t) => t.unsupported(),
            WitType::Record(fields) => fields.iter().find_map(|(_, t)| t.unsupported()),
            WitType::Tuple(ts) => ts.iter().find_map(WitType::unsupported),
            WitType::Variant(cases) => cases
                .iter()
                .find_map(|(_, t)| t.as_ref().and_then(WitType::unsupported)),
            WitType::Result { ok, err } => ok
                .as_deref()
                .and_then(WitType::unsupported)
                .or_else(|| err.as_deref().and_then(WitType::unsupported)),
            _ => None,
        }
    }

    /// Whether `null` is a valid JSON form of this type (then an enclosing `option` must wrap
    /// `some` explicitly).
    pub fn accepts_null(&self) -> bool {
        matches!(self, WitType::Option(_))
    }
}

/// `Ok` when every parameter and the result have a JSON form; otherwise which one does not.
pub fn is_callable(sig: &FuncSig) -> Result<(), String> {
    for (name, t) in &sig.params {
        if let Some(u) = t.unsupported() {
            return Err(format!(
                "parameter `{name}` has type {u}, which has no JSON form"
            ));
        }
    }
    if let Some(u) = sig.result.as_ref().and_then(WitType::unsupported) {
        return Err(format!("the result has type {u}, which has no JSON form"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
