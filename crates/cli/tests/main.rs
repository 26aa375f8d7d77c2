//! End-to-end tests of the `mcp` binary: real models, real specs, real processes.

mod bad_input;
mod compare;
mod dashboard;
mod distributed;
mod docs;
mod faults;
mod fit;
mod fuzz;
mod interrupt;
mod jobs;
mod lifecycle;
mod observe;
mod refusals;
mod replay;
mod risk;
mod serve;
mod stop;
mod support;
mod tornado;
