//! `#[derive(Message)]`: implements `gmp_message::Message` for a struct or an enum, in the same format as
//! the `message!` macro, so the two forms of one struct read each other's messages.
//!
//! # Format
//! - A struct: its fields in declaration order, each with [`Message::encode`] (a length wherever the field
//!   type has one; a struct never drops its last field's length).
//! - An enum: the variant's index (`u32`, declaration order from 0), then its fields as for a struct. An
//!   index with no variant decodes to `DecodeError::Invalid`.
//!
//! Every type parameter must be a `Message` too; the derive adds that bound.
//!
//! # Finding the trait
//! The generated code names the trait through whichever crate the user depends on: the guest SDK (`gmp`,
//! which re-exports the format as `gmp::__message`), the host (`wasm_gmp::message`) or `gmp_message` itself,
//! looked up in the user's `Cargo.toml` in that order.
//!
//! [`Message::encode`]: https://docs.rs/gmp-message

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, Index, parse_macro_input};

/// Implements `Message` for a struct (named, tuple or unit) or an enum; see the crate documentation for the
/// format.
#[proc_macro_derive(Message)]
pub fn derive_message(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The path of the crate that defines `Message`, as the deriving crate reaches it.
fn format_crate() -> syn::Result<TokenStream> {
    use proc_macro_crate::{FoundCrate, crate_name};
    let found = |name: &str, suffix: TokenStream| {
        crate_name(name).ok().map(|found| {
            let base = match found {
                // `gmp_message` declares `extern crate self as gmp_message`, so its own tests and examples
                // name it like any other crate.
                FoundCrate::Itself => format_ident!("{}", name.replace('-', "_")),
                FoundCrate::Name(n) => format_ident!("{}", n),
            };
            quote!(::#base #suffix)
        })
    };
    found("gmp", quote!(::__message))
        .or_else(|| found("wasm-gmp", quote!(::message)))
        .or_else(|| found("gmp-message", quote!()))
        .ok_or_else(|| {
            syn::Error::new(
                Span::call_site(),
                "#[derive(Message)] needs the crate `gmp` (guest SDK), `wasm-gmp` (host) or `gmp-message` as a \
                 dependency",
            )
        })
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let krate = format_crate()?;
    let name = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(#krate::Message));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let (encode, decode) = match &input.data {
        Data::Struct(s) => {
            let (bind, build) = destructure(&s.fields, quote!(Self));
            let encode = encode_fields(&s.fields, &krate);
            let decode = decode_fields(&s.fields, &krate);
            (quote! { let #bind = self; #encode }, quote! { #decode ::core::result::Result::Ok(#build) })
        }
        Data::Enum(e) => {
            let mut enc_arms = Vec::new();
            let mut dec_arms = Vec::new();
            for (i, v) in e.variants.iter().enumerate() {
                let tag = u32::try_from(i).map_err(|_| syn::Error::new_spanned(v, "too many variants"))?;
                let vname = &v.ident;
                let (bind, build) = destructure(&v.fields, quote!(Self::#vname));
                let encode = encode_fields(&v.fields, &krate);
                let decode = decode_fields(&v.fields, &krate);
                enc_arms.push(quote! { #bind => { #krate::Message::encode(&#tag, enc); #encode } });
                dec_arms.push(quote! { #tag => { #decode ::core::result::Result::Ok(#build) } });
            }
            let invalid = syn::LitStr::new(&format!("{name} variant"), Span::call_site());
            (
                quote! { match self { #(#enc_arms)* } },
                quote! {
                    match <u32 as #krate::Message>::decode(dec)? {
                        #(#dec_arms)*
                        _ => ::core::result::Result::Err(#krate::DecodeError::Invalid(#invalid)),
                    }
                },
            )
        }
        Data::Union(u) => {
            return Err(syn::Error::new_spanned(u.union_token, "#[derive(Message)] does not support unions"));
        }
    };

    Ok(quote! {
        impl #impl_generics #krate::Message for #name #ty_generics #where_clause {
            #[allow(unused_variables)]
            fn encode(&self, enc: &mut #krate::Encoder) {
                #encode
            }

            #[allow(unused_variables)]
            fn decode(dec: &mut #krate::Decoder<'_>) -> ::core::result::Result<Self, #krate::DecodeError> {
                #decode
            }
        }
    })
}

/// The local name of each field: `f0`, `f1`, ... (named fields keep their order, not their names, so that
/// they never clash with `enc` and `dec`).
fn locals(fields: &Fields) -> Vec<syn::Ident> {
    (0..fields.len()).map(|i| format_ident!("__gmp_f{}", i)).collect()
}

/// A pattern binding every field of `path` by reference to its local, and an expression building `path`
/// from the locals.
fn destructure(fields: &Fields, path: TokenStream) -> (TokenStream, TokenStream) {
    let vars = locals(fields);
    match fields {
        Fields::Named(named) => {
            let names: Vec<_> = named.named.iter().map(|f| f.ident.clone().expect("named")).collect();
            (quote!(#path { #(#names: #vars),* }), quote!(#path { #(#names: #vars),* }))
        }
        Fields::Unnamed(_) => {
            let idx: Vec<Index> = (0..fields.len()).map(Index::from).collect();
            (quote!(#path { #(#idx: #vars),* }), quote!(#path( #(#vars),* )))
        }
        Fields::Unit => (quote!(#path), quote!(#path)),
    }
}

fn encode_fields(fields: &Fields, krate: &TokenStream) -> TokenStream {
    let vars = locals(fields);
    quote! { #(#krate::Message::encode(#vars, enc);)* }
}

fn decode_fields(fields: &Fields, krate: &TokenStream) -> TokenStream {
    let vars = locals(fields);
    quote! { #(let #vars = #krate::Message::decode(dec)?;)* }
}
