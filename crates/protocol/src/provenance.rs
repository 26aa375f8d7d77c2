//! Where a result came from: enough to reproduce it bit for bit.
//!
//! Same model bytes, same spec, same seed and an mcp that draws and merges the same way give
//! the same outputs to the last bit, whatever the transport or the consumer count. The summary
//! of every job records each of those, so that `mcp rerun` can check a rerun against it.

use crate::{ModelInfo, PROTOCOL_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `sha256:<hex>` of `bytes`: how mcp names model bytes and specs.
pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// What a job's result depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// `sha256:<hex>` of the model's Wasm bytes.
    pub model_digest: String,
    /// `sha256:<hex>` of the spec as every role received it ([`spec_digest`]).
    pub spec_digest: String,
    /// The seed of the job's random streams.
    pub seed: u64,
    /// The version of mcp that aggregated the job.
    pub mcp_version: String,
    /// The wire protocol the job's messages spoke.
    pub protocol_version: u16,
}

/// The digest of a spec: of its MessagePack encoding, the form it travels in (its source text,
/// comments and layout are not part of it; `--seed` and `--scenarios` overrides are).
pub fn spec_digest(spec: &mcp_spec::Spec) -> String {
    sha256(&rmp_serde::to_vec_named(spec).expect("a spec encodes"))
}

impl Provenance {
    /// The provenance of a job of model `info` under `spec`.
    pub fn of(info: &ModelInfo, spec: &mcp_spec::Spec) -> Provenance {
        Provenance {
            model_digest: info.digest.clone(),
            spec_digest: spec_digest(spec),
            seed: spec.simulation.seed,
            mcp_version: env!("CARGO_PKG_VERSION").to_string(),
            protocol_version: PROTOCOL_VERSION,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specs_digest_follows_what_it_says_not_how_it_is_written() {
        let parse = |text: &str| mcp_spec::Spec::parse(text, "vars.toml").unwrap();
        let base = "[simulation]\nscenarios = 10\nseed = 1\n[variables]\nx = { dist = \"normal\", mean = 0, std = 1 }\n";
        let spaced = "# a comment\n[simulation]\nseed = 1\nscenarios   = 10\n\n[variables]\nx = { std = 1.0, mean = 0.0, dist = \"normal\" }\n";
        assert_eq!(spec_digest(&parse(base)), spec_digest(&parse(spaced)));
        let mut other = parse(base);
        other.simulation.seed = 2;
        assert_ne!(spec_digest(&parse(base)), spec_digest(&other));
    }
}
