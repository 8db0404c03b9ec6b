//! Plain paths (`$.a.b`, `$['a'][0]`): the only kind `set` may use to create a member that
//! does not exist yet, since only they name exactly one place.

/// One step from a node to a child.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// An object member.
    Name(String),
    /// An array element.
    Index(usize),
}

/// Parses `path` as `$` followed by `.name`, `['name']`, `["name"]` and `[N]` steps only.
/// Returns `None` for anything else (wildcards, slices, filters, negative indexes...).
pub fn parse(path: &str) -> Option<Vec<Step>> {
    let mut chars = path.trim().strip_prefix('$')?.chars().peekable();
    let mut steps = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' || !c.is_ascii() {
                        name.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                    return None;
                }
                steps.push(Step::Name(name));
            }
            '[' => {
                let step = match chars.peek()? {
                    '\'' | '"' => {
                        let quote = chars.next()?;
                        Step::Name(quoted(&mut chars, quote)?)
                    }
                    _ => {
                        let mut digits = String::new();
                        while let Some(c) = chars.next_if(char::is_ascii_digit) {
                            digits.push(c);
                        }
                        if digits.len() > 1 && digits.starts_with('0') {
                            return None;
                        }
                        Step::Index(digits.parse().ok()?)
                    }
                };
                if chars.next()? != ']' {
                    return None;
                }
                steps.push(step);
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// Reads a quoted member name up to the closing `quote`, decoding RFC 9535 escapes.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> Option<String> {
    let mut name = String::new();
    loop {
        match chars.next()? {
            c if c == quote => return Some(name),
            '\\' => {
                let decoded = match chars.next()? {
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let hex: String = (0..4).map(|_| chars.next()).collect::<Option<_>>()?;
                        char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                    }
                    c @ ('\\' | '/' | '\'' | '"') => c,
                    _ => return None,
                };
                name.push(decoded);
            }
            c => name.push(c),
        }
    }
}
