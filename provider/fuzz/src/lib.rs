//! Support for the value codec fuzz targets: the provider's `value` module,
//! compiled from its source file, and a way to pick a [`Type`] from the first
//! bytes of a fuzz input.

#[path = "../../src/value/mod.rs"]
pub mod value;

use value::Type;

/// The deepest type that [`pick_type`] builds.
const MAX_TYPE_DEPTH: usize = 4;

/// Builds a type from the first bytes of `data` and returns it with the
/// bytes that remain, which the fuzz target then decodes as a value.
///
/// Each byte picks a kind (its value modulo 9); container kinds take their
/// element types from the following bytes, an object takes an attribute
/// count (up to 3) and a tuple an element count (up to 3) from the next byte.
/// Below the maximum depth, or when the input runs out, a primitive is used.
pub fn pick_type(data: &[u8]) -> (Type, &[u8]) {
    let mut rest = data;
    let ty = pick(&mut rest, 0);
    (ty, rest)
}

fn next(rest: &mut &[u8]) -> Option<u8> {
    let (first, tail) = rest.split_first()?;
    *rest = tail;
    Some(*first)
}

fn pick(rest: &mut &[u8], depth: usize) -> Type {
    let Some(byte) = next(rest) else {
        return Type::String;
    };
    let kind = if depth >= MAX_TYPE_DEPTH {
        byte % 4
    } else {
        byte % 9
    };
    match kind {
        0 => Type::String,
        1 => Type::Number,
        2 => Type::Bool,
        3 => Type::Dynamic,
        4 => Type::list(pick(rest, depth + 1)),
        5 => Type::set(pick(rest, depth + 1)),
        6 => Type::map(pick(rest, depth + 1)),
        7 => {
            let count = next(rest).map_or(0, |n| n % 4);
            let names = ["a", "b", "c"];
            Type::object(
                names
                    .iter()
                    .take(usize::from(count))
                    .map(|name| (*name, pick(rest, depth + 1)))
                    .collect::<Vec<_>>(),
            )
        }
        _ => {
            let count = next(rest).map_or(0, |n| n % 4);
            Type::Tuple((0..count).map(|_| pick(rest, depth + 1)).collect())
        }
    }
}
