//! Time as a parameter of the logic, so expiry and lockout are testable
//! without sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, TimeZone, Utc};

/// Where the service gets "now" from.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, at millisecond precision (what every store keeps).
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock: the one place that reads the system time (clippy's
/// `disallowed_methods` refuses `Utc::now` and `SystemTime::now` anywhere
/// else).
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        truncate_to_millis(Utc::now())
    }
}

/// A clock tests set and advance by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// Starts at `start` (truncated to milliseconds).
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(truncate_to_millis(start)))
    }

    /// Starts at the current system time (tests whose tokens a real
    /// client checks against its own clock).
    pub fn starting_now() -> ManualClock {
        ManualClock::new(SystemClock.now())
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map(|now| *now)
            .unwrap_or_else(|poisoned| *poisoned.into_inner())
    }
}

/// Drops sub-millisecond precision.
pub fn truncate_to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(at.timestamp_millis())
        .single()
        .unwrap_or(at)
}
