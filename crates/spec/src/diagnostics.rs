//! Errors that point into the spec's source text.

use crate::SourceMap;
use std::fmt;
use std::ops::Range;

/// One problem in a spec, located in its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The source name, e.g. `vars.toml`.
    pub origin: String,
    /// 1-based line and column, when the problem has a place.
    pub position: Option<(usize, usize)>,
    /// The dotted field path at fault, e.g. `variables.z.std`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic located at `span` of the source in `src`.
    pub fn at(src: &SourceMap, span: Option<Range<usize>>, field: &str, message: String) -> Self {
        Diagnostic::in_text(&src.origin, &src.text, span, field, message)
    }

    /// A diagnostic located at `span` of `text`.
    pub fn in_text(
        origin: &str,
        text: &str,
        span: Option<Range<usize>>,
        field: &str,
        message: String,
    ) -> Self {
        Diagnostic {
            origin: origin.to_string(),
            position: span.map(|s| line_column(text, s.start)),
            field: field.to_string(),
            message,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.field, self.message)
        }
    }
}

/// Every problem found in a spec; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The problems, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl SpecError {
    /// Bundles diagnostics, sorted by their place in the source.
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|d| d.position.unwrap_or((usize::MAX, 0)));
        SpecError { diagnostics }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a\nbc\néd";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 2));
        assert_eq!(line_column(text, text.len()), (3, 3));
    }
}
