//! `repair = true`: a correlation matrix that cannot exist, replaced by the nearest one that can.
//!
//! What must be positive semi-definite is the copula's matrix, `r = 2 sin(π ρ / 6)` of the
//! target rank correlations `ρ` (the one the sampler factors), so that is the matrix repaired:
//! Higham's alternating projections (2002), with Dykstra's correction, between the matrices
//! whose eigenvalues are at least a floor and those with a unit diagonal, converge to the
//! nearest correlation matrix in the Frobenius norm. The floor, [`EIGEN_FLOOR`] rather than 0,
//! makes the result strictly positive definite, so that rounding (the way back to rank
//! correlations, `ρ = (6/π) asin(r / 2)`, and the sampler's way forth) cannot push it out of
//! the valid set. The spec keeps rank correlations, one unit for its readers: the repaired
//! matrix replaces `matrix`, and the matrix as written stays in `repaired_from`.
//!
//! The eigen-decompositions are cyclic Jacobi rotations, each started from the previous
//! iteration's eigenvectors (in whose basis the next matrix is nearly diagonal). An iteration
//! costs a few n³ operations and the projections take tens of iterations: a matrix with a few
//! contradictions among a dozen variables is repaired in milliseconds, a large group far from
//! valid takes seconds.

use crate::Correlation;

/// The smallest eigenvalue of a repaired copula matrix, before its diagonal is scaled back to 1.
pub(crate) const EIGEN_FLOOR: f64 = 1e-8;

/// Relative change between two iterations at which the projections stop.
const TOLERANCE: f64 = 1e-10;
/// Most iterations of the projections (they converge linearly, in tens of iterations); the
/// last step makes the result valid however far they got.
const MAX_ITERATIONS: usize = 1000;

impl Correlation {
    /// With a well-shaped matrix that cannot exist (its copula matrix is not positive
    /// semi-definite): replaces it by the nearest valid one and keeps the matrix as written in
    /// `repaired_from`. Says whether it did; a valid matrix is left alone.
    pub(crate) fn repair(&mut self) -> bool {
        if self.repaired_from.is_some() || self.check_shape().is_err() || self.cholesky().is_ok() {
            return false;
        }
        let n = self.matrix.len();
        let r: Vec<f64> = self.copula_matrix().into_iter().flatten().collect();
        let nearest = nearest_correlation(&r, n);
        let t = self.t_rank();
        let mut rho = vec![vec![1.0; n]; n];
        for i in 0..n {
            for j in 0..i {
                let v = self.rank_of(nearest[i * n + j], t.as_ref());
                rho[i][j] = v;
                rho[j][i] = v;
            }
        }
        self.repaired_from = Some(std::mem::replace(&mut self.matrix, rho));
        true
    }

    /// For a repaired group: what changed, in words (the largest change, and the matrix used
    /// when the group is small enough to print it); `None` when nothing was repaired.
    pub fn repair_report(&self) -> Option<String> {
        let original = self.repaired_from.as_ref()?;
        let n = self.matrix.len();
        let (mut at, mut largest) = ((1, 0), -1.0);
        for (i, (row, before)) in self.matrix.iter().zip(original).enumerate() {
            for (j, (now, was)) in row.iter().zip(before).enumerate().take(i) {
                if (now - was).abs() > largest {
                    (at, largest) = ((i, j), (now - was).abs());
                }
            }
        }
        let (i, j) = at;
        let mut report = format!(
            "is not a valid correlation matrix (not positive semi-definite); `repair = true` \
             replaced it by the nearest valid one, whose largest change is `{}`–`{}` from {} to \
             {}",
            self.variables[j],
            self.variables[i],
            short(original[i][j]),
            short(self.matrix[i][j])
        );
        if n <= 10 {
            let rows: Vec<String> = self
                .matrix
                .iter()
                .map(|row| {
                    let cells: Vec<String> = row.iter().map(|x| short(*x)).collect();
                    format!("[{}]", cells.join(", "))
                })
                .collect();
            report.push_str(&format!("; matrix used: [{}]", rows.join(", ")));
        }
        Some(report)
    }
}

/// `x` to four decimals, without trailing zeros.
fn short(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The correlation matrix nearest to the symmetric `a` (`n × n`, row-major, unit diagonal) in
/// the Frobenius norm, with eigenvalues floored at [`EIGEN_FLOOR`] before its diagonal is
/// scaled back to exactly 1: symmetric, unit diagonal, entries in [-1, 1], positive definite.
pub(crate) fn nearest_correlation(a: &[f64], n: usize) -> Vec<f64> {
    let mut y = a.to_vec();
    let mut correction = vec![0.0; n * n];
    // The eigenvectors of the last decomposition: the next matrix differs little, so in their
    // basis it is nearly diagonal and Jacobi needs three or four sweeps instead of nine.
    let mut basis = None;
    for _ in 0..MAX_ITERATIONS {
        // Higham's step: project (Y − ΔS) onto the positive matrices, remember what that moved
        // (Dykstra's correction), then onto the unit diagonal.
        let r: Vec<f64> = y.iter().zip(&correction).map(|(y, d)| y - d).collect();
        let x = floor_eigenvalues(&r, n, EIGEN_FLOOR, &mut basis);
        correction = x.iter().zip(&r).map(|(x, r)| x - r).collect();
        let mut next = x;
        for i in 0..n {
            next[i * n + i] = 1.0;
        }
        let moved = frobenius(next.iter().zip(&y).map(|(a, b)| a - b));
        let size = frobenius(next.iter().copied());
        y = next;
        if moved <= TOLERANCE * size {
            break;
        }
    }
    // Y has a unit diagonal and lies within the tolerance of the positive matrices: make it
    // both exactly. Scaling by a positive diagonal keeps a matrix positive definite.
    let x = floor_eigenvalues(&y, n, EIGEN_FLOOR, &mut basis);
    let scale: Vec<f64> = (0..n).map(|i| x[i * n + i].sqrt()).collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        out[i * n + i] = 1.0;
        for j in 0..i {
            let v = ((x[i * n + j] + x[j * n + i]) / 2.0 / (scale[i] * scale[j])).clamp(-1.0, 1.0);
            out[i * n + j] = v;
            out[j * n + i] = v;
        }
    }
    out
}

fn frobenius(values: impl Iterator<Item = f64>) -> f64 {
    values.map(|v| v * v).sum::<f64>().sqrt()
}

/// `V max(Λ, floor) Vᵀ` for the symmetric `a = V Λ Vᵀ`: the nearest matrix (Frobenius) whose
/// eigenvalues are at least `floor`. `basis` starts the decomposition and keeps its result.
fn floor_eigenvalues(a: &[f64], n: usize, floor: f64, basis: &mut Option<Vec<f64>>) -> Vec<f64> {
    let (values, vectors) = jacobi(a, n, basis.as_deref());
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v: f64 = (0..n)
                .map(|k| vectors[i * n + k] * values[k].max(floor) * vectors[j * n + k])
                .sum();
            out[i * n + j] = v;
            out[j * n + i] = v;
        }
    }
    *basis = Some(vectors);
    out
}

/// The product `a b` of `n × n` row-major matrices, or `aᵀ b` when `transposed`.
fn multiply(a: &[f64], b: &[f64], n: usize, transposed: bool) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let x = if transposed {
                a[k * n + i]
            } else {
                a[i * n + k]
            };
            for j in 0..n {
                out[i * n + j] += x * b[k * n + j];
            }
        }
    }
    out
}

/// Most sweeps of [`jacobi`]; it converges quadratically, in well under 20 for any size here.
const MAX_SWEEPS: usize = 64;

/// The eigenvalues and eigenvectors of the symmetric `a` (`n × n`, row-major) by cyclic Jacobi
/// rotations: `(λ, V)` with `a = V diag(λ) Vᵀ`, eigenvector `k` in column `k` of `V`. With
/// `basis` (an orthogonal matrix), the rotations start from `basisᵀ a basis`.
pub(crate) fn jacobi(a: &[f64], n: usize, basis: Option<&[f64]>) -> (Vec<f64>, Vec<f64>) {
    let (mut a, mut v) = match basis {
        None => {
            let mut identity = vec![0.0; n * n];
            for i in 0..n {
                identity[i * n + i] = 1.0;
            }
            (a.to_vec(), identity)
        }
        Some(b) => {
            let mut rotated = multiply(b, &multiply(a, b, n, false), n, true);
            // Exactly symmetric, as the rotations assume.
            for i in 0..n {
                for j in 0..i {
                    let m = (rotated[i * n + j] + rotated[j * n + i]) / 2.0;
                    rotated[i * n + j] = m;
                    rotated[j * n + i] = m;
                }
            }
            (rotated, b.to_vec())
        }
    };
    let total = frobenius(a.iter().copied());
    for _ in 0..MAX_SWEEPS {
        let mut off = 0.0;
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    off += a[i * n + j] * a[i * n + j];
                }
            }
        }
        if off.sqrt() <= 1e-15 * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation by φ in the (p, q) plane that zeroes a[p][q]: t = tan φ, the
                // smaller root of t² + 2θt − 1 = 0 with θ = cot 2φ.
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = if theta >= 0.0 {
                    1.0 / (theta + theta.hypot(1.0))
                } else {
                    -1.0 / (-theta + theta.hypot(1.0))
                };
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                for k in 0..n {
                    let (kp, kq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * kp - s * kq;
                    a[k * n + q] = s * kp + c * kq;
                }
                for k in 0..n {
                    let (pk, qk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * pk - s * qk;
                    a[q * n + k] = s * pk + c * qk;
                }
                for k in 0..n {
                    let (kp, kq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * kp - s * kq;
                    v[k * n + q] = s * kp + c * kq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::tests::group;

    /// A symmetric matrix from a fixed pseudo-random sequence.
    fn symmetric(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x = next();
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        a
    }

    #[test]
    fn jacobi_decomposes_a_symmetric_matrix() {
        for (n, seed) in [(1, 1), (2, 2), (3, 3), (8, 4), (30, 5)] {
            let a = symmetric(n, seed);
            let (values, v) = jacobi(&a, n, None);
            for i in 0..n {
                for j in 0..n {
                    let back: f64 = (0..n)
                        .map(|k| v[i * n + k] * values[k] * v[j * n + k])
                        .sum();
                    assert!(
                        (back - a[i * n + j]).abs() < 1e-12,
                        "n {n}: V Λ Vᵀ ≠ A at {i} {j}"
                    );
                    let dot: f64 = (0..n).map(|k| v[k * n + i] * v[k * n + j]).sum();
                    let identity = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - identity).abs() < 1e-12, "n {n}: V not orthogonal");
                }
            }
        }
    }

    #[test]
    fn a_valid_matrix_is_left_alone() {
        let mut g = group(vec![vec![1.0, 0.9], vec![0.9, 1.0]]);
        assert!(!g.repair());
        assert_eq!(g.matrix, vec![vec![1.0, 0.9], vec![0.9, 1.0]]);
        assert_eq!(g.repair_report(), None);
    }

    #[test]
    fn repairs_of_random_matrices_are_valid_correlation_matrices() {
        for (n, seed) in [(6, 8), (12, 9), (40, 10)] {
            let mut a = symmetric(n, seed);
            for i in 0..n {
                a[i * n + i] = 1.0;
            }
            let matrix: Vec<Vec<f64>> = a.chunks(n).map(<[f64]>::to_vec).collect();
            let mut g = group(matrix);
            assert!(
                g.repair(),
                "n {n}: a random matrix of this size is not valid"
            );
            assert!(g.cholesky().is_ok(), "n {n}");
            let r: Vec<f64> = g.copula_matrix().into_iter().flatten().collect();
            let (values, _) = jacobi(&r, n, None);
            let least = values.iter().copied().fold(f64::INFINITY, f64::min);
            assert!(least > 0.0, "n {n}: least eigenvalue {least}");
            for i in 0..n {
                assert_eq!(g.matrix[i][i], 1.0);
                for j in 0..n {
                    assert_eq!(g.matrix[i][j], g.matrix[j][i]);
                }
            }
        }
    }
}
