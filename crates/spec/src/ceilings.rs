//! What an operator allows a job's limits to be: ceilings on fuel, scenario time, memory and the
//! job's time-out, and a floor on the batch size. `mcp serve` refuses an upload over its own;
//! `mcp consumer` refuses to run a job over its own, saying so in its heartbeat.

use crate::Spec;

/// An operator's ceilings (and batch floor) on a job's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ceilings {
    /// Most `limits.fuel_per_scenario`.
    pub fuel_per_scenario: u64,
    /// Most `limits.scenario_timeout_ms`.
    pub scenario_timeout_ms: u64,
    /// Most `limits.memory_mib`.
    pub memory_mib: u32,
    /// Most `limits.timeout_s`.
    pub timeout_s: u64,
    /// Least `simulation.batch` (small batches cost the broker a message each).
    pub min_batch: u32,
}

impl Default for Ceilings {
    /// No ceiling below what any spec may ask for.
    fn default() -> Ceilings {
        Ceilings {
            fuel_per_scenario: u64::MAX,
            scenario_timeout_ms: u64::MAX,
            memory_mib: u32::MAX,
            timeout_s: u64::MAX,
            min_batch: 1,
        }
    }
}

impl Ceilings {
    /// Checks `spec` against the ceilings of `who` (`this server`, `this consumer`), naming the
    /// field, the ceiling and the flag that raises it.
    pub fn check(&self, spec: &Spec, who: &str) -> Result<(), String> {
        let limits = &spec.limits;
        let over = [
            (
                "limits.fuel_per_scenario",
                limits.fuel_per_scenario,
                self.fuel_per_scenario,
                "--max-fuel",
            ),
            (
                "limits.scenario_timeout_ms",
                limits.scenario_timeout_ms,
                self.scenario_timeout_ms,
                "--max-scenario-ms",
            ),
            (
                "limits.memory_mib",
                u64::from(limits.memory_mib),
                u64::from(self.memory_mib),
                "--max-memory-mib",
            ),
            (
                "limits.timeout_s",
                limits.timeout_s,
                self.timeout_s,
                "--max-timeout-s",
            ),
        ];
        for (field, value, most, flag) in over {
            if value > most {
                return Err(format!(
                    "{field} is {value}, more than {who} allows ({most}); lower it or ask the \
                     operator to raise {flag}"
                ));
            }
        }
        if spec.simulation.batch < self.min_batch {
            return Err(format!(
                "simulation.batch is {}, less than {who} allows ({}); raise it or ask the \
                 operator to lower --min-batch",
                spec.simulation.batch, self.min_batch
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_over_a_ceiling_is_refused_naming_the_ceiling_and_its_flag() {
        let spec = Spec::parse(
            "[simulation]\nscenarios = 10\nseed = 1\nbatch = 8\n[limits]\nmemory_mib = 512\n\
             [variables]\n",
            "vars.toml",
        )
        .unwrap();
        assert_eq!(Ceilings::default().check(&spec, "this consumer"), Ok(()));
        let low = Ceilings {
            memory_mib: 256,
            ..Ceilings::default()
        };
        assert_eq!(
            low.check(&spec, "this consumer"),
            Err(
                "limits.memory_mib is 512, more than this consumer allows (256); lower it or \
                 ask the operator to raise --max-memory-mib"
                    .into()
            )
        );
        let floor = Ceilings {
            min_batch: 1024,
            ..Ceilings::default()
        };
        assert_eq!(
            floor.check(&spec, "this server"),
            Err(
                "simulation.batch is 8, less than this server allows (1024); raise it or ask \
                 the operator to lower --min-batch"
                    .into()
            )
        );
    }
}
