//! argon2id timed in-process with the server's own implementation
//! (`tessera-argon2`) at OWASP parameters: the hash time gives the bound
//! on logins per second the login scenarios are judged against.

use std::time::Instant;

use anyhow::Result;

use crate::report::Argon2Report;

/// OWASP's argon2id parameters, as the server hashes passwords.
const OWASP: tessera_argon2::Params = tessera_argon2::Params {
    memory_kib: 19456,
    iterations: 2,
    parallelism: 1,
};

/// Any fixed 16-byte salt: the time does not depend on it.
const SALT: &[u8; 16] = b"bench-salt-16byt";

/// Times argon2id at OWASP parameters: one untimed run, then `runs` timed.
pub fn time_argon2(runs: usize, cores: usize) -> Result<Argon2Report> {
    let (times, first_run_ms) = time_one_core(runs, |run| format!("bench-Passphrase-{run}-xyz"))?;
    let (parallel_hashes, parallel_per_s) = time_all_cores(runs, cores)?;
    let median = median(&times);
    Ok(Argon2Report {
        memory_kib: OWASP.memory_kib,
        iterations: OWASP.iterations,
        parallelism: OWASP.parallelism,
        runs,
        median_ms: median,
        min_ms: times[0],
        max_ms: times[times.len() - 1],
        first_run_ms,
        median_ms_after_run: None,
        cores,
        hash_bound_per_s: cores as f64 / (median / 1000.0),
        parallel_hashes,
        parallel_per_s,
    })
}

/// Median single-core argon2id time of `runs` hashes (after one untimed).
pub fn median_hash_ms(runs: usize) -> Result<f64> {
    let (times, _) = time_one_core(runs, |run| format!("bench-Passphrase-after-{run}"))?;
    Ok(median(&times))
}

/// One hash of `password`, encoded.
fn hash(password: &str) -> Result<String> {
    tessera_argon2::hash_encoded(password.as_bytes(), SALT, OWASP)
        .map_err(|err| anyhow::anyhow!("argon2: {err}"))
}

/// One untimed hash, then `runs` timed on this thread: the timed ones
/// sorted and the untimed one (fresh memory: page faults included), ms.
fn time_one_core(runs: usize, password: impl Fn(usize) -> String) -> Result<(Vec<f64>, f64)> {
    let mut times = Vec::with_capacity(runs);
    let mut first_run_ms = 0.0;
    for run in 0..=runs {
        let password = password(run);
        let began = Instant::now();
        let encoded = hash(&password)?;
        let elapsed = began.elapsed().as_secs_f64() * 1000.0;
        std::hint::black_box(encoded);
        if run > 0 {
            times.push(elapsed);
        } else {
            first_run_ms = elapsed;
        }
    }
    times.sort_by(f64::total_cmp);
    Ok((times, first_run_ms))
}

/// The same hash on every core at once: the bound assumes linear scaling;
/// memory bandwidth and shared caches may disagree. One untimed hash per
/// thread first (its allocator arena's first touch), then a common start.
/// Returns the hashes done and hashes per second (by the slowest thread).
fn time_all_cores(runs: usize, cores: usize) -> Result<(usize, f64)> {
    let per_thread = runs.max(10);
    let barrier = std::sync::Barrier::new(cores);
    let hash = |password: String| -> Result<()> {
        std::hint::black_box(hash(&password)?);
        Ok(())
    };
    let elapsed: Vec<Result<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cores)
            .map(|thread| {
                let (barrier, hash) = (&barrier, &hash);
                scope.spawn(move || {
                    hash(format!("bench-Passphrase-{thread}-warm"))?;
                    barrier.wait();
                    let began = Instant::now();
                    for run in 0..per_thread {
                        hash(format!("bench-Passphrase-{thread}-{run}"))?;
                    }
                    anyhow::Ok(began.elapsed().as_secs_f64())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("argon2 thread panicked"))?
            })
            .collect()
    });
    let slowest = elapsed
        .into_iter()
        .collect::<Result<Vec<f64>>>()?
        .into_iter()
        .fold(0.0, f64::max);
    Ok((per_thread * cores, (per_thread * cores) as f64 / slowest))
}

/// The median of sorted, non-empty `times`.
fn median(times: &[f64]) -> f64 {
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    }
}
