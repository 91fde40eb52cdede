//! Latencies and counts of the load: per worker, merged per scenario.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use hdrhistogram::Histogram;

use crate::http::Response;

/// Latencies and counts of one worker or of a whole scenario.
pub struct Stats {
    /// Every answered request, µs.
    pub all: Histogram<u64>,
    /// 2xx answers, µs.
    pub ok: Histogram<u64>,
    /// 503 answers, µs.
    pub busy: Histogram<u64>,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no HTTP answer (connection errors).
    pub transport_errors: u64,
    /// 503 answers without a numeric `Retry-After`.
    pub busy_without_retry_after: u64,
    /// Refresh chains restarted by a login after a failed refresh.
    pub relogins: u64,
    /// Workers that gave up (could not restart their session).
    pub failed_workers: u64,
    /// 2xx answers that failed the scenario's check (introspection: not
    /// `"active":true`); counted as errors, not in `ok`.
    pub rejected_2xx: u64,
    /// authorization-code: the token request alone, of complete exchanges, µs.
    pub token: Histogram<u64>,
    /// First few error descriptions, for the report.
    pub error_samples: Vec<String>,
}

impl Stats {
    /// Empty statistics (µs histograms from 1 µs to 10 min, 3 digits).
    pub(super) fn new() -> Result<Stats> {
        let histogram = || Histogram::<u64>::new_with_bounds(1, 600_000_000, 3);
        Ok(Stats {
            all: histogram()?,
            ok: histogram()?,
            busy: histogram()?,
            statuses: BTreeMap::new(),
            transport_errors: 0,
            busy_without_retry_after: 0,
            relogins: 0,
            failed_workers: 0,
            rejected_2xx: 0,
            token: histogram()?,
            error_samples: Vec::new(),
        })
    }

    /// An answered request: counted by status; non-2xx answers are errors.
    pub(super) fn record(&mut self, response: &Response, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.all.saturating_record(micros);
        *self.statuses.entry(response.status).or_default() += 1;
        if (200..300).contains(&response.status) {
            self.ok.saturating_record(micros);
        } else {
            if response.status == 503 {
                self.busy.saturating_record(micros);
                if response.retry_after.is_none() {
                    self.busy_without_retry_after += 1;
                }
            }
            self.sample(format!("{} {}", response.status, response.body_text()));
        }
    }

    /// A 2xx answer whose body is wrong: an error, not a success.
    pub(super) fn record_rejected(&mut self, response: &Response, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.all.saturating_record(micros);
        *self.statuses.entry(response.status).or_default() += 1;
        self.rejected_2xx += 1;
        self.sample(format!("{} {}", response.status, response.body_text()));
    }

    /// An operation that failed before its last request (authorization-code:
    /// the authorization request gave no code), with the status it got.
    pub(super) fn record_failed(&mut self, status: u16, latency: Duration, detail: String) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.all.saturating_record(micros);
        *self.statuses.entry(status).or_default() += 1;
        self.sample(detail);
    }

    /// Keeps `text` as an error sample (the first five distinct ones).
    pub(super) fn sample(&mut self, text: String) {
        if self.error_samples.len() < 5 && !self.error_samples.contains(&text) {
            self.error_samples.push(text);
        }
    }

    /// Adds another worker's statistics to these.
    pub(super) fn merge(&mut self, other: Stats) -> Result<()> {
        self.all.add(&other.all)?;
        self.ok.add(&other.ok)?;
        self.busy.add(&other.busy)?;
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.busy_without_retry_after += other.busy_without_retry_after;
        self.relogins += other.relogins;
        self.failed_workers += other.failed_workers;
        self.rejected_2xx += other.rejected_2xx;
        self.token.add(&other.token)?;
        for sample in other.error_samples {
            self.sample(sample);
        }
        Ok(())
    }
}
