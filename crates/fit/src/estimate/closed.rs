//! The continuous families whose maximum likelihood estimates have a closed form.

use crate::Sample;
use mcp_spec::Distribution;

/// Mean and the standard deviation with divisor n.
pub(super) fn normal(s: &Sample) -> Distribution {
    Distribution::Normal {
        mean: s.mean(),
        std: s.variance().sqrt(),
    }
}

/// The normal estimates of the logarithms (all values above 0).
pub(super) fn lognormal(s: &Sample) -> Distribution {
    let (mu, variance) = s.moments_of(f64::ln);
    Distribution::Lognormal {
        mu,
        sigma: variance.sqrt(),
    }
}

/// One over the mean (all values 0 or more, so the mean is above 0: not all are equal).
pub(super) fn exponential(s: &Sample) -> Distribution {
    Distribution::Exponential {
        rate: 1.0 / s.mean(),
    }
}

/// The smallest and the largest value: the narrowest interval holding them all.
pub(super) fn uniform(s: &Sample) -> Distribution {
    Distribution::Uniform {
        min: s.min(),
        max: s.max(),
    }
}
