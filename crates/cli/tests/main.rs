//! End-to-end tests of the `mcp` binary: real models, real specs, real processes.

mod bad_input;
mod checkpoint;
mod compare;
mod dashboard;
mod distributed;
mod docs;
mod export;
mod faults;
mod fit;
mod fuzz;
mod interrupt;
mod jobs;
mod languages;
mod lifecycle;
mod observe;
mod refusals;
mod replay;
mod report;
mod risk;
mod serve;
mod sobol;
mod stop;
mod support;
mod tornado;
