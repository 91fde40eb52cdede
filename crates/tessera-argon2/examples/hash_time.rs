//! Single-core argon2id timing at OWASP cost (m=19456 KiB, t=2, p=1):
//! one untimed hash, then the median of 20, on the calling thread only.
//! Also prints the PHC string of a fixed password and salt, so two builds
//! (or two CPUs) can be checked to agree, and the instruction set whose
//! copy of libargon2's block-filling code was selected.
//!
//! `cargo run --release -p tessera-argon2 --example hash_time [runs]`

use std::time::Instant;

use tessera_argon2::{hash_encoded, instruction_set, Params};

const OWASP: Params = Params {
    memory_kib: 19456,
    iterations: 2,
    parallelism: 1,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 20,
    };
    let fixed = hash_encoded(b"password", b"tessera-fixed-salt", OWASP)?;
    println!("fixed: {fixed}");
    println!("instruction set: {}", instruction_set());
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        let password = format!("password-{run}");
        let start = Instant::now();
        hash_encoded(password.as_bytes(), b"0123456789abcdef", OWASP)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    if let (Some(min), Some(max)) = (times.first(), times.last()) {
        let median = times[times.len() / 2];
        println!("runs: {runs}  median: {median:.2} ms  min: {min:.2} ms  max: {max:.2} ms");
    }
    Ok(())
}
