//! The statistics against their analytic values on samples of known distributions.

mod risk;
mod tornado;
