//! The edge to wasmtime: its component types become [`WitType`]s, [`WitValue`]s become its
//! `Val`s and back. Structural, no policy.

use crate::{ConvertError, FuncSig, WitType, WitValue};
use wasmtime::component::types::{ComponentFunc, Type};
use wasmtime::component::Val;

/// The [`WitType`] of a wasmtime component type.
pub fn wit_type(t: &Type) -> WitType {
    match t {
        Type::Bool => WitType::Bool,
        Type::S8 => WitType::S8,
        Type::U8 => WitType::U8,
        Type::S16 => WitType::S16,
        Type::U16 => WitType::U16,
        Type::S32 => WitType::S32,
        Type::U32 => WitType::U32,
        Type::S64 => WitType::S64,
        Type::U64 => WitType::U64,
        Type::Float32 => WitType::F32,
        Type::Float64 => WitType::F64,
        Type::Char => WitType::Char,
        Type::String => WitType::String,
        Type::List(l) => WitType::List(Box::new(wit_type(&l.ty()))),
        Type::Record(r) => WitType::Record(
            r.fields()
                .map(|f| (f.name.to_string(), wit_type(&f.ty)))
                .collect(),
        ),
        Type::Tuple(t) => WitType::Tuple(t.types().map(|t| wit_type(&t)).collect()),
        Type::Variant(v) => WitType::Variant(
            v.cases()
                .map(|c| (c.name.to_string(), c.ty.as_ref().map(wit_type)))
                .collect(),
        ),
        Type::Enum(e) => WitType::Enum(e.names().map(str::to_string).collect()),
        Type::Option(o) => WitType::Option(Box::new(wit_type(&o.ty()))),
        Type::Result(r) => WitType::Result {
            ok: r.ok().map(|t| Box::new(wit_type(&t))),
            err: r.err().map(|t| Box::new(wit_type(&t))),
        },
        Type::Flags(f) => WitType::Flags(f.names().map(str::to_string).collect()),
        Type::Own(_) | Type::Borrow(_) => WitType::Unsupported("a resource".into()),
        Type::Future(_) => WitType::Unsupported("a future".into()),
        Type::Stream(_) => WitType::Unsupported("a stream".into()),
        Type::ErrorContext => WitType::Unsupported("an error-context".into()),
        Type::Map(_) => WitType::Unsupported("a map".into()),
        Type::FixedLengthList(_) => WitType::Unsupported("a fixed-length list".into()),
    }
}

/// The signature of an exported function (docs come from elsewhere: wasmtime has none).
pub fn func_sig(name: &str, f: &ComponentFunc) -> FuncSig {
    let params = f
        .params()
        .map(|(n, t)| (n.to_string(), wit_type(&t)))
        .collect();
    let mut results: Vec<WitType> = f.results().map(|t| wit_type(&t)).collect();
    let result = match results.len() {
        0 => None,
        1 => results.pop(),
        _ => Some(WitType::Tuple(results)),
    };
    FuncSig {
        name: name.to_string(),
        docs: None,
        params,
        result,
    }
}

/// A wasmtime value for a [`WitValue`].
pub fn to_val(v: &WitValue) -> Val {
    let boxed = |x: &Option<Box<WitValue>>| x.as_ref().map(|x| Box::new(to_val(x)));
    match v {
        WitValue::Bool(b) => Val::Bool(*b),
        WitValue::S8(n) => Val::S8(*n),
        WitValue::S16(n) => Val::S16(*n),
        WitValue::S32(n) => Val::S32(*n),
        WitValue::S64(n) => Val::S64(*n),
        WitValue::U8(n) => Val::U8(*n),
        WitValue::U16(n) => Val::U16(*n),
        WitValue::U32(n) => Val::U32(*n),
        WitValue::U64(n) => Val::U64(*n),
        WitValue::F32(f) => Val::Float32(*f),
        WitValue::F64(f) => Val::Float64(*f),
        WitValue::Char(c) => Val::Char(*c),
        WitValue::String(s) => Val::String(s.clone()),
        WitValue::List(items) => Val::List(items.iter().map(to_val).collect()),
        WitValue::Record(fields) => {
            Val::Record(fields.iter().map(|(n, x)| (n.clone(), to_val(x))).collect())
        }
        WitValue::Tuple(items) => Val::Tuple(items.iter().map(to_val).collect()),
        WitValue::Variant(name, payload) => Val::Variant(name.clone(), boxed(payload)),
        WitValue::Enum(name) => Val::Enum(name.clone()),
        WitValue::Option(x) => Val::Option(boxed(x)),
        WitValue::Result(Ok(x)) => Val::Result(Ok(boxed(x))),
        WitValue::Result(Err(x)) => Val::Result(Err(boxed(x))),
        WitValue::Flags(names) => Val::Flags(names.clone()),
    }
}

/// The [`WitValue`] of a wasmtime value; resources and other handles have none.
pub fn from_val(v: &Val) -> Result<WitValue, ConvertError> {
    let boxed = |x: &Option<Box<Val>>| -> Result<Option<Box<WitValue>>, ConvertError> {
        x.as_ref().map(|x| from_val(x).map(Box::new)).transpose()
    };
    Ok(match v {
        Val::Bool(b) => WitValue::Bool(*b),
        Val::S8(n) => WitValue::S8(*n),
        Val::U8(n) => WitValue::U8(*n),
        Val::S16(n) => WitValue::S16(*n),
        Val::U16(n) => WitValue::U16(*n),
        Val::S32(n) => WitValue::S32(*n),
        Val::U32(n) => WitValue::U32(*n),
        Val::S64(n) => WitValue::S64(*n),
        Val::U64(n) => WitValue::U64(*n),
        Val::Float32(f) => WitValue::F32(*f),
        Val::Float64(f) => WitValue::F64(*f),
        Val::Char(c) => WitValue::Char(*c),
        Val::String(s) => WitValue::String(s.clone()),
        Val::List(items) => WitValue::List(items.iter().map(from_val).collect::<Result<_, _>>()?),
        Val::Record(fields) => WitValue::Record(
            fields
                .iter()
                .map(|(n, x)| Ok((n.clone(), from_val(x)?)))
                .collect::<Result<_, ConvertError>>()?,
        ),
        Val::Tuple(items) => WitValue::Tuple(items.iter().map(from_val).collect::<Result<_, _>>()?),
        Val::Variant(name, payload) => WitValue::Variant(name.clone(), boxed(payload)?),
        Val::Enum(name) => WitValue::Enum(name.clone()),
        Val::Option(x) => WitValue::Option(boxed(x)?),
        Val::Result(Ok(x)) => WitValue::Result(Ok(boxed(x)?)),
        Val::Result(Err(x)) => WitValue::Result(Err(boxed(x)?)),
        Val::Flags(names) => WitValue::Flags(names.clone()),
        other => {
            return Err(ConvertError {
                path: "$".into(),
                expected: "a value with a JSON form".into(),
                found: format!("{:?}", std::mem::discriminant(other)),
            })
        }
    })
}
