//! Procedural macros of `spud-sdk`. Use them through `spud_sdk::tool`.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::Parser;
use syn::{parse_macro_input, Expr, FnArg, ItemFn, Lit, LitStr, Meta, ReturnType};

/// Makes a function a spud tool.
///
/// The function must look like `fn name(input: In) -> Result<Out, ToolError>` with
/// `In: Deserialize + JsonSchema` and `Out: Serialize + JsonSchema`. Its doc comment becomes
/// the tool's description and its name the tool's name (override with
/// `#[tool(name = "other")]`). The function stays as written; next to it (in the type
/// namespace, so the names do not clash) the macro adds an empty struct of the same name
/// whose `descriptor()` returns the `spud_sdk::Tool` that `export_plugin!` collects.
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = parse_macro_input!(item as ItemFn);
    match expand(attr.into(), func) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(attr: proc_macro2::TokenStream, func: ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let ident = &func.sig.ident;
    let name = tool_name(attr)?.unwrap_or_else(|| LitStr::new(&ident.to_string(), ident.span()));
    check_signature(&func)?;
    let description = doc_comment(&func).ok_or_else(|| {
        syn::Error::new_spanned(
            &func.sig.ident,
            "a spud tool needs a doc comment: it becomes the description the agent reads",
        )
    })?;
    let description = LitStr::new(&description, Span::call_site());
    let vis = &func.vis;
    let doc = format!("Descriptor of the `{}` tool.", name.value());
    Ok(quote! {
        #func

        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #ident {}

        impl #ident {
            #[doc = #doc]
            pub fn descriptor() -> ::spud_sdk::Tool {
                ::spud_sdk::Tool::new(#name, #description, #ident)
            }
        }
    })
}

/// Reads `name = "..."` from the attribute arguments, if given.
fn tool_name(attr: proc_macro2::TokenStream) -> syn::Result<Option<LitStr>> {
    if attr.is_empty() {
        return Ok(None);
    }
    let metas =
        syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated.parse2(attr)?;
    let mut name = None;
    for meta in metas {
        match meta {
            Meta::NameValue(nv) if nv.path.is_ident("name") => match nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) if !s.value().is_empty() && !s.value().contains('.') => name = Some(s),
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "`name` must be a non-empty string literal without `.`",
                    ))
                }
            },
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "unknown argument; the only one is `name = \"...\"`",
                ))
            }
        }
    }
    Ok(name)
}

fn check_signature(func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new_spanned(a, "a spud tool must not be async"));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "a spud tool must not be generic",
        ));
    }
    if sig.inputs.len() != 1 || matches!(sig.inputs.first(), Some(FnArg::Receiver(_))) {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            "a spud tool takes exactly one argument, its input: `fn name(input: In)`",
        ));
    }
    if matches!(sig.output, ReturnType::Default) {
        return Err(syn::Error::new_spanned(
            sig,
            "a spud tool returns `Result<Out, spud_sdk::ToolError>`",
        ));
    }
    Ok(())
}

/// The doc comment's text, or `None` if it is empty. As in rendered docs, a line break
/// inside a paragraph becomes a space; blank lines, list items, tables, code fences and
/// indented lines keep their line breaks.
fn doc_comment(func: &ItemFn) -> Option<String> {
    let lines: Vec<String> = func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        // `split`, not `lines`: an empty `///` line must stay a paragraph break.
        .flat_map(|s| s.split('\n').map(str::to_string).collect::<Vec<_>>())
        .map(|l| l.strip_prefix(' ').unwrap_or(&l).trim_end().to_string())
        .collect();
    let mut text = String::new();
    let mut previous_blank = true;
    let mut in_fence = false;
    for line in &lines {
        let fence = line.starts_with("```");
        let keeps_break = in_fence
            || fence
            || line.is_empty()
            || line.starts_with("    ")
            || ["- ", "* ", "|", "#"].iter().any(|p| line.starts_with(p))
            || line
                .split_once(". ")
                .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()));
        if !text.is_empty() {
            text.push(if keeps_break || previous_blank {
                '\n'
            } else {
                ' '
            });
        }
        text.push_str(line);
        in_fence ^= fence;
        previous_blank = line.is_empty() || fence || line.starts_with("    ");
    }
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}
