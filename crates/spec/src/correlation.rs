//! Correlated inputs: `[[correlation]]` groups of variables with a target rank (Spearman)
//! correlation matrix, joined by a copula.
//!
//! The matrix a copula needs is the correlation of its normal (or t) variables, which for a
//! Gaussian copula relates to Spearman's by `r = 2 sin(π ρ / 6)`. It must be positive
//! semi-definite to exist; [`Correlation::cholesky`] gives its factor or names the variable at
//! which it fails, and `repair = true` replaces it by the nearest one that exists (`repair.rs`).
//! The Archimedean copulas (Clayton, Gumbel, Frank) join two variables, with the dependence
//! each can express: [`Correlation::check_shape`] refuses the rest.

use serde::{Deserialize, Serialize};

/// How the variables of a group are joined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "copula", rename_all = "snake_case")]
pub enum Copula {
    /// The Gaussian copula: correlated normals mapped through Φ.
    Gaussian,
    /// The Student t copula with `df` degrees of freedom: heavier joint tails (extremes
    /// together more often) than the Gaussian for the same rank correlations.
    StudentT {
        /// Degrees of freedom, > 0.
        df: f64,
    },
    /// Clayton's copula, of two variables: positive dependence, strongest in the lower tail
    /// (both small together).
    Clayton,
    /// Gumbel's copula, of two variables: positive dependence, strongest in the upper tail
    /// (both large together).
    Gumbel,
    /// Frank's copula, of two variables: dependence of either sign, with neither tail stronger.
    Frank,
}

impl Copula {
    /// The name of an Archimedean copula (which joins two variables), `None` for the others.
    pub fn archimedean(&self) -> Option<&'static str> {
        match self {
            Copula::Clayton => Some("clayton"),
            Copula::Gumbel => Some("gumbel"),
            Copula::Frank => Some("frank"),
            Copula::Gaussian | Copula::StudentT { .. } => None,
        }
    }
}

/// The largest rank correlation (in absolute value) an Archimedean copula is given: closer to 1
/// its parameter grows without bound (perfect dependence has none).
pub const MAX_ARCHIMEDEAN_RHO: f64 = 0.999;

/// One `[[correlation]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// The variables, in the matrix's order.
    pub variables: Vec<String>,
    /// The target rank (Spearman) correlations, row by row.
    pub matrix: Vec<Vec<f64>>,
    /// How they are joined.
    pub copula: Copula,
    /// With `repair = true` and a matrix that cannot exist: the matrix as written, `matrix`
    /// being the nearest valid one (see `repair.rs`). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repaired_from: Option<Vec<Vec<f64>>>,
}

/// Most variables in one correlation group.
pub const MAX_CORRELATED: usize = 256;

impl Correlation {
    /// Checks the group's shape and the matrix's rules (square, symmetric, unit diagonal,
    /// entries in [-1, 1]); the error names the entry or the pair at fault.
    pub fn check_shape(&self) -> Result<(), String> {
        let n = self.variables.len();
        if !(2..=MAX_CORRELATED).contains(&n) {
            return Err(format!(
                "variables: a correlation joins 2 to {MAX_CORRELATED} variables (got {n})"
            ));
        }
        if let Copula::StudentT { df } = self.copula
            && !(df.is_finite() && df > 0.0)
        {
            return Err(format!("df: must be a finite number above 0 (got {df})"));
        }
        if let Some(family) = self.copula.archimedean()
            && n != 2
        {
            return Err(format!(
                "variables: the {family} copula joins two variables, not {n} ({}); use \
                 gaussian or student_t for 3 or more",
                self.names()
            ));
        }
        if self.matrix.len() != n || self.matrix.iter().any(|row| row.len() != n) {
            return Err(format!(
                "matrix: must be {n} rows of {n} numbers, one per variable in `variables`"
            ));
        }
        let name = |i: usize| &self.variables[i];
        for i in 0..n {
            if self.matrix[i][i] != 1.0 {
                return Err(format!(
                    "matrix: the diagonal must be 1 (`{}` with itself is {})",
                    name(i),
                    self.matrix[i][i]
                ));
            }
            for j in 0..i {
                let (a, b) = (self.matrix[i][j], self.matrix[j][i]);
                if !(a.is_finite() && (-1.0..=1.0).contains(&a)) {
                    return Err(format!(
                        "matrix: the correlation of `{}` and `{}` must lie in [-1, 1] (got {a})",
                        name(i),
                        name(j)
                    ));
                }
                if a != b {
                    return Err(format!(
                        "matrix: must be symmetric, but `{}`–`{}` is {a} and `{}`–`{}` is {b}",
                        name(i),
                        name(j),
                        name(j),
                        name(i)
                    ));
                }
            }
        }
        self.check_archimedean()
    }

    /// The variables, quoted, for messages.
    fn names(&self) -> String {
        self.variables
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An Archimedean copula's rank correlation within what it can express.
    fn check_archimedean(&self) -> Result<(), String> {
        let Some(family) = self.copula.archimedean() else {
            return Ok(());
        };
        let rho = self.matrix[0][1];
        let (x, y) = (&self.variables[0], &self.variables[1]);
        if rho < 0.0 && family != "frank" {
            return Err(format!(
                "matrix: the {family} copula models only positive dependence, but `{x}`–`{y}` \
                 is {rho}; use frank or gaussian for a negative rank correlation"
            ));
        }
        if rho.abs() > MAX_ARCHIMEDEAN_RHO {
            return Err(format!(
                "matrix: the {family} copula takes rank correlations up to \
                 {MAX_ARCHIMEDEAN_RHO} in absolute value (`{x}`–`{y}` is {rho}; at 1 its \
                 parameter is infinite); lower it, or use gaussian, which allows perfect \
                 dependence"
            ));
        }
        Ok(())
    }

    /// The copula's own correlation matrix for the target rank correlations: for the Gaussian
    /// copula `2 sin(π ρ / 6)`; for the t copula the inverse of its own relation, computed
    /// (`student.rs`).
    pub fn copula_matrix(&self) -> Vec<Vec<f64>> {
        let t = self.t_rank();
        self.matrix
            .iter()
            .map(|row| {
                row.iter()
                    .map(|&rho| match &t {
                        _ if rho == 1.0 => 1.0,
                        None => 2.0 * (std::f64::consts::PI * rho / 6.0).sin(),
                        Some(t) => t.correlation(rho),
                    })
                    .collect()
            })
            .collect()
    }

    /// The rank correlation of copula correlation `r`: the inverse of
    /// [`Correlation::copula_matrix`]'s map, entry by entry.
    pub(crate) fn rank_of(&self, r: f64, t: Option<&crate::student::TRank>) -> f64 {
        match t {
            None => 6.0 / std::f64::consts::PI * (r / 2.0).asin(),
            Some(t) => t.rank(r),
        }
    }

    /// The t copula's relation between its correlation and Spearman's ρ, for a t group.
    pub(crate) fn t_rank(&self) -> Option<crate::student::TRank> {
        match self.copula {
            Copula::StudentT { df } if df.is_finite() && df > 0.0 => {
                Some(crate::student::TRank::new(df))
            }
            _ => None,
        }
    }

    /// The lower-triangular Cholesky factor of [`Correlation::copula_matrix`], row-major; or,
    /// when the matrix is not positive semi-definite, the message naming the first variable
    /// whose correlations contradict those before it.
    pub fn cholesky(&self) -> Result<Vec<f64>, String> {
        let r = self.copula_matrix();
        let n = r.len();
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let dot: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
                if i == j {
                    let pivot = r[i][i] - dot;
                    // A perfectly dependent variable (pivot 0) is allowed: semi-definite.
                    if pivot < -1e-10 {
                        let earlier = self.variables[..i]
                            .iter()
                            .map(|v| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        return Err(format!(
                            "matrix: is not a valid correlation matrix (not positive \
                             semi-definite): the correlations of `{}` with {earlier} contradict \
                             those among {earlier}; lower some of them, or add `repair = true` \
                             to use the nearest valid matrix",
                            self.variables[i]
                        ));
                    }
                    l[i * n + i] = pivot.max(0.0).sqrt();
                } else {
                    let d = l[j * n + j];
                    l[i * n + j] = if d > 0.0 { (r[i][j] - dot) / d } else { 0.0 };
                }
            }
        }
        Ok(l)
    }
}

/// Checks every group against the spec's variables: each names declared, non-constant
/// variables, none twice and none in two groups, and its matrix can exist. The error carries
/// the group's index.
pub(crate) fn check_all(
    variables: &[crate::Variable],
    groups: &[Correlation],
) -> Result<(), (usize, String)> {
    let by_name: std::collections::HashMap<&str, &crate::Variable> =
        variables.iter().map(|v| (v.name.as_str(), v)).collect();
    let mut grouped = std::collections::HashMap::<&str, usize>::new();
    for (g, group) in groups.iter().enumerate() {
        group.check_shape().map_err(|m| (g, m))?;
        for name in &group.variables {
            let Some(var) = by_name.get(name.as_str()) else {
                return Err((
                    g,
                    format!("variables: `{name}` is not a variable of [variables]"),
                ));
            };
            if matches!(var.dist, crate::Distribution::Constant { .. }) {
                return Err((
                    g,
                    format!("variables: `{name}` is constant: it cannot be correlated"),
                ));
            }
            if var.size != 1 || var.process.is_some() {
                return Err((
                    g,
                    format!(
                        "variables: `{name}` is a vector or path input: only single values can \
                         be correlated (correlate the inputs that drive it instead)"
                    ),
                ));
            }
            if let Some(other) = grouped.insert(name, g) {
                let message = if other == g {
                    format!("variables: `{name}` appears twice")
                } else {
                    format!(
                        "variables: `{name}` is already in correlation[{other}]; a variable \
                         belongs to one group (put them together in one matrix)"
                    )
                };
                return Err((g, message));
            }
        }
        group.cholesky().map_err(|m| (g, m))?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A Gaussian group of variables `v0`, `v1`, … with `matrix`.
    pub(crate) fn group(matrix: Vec<Vec<f64>>) -> Correlation {
        Correlation {
            variables: (0..matrix.len()).map(|i| format!("v{i}")).collect(),
            matrix,
            copula: Copula::Gaussian,
            repaired_from: None,
        }
    }

    #[test]
    fn the_factor_reproduces_the_copula_matrix() {
        let g = group(vec![
            vec![1.0, 0.8, 0.3],
            vec![0.8, 1.0, 0.5],
            vec![0.3, 0.5, 1.0],
        ]);
        let l = g.cholesky().unwrap();
        let r = g.copula_matrix();
        for i in 0..3 {
            for j in 0..3 {
                let llt: f64 = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                assert!((llt - r[i][j]).abs() < 1e-12, "{i} {j}");
            }
        }
    }

    #[test]
    fn a_matrix_that_cannot_exist_names_the_variable_and_the_others() {
        let g = group(vec![
            vec![1.0, 0.9, 0.9],
            vec![0.9, 1.0, -0.9],
            vec![0.9, -0.9, 1.0],
        ]);
        assert_eq!(
            g.cholesky().unwrap_err(),
            "matrix: is not a valid correlation matrix (not positive semi-definite): the \
             correlations of `v2` with `v0`, `v1` contradict those among `v0`, `v1`; lower some \
             of them, or add `repair = true` to use the nearest valid matrix"
        );
        let mut bad = group(vec![vec![1.0, 0.5], vec![0.4, 1.0]]);
        assert_eq!(
            bad.check_shape().unwrap_err(),
            "matrix: must be symmetric, but `v1`–`v0` is 0.4 and `v0`–`v1` is 0.5"
        );
        bad.matrix = vec![vec![1.0, 0.5], vec![0.5, 0.9]];
        assert_eq!(
            bad.check_shape().unwrap_err(),
            "matrix: the diagonal must be 1 (`v1` with itself is 0.9)"
        );
    }
}
