//! Result records (JSON), target checks and the markdown summary.

mod markdown;
mod records;
mod targets;

pub use markdown::markdown;
pub use records::{
    Argon2Report, Machine, ReferenceReport, RunConfig, RunReport, ScenarioReport, ServerReport,
};
pub use targets::check_targets;

/// KiB as MiB with one decimal, for targets and summary alike.
fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
