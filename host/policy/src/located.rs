//! Errors that point into a file: `file:line:column: message`, as editors and terminals link.

/// What is wrong, and where in which file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct Located {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl Located {
    /// The error at byte `offset` of `src`.
    pub fn at(src: &str, file: &str, offset: usize, message: impl Into<String>) -> Located {
        let (line, column) = line_col(src, offset);
        Located {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A TOML parse error, at the position it names.
    pub fn toml(src: &str, file: &str, e: &toml::de::Error) -> Located {
        Located::at(src, file, e.span().map_or(0, |s| s.start), e.message())
    }
}

/// 1-based line and column of a byte offset in `src`.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
