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
        let position = span.map(|s| {
            let offset = s.start.min(src.text.len());
            let line = src
                .line_starts
                .partition_point(|&start| start <= offset)
                .max(1);
            let line_start = src.line_starts.get(line - 1).copied().unwrap_or(0);
            let col = src.text[line_start..offset].chars().count() + 1;
            (line, col)
        });
        Diagnostic {
            origin: src.origin.clone(),
            position,
            field: field.to_string(),
            message,
        }
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

/// Most problems a spec error shows; past them it says how many more there are (a spec of
/// thousands of bad lines would otherwise print thousands of lines).
pub const MAX_SHOWN: usize = 100;

/// Every problem found in a spec; displayed one per line, the first [`MAX_SHOWN`] of them.
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
        for (i, d) in self.diagnostics.iter().take(MAX_SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        let more = self.diagnostics.len().saturating_sub(MAX_SHOWN);
        if more > 0 {
            write!(
                f,
                "\n... and {more} more problems; fix these and check again"
            )?;
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
    use super::*;

    #[test]
    fn positions_from_the_line_index_match_a_scan_of_the_text() {
        let text = "a = 1\nbé = 2\n\nlast";
        let src = SourceMap::new("t.toml", text);
        for offset in 0..=text.len() {
            if !text.is_char_boundary(offset) {
                continue;
            }
            let d = Diagnostic::at(&src, Some(offset..offset), "f", String::new());
            assert_eq!(
                d.position,
                Some(line_column(text, offset)),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_spec_with_thousands_of_problems_shows_a_hundred_and_counts_the_rest() {
        let src = SourceMap::new("t.toml", "x");
        let many = (0..150)
            .map(|i| Diagnostic::at(&src, None, "f", format!("problem {i}")))
            .collect();
        let text = SpecError::new(many).to_string();
        assert_eq!(text.lines().count(), MAX_SHOWN + 1);
        assert!(text.ends_with("... and 50 more problems; fix these and check again"));
    }

    #[test]
    fn line_column_counts_from_one() {
        let text = "a\nbc\néd";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 2));
        assert_eq!(line_column(text, text.len()), (3, 3));
    }
}
