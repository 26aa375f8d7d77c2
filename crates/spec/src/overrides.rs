//! Values given beside a spec that replace its own: `mcp submit --scenarios/--seed`, and the
//! same fields of an upload to `POST /api/jobs`.

use crate::{MAX_SCENARIOS, Spec};

/// A scenario count and a seed to use instead of the spec's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `simulation.scenarios`.
    pub scenarios: Option<u64>,
    /// Replaces `simulation.seed`.
    pub seed: Option<u64>,
}

impl Overrides {
    /// Puts the overrides into `spec`, or says which one is out of range; `prefix` is how the
    /// user gave them (`--` for flags, empty for an upload's fields).
    pub fn apply(&self, spec: &mut Spec, prefix: &str) -> Result<(), String> {
        if let Some(n) = self.scenarios {
            if n == 0 {
                return Err(format!("{prefix}scenarios must be at least 1"));
            }
            if n > MAX_SCENARIOS {
                return Err(format!("{prefix}scenarios must be at most {MAX_SCENARIOS}"));
            }
            if let Some(runs) = spec.saltelli_runs()
                && let Some(why) = crate::sensitivity::design_count(n, runs, runs - 2)
            {
                return Err(format!("{prefix}scenarios {why}"));
            }
            spec.simulation.scenarios = n;
        }
        if let Some(seed) = self.seed {
            spec.simulation.seed = seed;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec::parse(
            "[simulation]\nscenarios = 10\nseed = 1\n[variables]\n",
            "vars.toml",
        )
        .unwrap()
    }

    #[test]
    fn overrides_replace_the_specs_values_within_its_bounds() {
        let mut s = spec();
        let both = Overrides {
            scenarios: Some(7),
            seed: Some(9),
        };
        both.apply(&mut s, "--").unwrap();
        assert_eq!((s.simulation.scenarios, s.simulation.seed), (7, 9));
        for (n, err) in [
            (0, "--scenarios must be at least 1".to_string()),
            (
                MAX_SCENARIOS + 1,
                format!("--scenarios must be at most {MAX_SCENARIOS}"),
            ),
        ] {
            let bad = Overrides {
                scenarios: Some(n),
                seed: None,
            };
            assert_eq!(bad.apply(&mut spec(), "--"), Err(err));
        }
        assert_eq!(Overrides::default().apply(&mut s, ""), Ok(()));
        assert_eq!(s.simulation.scenarios, 7);
    }
}
