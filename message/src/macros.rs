//! The [`message!`](crate::message!) macro. Its paths go through `$crate`, which names this crate wherever
//! the macro is invoked from, so `gmp::message!` (the guest SDK's re-export) works in a program that depends
//! on `gmp` alone.

/// Implements [`Message`](crate::Message) for a struct by listing its fields, in either of two forms.
///
/// Defining form: declares the struct (attributes, visibility and field types as usual; no generics) and
/// implements `Message` for it. Listing form: `impl Type { fields }` implements it for an existing struct
/// whose listed fields are all messages; it must list every field, and works for tuple structs by number.
/// Fields are encoded in the order listed, each with a length where it has one: a struct never drops its
/// last field's length prefix, even at the end of a message.
///
/// ```
/// use gmp_message::DecodeError;
///
/// gmp_message::message! {
///     #[derive(Debug, Clone, PartialEq)]
///     pub struct Job {
///         pub id: u32,
///         pub data: Vec<u8>,
///     }
/// }
///
/// #[derive(Debug, PartialEq)]
/// struct Point(i32, i32);
/// gmp_message::message!(impl Point { 0, 1 });
///
/// let sent = (Job { id: 1, data: vec![2] }, Point(3, -4));
/// let enc = gmp_message::encode(&sent);
/// assert_eq!(enc.bytes(), &[1, 0, 0, 0, 1, 0, 0, 0, 2, 3, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff]);
/// assert_eq!(gmp_message::decode(enc.bytes(), enc.handles()), Ok(sent));
/// assert_eq!(gmp_message::decode::<Job>(&[1, 0, 0, 0], &[]), Err(DecodeError::UnexpectedEnd));
/// ```
#[macro_export]
macro_rules! message {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$fmeta])* $fvis $field: $ty),*
        }

        $crate::message!(impl $name { $($field),* });
    };
    (impl $name:ty { $($field:tt),* $(,)? }) => {
        impl $crate::Message for $name {
            fn encode(&self, enc: &mut $crate::Encoder) {
                $($crate::Message::encode(&self.$field, enc);)*
            }

            fn decode(dec: &mut $crate::Decoder<'_>) -> ::core::result::Result<Self, $crate::DecodeError> {
                ::core::result::Result::Ok(Self { $($field: $crate::Message::decode(dec)?),* })
            }
        }
    };
}
