//! A test component that exports every WIT value kind, built with plain wit-bindgen and no
//! spud SDK: proof that any component is a spud tool.

wit_bindgen::generate!({ path: "wit", world: "typed" });

use exports::example::typed::shapes::{BoundingBox, Everything, Permissions, Point, Shape};

struct Typed;

impl exports::example::typed::shapes::Guest for Typed {
    fn area(s: Shape) -> f64 {
        match s {
            Shape::Circle(r) => std::f64::consts::PI * r * r,
            Shape::Rectangle((a, b)) => ((b.x - a.x) * (b.y - a.y)).abs(),
            Shape::Empty => 0.0,
        }
    }

    fn echo_everything(x: Everything) -> Everything {
        x
    }

    fn describe_flags(p: Permissions) -> Vec<String> {
        let mut out = Vec::new();
        for (flag, name) in [
            (Permissions::READ, "read"),
            (Permissions::WRITE, "write"),
            (Permissions::EXECUTE, "execute"),
        ] {
            if p.contains(flag) {
                out.push(name.to_string());
            }
        }
        out
    }

    fn first_char(s: String) -> Option<char> {
        s.chars().next()
    }

    fn bounds(points: Vec<Point>) -> Option<BoundingBox> {
        let (first, rest) = points.split_first()?;
        let start = BoundingBox {
            min: *first,
            max: *first,
        };
        Some(rest.iter().fold(start, |b, p| BoundingBox {
            min: Point {
                x: b.min.x.min(p.x),
                y: b.min.y.min(p.y),
            },
            max: Point {
                x: b.max.x.max(p.x),
                y: b.max.y.max(p.y),
            },
        }))
    }
}

impl Guest for Typed {
    fn checked_div(a: i32, b: i32) -> Result<i32, String> {
        // `checked_div` also refuses i32::MIN / -1, whose quotient does not fit.
        a.checked_div(b)
            .ok_or_else(|| format!("cannot divide {a} by {b}"))
    }

    fn max_ints() -> (u8, i8, u16, i16, u32, i32, u64, i64) {
        (
            u8::MAX,
            i8::MAX,
            u16::MAX,
            i16::MAX,
            u32::MAX,
            i32::MAX,
            u64::MAX,
            i64::MAX,
        )
    }

    fn min_ints() -> (u8, i8, u16, i16, u32, i32, u64, i64) {
        (
            u8::MIN,
            i8::MIN,
            u16::MIN,
            i16::MIN,
            u32::MIN,
            i32::MIN,
            u64::MIN,
            i64::MIN,
        )
    }
}

export!(Typed);
