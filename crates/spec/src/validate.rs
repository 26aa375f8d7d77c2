//! The rules every spec obeys, checked on a [`Spec`] that did not come from the parser: one
//! decoded from a message (the sender's checks do not count) or changed after parsing (`mcp
//! submit --scenarios`). The parser enforces the same bounds, field by field, with positions.

use crate::{MAX_BATCH, MAX_MEMORY_MIB, Spec};
use std::collections::HashSet;

/// Most scenarios a job may have: the largest count an `f64` holds exactly (the statistics
/// divide by it).
pub const MAX_SCENARIOS: u64 = 1 << 53;
/// Longest job time-out, in seconds (in milliseconds it must fit in 64 bits).
pub const MAX_TIMEOUT_S: u64 = u64::MAX / 1000;
/// Longest scenario time-out, in milliseconds.
pub const MAX_SCENARIO_TIMEOUT_MS: u64 = u64::MAX / 1000;
/// Most variables a spec may have.
pub const MAX_VARIABLES: usize = 4096;
/// Longest variable (and model) name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Most values one scenario's inputs may hold, vector inputs counted element by element.
pub const MAX_INPUT_VALUES: u32 = 65_536;

impl Spec {
    /// Checks every bound and rule of a spec; the error names the field at fault and its
    /// allowed range.
    pub fn validate(&self) -> Result<(), String> {
        let sim = &self.simulation;
        let limits = &self.limits;
        within("simulation.scenarios", sim.scenarios, 1, MAX_SCENARIOS)?;
        within(
            "simulation.batch",
            u64::from(sim.batch),
            1,
            u64::from(MAX_BATCH),
        )?;
        within(
            "limits.fuel_per_scenario",
            limits.fuel_per_scenario,
            1,
            u64::MAX,
        )?;
        within(
            "limits.memory_mib",
            u64::from(limits.memory_mib),
            1,
            u64::from(MAX_MEMORY_MIB),
        )?;
        within("limits.timeout_s", limits.timeout_s, 1, MAX_TIMEOUT_S)?;
        within(
            "limits.scenario_timeout_ms",
            limits.scenario_timeout_ms,
            1,
            MAX_SCENARIO_TIMEOUT_MS,
        )?;
        for (field, name) in [
            ("model.name", &self.model.name),
            ("model.version", &self.model.version),
        ] {
            if let Some(name) = name {
                name_fits(name).map_err(|m| format!("{field}: {m}"))?;
            }
        }
        if self.variables.len() > MAX_VARIABLES {
            return Err(format!(
                "variables: {} variables, more than {MAX_VARIABLES}",
                self.variables.len()
            ));
        }
        let mut names = HashSet::with_capacity(self.variables.len());
        for var in &self.variables {
            name_fits(&var.name).map_err(|m| format!("variables: {m}"))?;
            if !names.insert(var.name.as_str()) {
                return Err(format!("variables.{}: appears twice", var.name));
            }
            var.dist
                .validate()
                .map_err(|(param, message)| format!("variables.{}.{param}: {message}", var.name))?;
            if let Some(bounds) = var.truncate {
                var.dist
                    .check_truncation(bounds)
                    .map_err(|m| format!("variables.{}.truncate: {m}", var.name))?;
            }
            var.check_shape()
                .map_err(|(field, m)| format!("variables.{}.{field}: {m}", var.name))?;
        }
        let width: u64 = self.variables.iter().map(|v| u64::from(v.size)).sum();
        if width > u64::from(MAX_INPUT_VALUES) {
            return Err(format!(
                "variables: a scenario's inputs hold {width} values, more than \
                 {MAX_INPUT_VALUES}"
            ));
        }
        crate::correlation::check_all(&self.variables, &self.correlations)
            .map_err(|(g, m)| format!("correlation[{g}].{m}"))?;
        if let Some((field, message)) = self.check_sensitivity().into_iter().next() {
            return Err(format!("{field}: {message}"));
        }
        if let Some(target) = self.stop.as_ref().and_then(|s| s.sobol.as_ref())
            && (self.sensitivity.is_none() || self.variable(&target.input).is_none())
        {
            return Err(format!(
                "stop.sobol: watches input `{}`, which needs [sensitivity] and a variable of \
                 that name",
                target.input
            ));
        }
        Ok(())
    }
}

/// Checks that `value` of `field` lies in `min..=max`, in the parser's words.
fn within(field: &str, value: u64, min: u64, max: u64) -> Result<(), String> {
    if value < min {
        Err(format!("{field}: must be at least {min} (got {value})"))
    } else if value > max {
        Err(format!("{field}: must be at most {max} (got {value})"))
    } else {
        Ok(())
    }
}

impl crate::Variable {
    /// Checks a vector or path input's shape: its size in 1..=[`MAX_INPUT_VALUES`], and for a
    /// path, standard normal draws, no truncation and valid process parameters. The error
    /// names the field (`size`, `steps`, or the process's parameter).
    pub(crate) fn check_shape(&self) -> Result<(), (&'static str, String)> {
        let field = if self.process.is_some() {
            "steps"
        } else {
            "size"
        };
        if !(1..=MAX_INPUT_VALUES).contains(&self.size) {
            return Err((
                field,
                format!("must be 1 to {MAX_INPUT_VALUES} (got {})", self.size),
            ));
        }
        if let Some(process) = &self.process {
            let normal = crate::Distribution::Normal {
                mean: 0.0,
                std: 1.0,
            };
            if self.dist != normal || self.truncate.is_some() {
                return Err((
                    "process",
                    "a path draws standard normal steps, untruncated".to_string(),
                ));
            }
            process.validate()?;
        }
        Ok(())
    }
}

/// Splits a model's declared input name into its name and size: `z[252]` is input `z` of 252
/// values, `z` one value. A name ending in `]` must be such a declaration; the error says so.
pub fn input_shape(declared: &str) -> Result<(&str, u32), String> {
    let Some(body) = declared.strip_suffix(']') else {
        return Ok((declared, 1));
    };
    let parsed = body.rsplit_once('[').and_then(|(name, digits)| {
        let size = if digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse::<u32>().ok()?
        } else {
            return None;
        };
        (!name.is_empty() && (1..=MAX_INPUT_VALUES).contains(&size)).then_some((name, size))
    });
    parsed.ok_or_else(|| {
        format!(
            "declares input `{declared}`: a vector input is written `name[N]` with N from 1 to \
             {MAX_INPUT_VALUES}, and no other input name ends in `]`"
        )
    })
}

/// Checks that a name is not empty and at most [`MAX_NAME_BYTES`] long; the error says why.
pub(crate) fn name_fits(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a name must not be empty".to_string());
    }
    if name.len() > MAX_NAME_BYTES {
        let shown: String = name.chars().take(32).collect();
        return Err(format!(
            "the name `{shown}…` is {} bytes long, more than {MAX_NAME_BYTES}",
            name.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Distribution, Variable};

    fn spec() -> Spec {
        Spec::parse(
            "[simulation]\nscenarios = 10\nseed = 1\n[variables]\nx = { dist = \"normal\", \
             mean = 0.0, std = 1.0 }\n",
            "vars.toml",
        )
        .unwrap()
    }

    #[test]
    fn declared_inputs_split_into_name_and_size() {
        assert_eq!(input_shape("z"), Ok(("z", 1)));
        assert_eq!(input_shape("path[252]"), Ok(("path", 252)));
        assert_eq!(input_shape("a[b][3]"), Ok(("a[b]", 3)));
        assert_eq!(input_shape("x[65536]"), Ok(("x", 65536)));
        for bad in [
            "x[0]",
            "x[65537]",
            "x[]",
            "[3]",
            "x]",
            "x[+5]",
            "x[ 5]",
            "x[99999999999]",
        ] {
            let e = input_shape(bad).unwrap_err();
            assert!(
                e.contains(&format!("`{bad}`")) && e.contains("name[N]"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_parsed_spec_is_valid_and_every_broken_field_is_named() {
        assert_eq!(spec().validate(), Ok(()));
        type Spoil = fn(&mut Spec);
        let cases: [(Spoil, &str); 9] = [
            (
                |s| s.simulation.batch = 0,
                "simulation.batch: must be at least 1 (got 0)",
            ),
            (
                |s| s.simulation.scenarios = u64::MAX,
                "simulation.scenarios: must be at most 9007199254740992 (got 18446744073709551615)",
            ),
            (
                |s| s.limits.memory_mib = 5000,
                "limits.memory_mib: must be at most 4096 (got 5000)",
            ),
            (
                |s| s.limits.timeout_s = u64::MAX,
                "limits.timeout_s: must be at most 18446744073709551 (got 18446744073709551615)",
            ),
            (
                |s| s.limits.fuel_per_scenario = 0,
                "limits.fuel_per_scenario: must be at least 1 (got 0)",
            ),
            (
                |s| {
                    s.variables[0].dist = Distribution::Normal {
                        mean: 0.0,
                        std: -1.0,
                    }
                },
                "variables.x.std: must be greater than 0 (got -1)",
            ),
            (
                |s| {
                    s.variables[0].dist = Distribution::Normal {
                        mean: f64::NAN,
                        std: 1.0,
                    }
                },
                "variables.x.mean: must be a finite number (got NaN)",
            ),
            (
                |s| s.variables.push(s.variables[0].clone()),
                "variables.x: appears twice",
            ),
            (
                |s| s.model.name = Some("m".repeat(300)),
                "model.name: the name `mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm…` is 300 bytes long, more than 256",
            ),
        ];
        for (spoil, expected) in cases {
            let mut s = spec();
            spoil(&mut s);
            assert_eq!(s.validate(), Err(expected.to_string()));
        }
        let mut many = spec();
        many.variables = (0..=MAX_VARIABLES)
            .map(|i| Variable::scalar(&format!("v{i}"), Distribution::Constant { value: 1.0 }))
            .collect();
        assert_eq!(
            many.validate(),
            Err("variables: 4097 variables, more than 4096".to_string())
        );
    }
}
