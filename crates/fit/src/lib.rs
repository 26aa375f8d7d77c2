//! Fitting input distributions to historical data: what `mcp fit` does.
//!
//! A column of numbers (read from CSV text by [`read_column`]) is checked ([`Sample`]), every
//! family of the spec that suits its kind (measurements or counts) is fitted by maximum
//! likelihood, closed forms where they exist and argmin's solvers elsewhere, scored with
//! statrs (log-likelihood, AIC, BIC, Kolmogorov–Smirnov, Anderson–Darling) and ranked
//! ([`Report`]); the best fit becomes a line of `vars.toml` ([`spec_line`]) and the best few
//! can be drawn over the data's histogram as SVG ([`plot::svg`]). This crate does no I/O: it
//! reads the bytes it is given and returns values and strings. It knows the spec's
//! distributions and statrs, nothing of models, sandboxes or jobs.

mod columns;
mod estimate;
mod gof;
mod model;
pub mod plot;
mod report;
mod sample;
mod solve;
mod spec_line;

pub use columns::{Column, read_column};
pub use estimate::{Family, Kind};
pub use report::{Criterion, Fit, Report, Skipped};
pub use sample::{MIN_VALUES, Sample};
pub use spec_line::{DIGITS, parameters, rounded, spec_line, variable_name};

/// Bad data, with the column or cell at fault and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitError(pub String);

impl std::fmt::Display for FitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FitError {}

/// Fits `column`: of `kind` when given, else counts when every value is a whole number of 0
/// or more and measurements otherwise; ranked by `criterion`.
pub fn fit(column: &Column, kind: Option<Kind>, criterion: Criterion) -> Result<Report, FitError> {
    let sample = Sample::new(&column.name, column.values.clone())?;
    let kind = match kind {
        Some(Kind::Discrete) if !sample.is_counts() => {
            let odd = sample
                .sorted()
                .iter()
                .find(|v| **v < 0.0 || v.fract() != 0.0)
                .expect("not counts: some value is negative or fractional");
            return Err(FitError(format!(
                "column `{}`: the discrete families fit counts (whole numbers of 0 or more), \
                 but it holds {odd}; fit it as continuous",
                column.name
            )));
        }
        Some(kind) => kind,
        None if sample.is_counts() => Kind::Discrete,
        None => Kind::Continuous,
    };
    Ok(Report::new(&column.name, &sample, kind, criterion))
}
