//! The crate's own shorthand.

/// Chained setters, for builders and settings: each `name(self, value: T) { body }` becomes
/// `pub fn name(mut self, value: T) -> Self`, running `body` (which sets the field) and
/// returning the value, with the setter's own docs.
macro_rules! setters {
    ($(
        $(#[$doc:meta])*
        $name:ident($this:ident $(, $value:ident: $arg:ty)*) { $($body:tt)* }
    )*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut $this $(, $value: $arg)*) -> Self {
                $($body)*;
                $this
            }
        )*
    };
}
