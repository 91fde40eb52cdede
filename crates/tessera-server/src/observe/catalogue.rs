//! Every metric Tessera exports, described once: `# HELP` text for each,
//! and the counters of known label values registered at zero when the
//! recorder is installed, so that a dashboard or an alert (`rate(…[5m])`,
//! `increase(…) > 0`) sees a series from the first scrape instead of an
//! absent one (Prometheus' advice on missing series).

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use tessera_core::ClientRefusal;

/// The grant types the token endpoint counts.
const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// Describes every metric and registers the known series at zero.
pub(super) fn describe_and_zero() {
    describe_counter!(
        "tessera_http_requests_total",
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        "tessera_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request, by method, route template and status"
    );
    describe_counter!(
        "tessera_logins_total",
        "Password logins by result: ok, failed (refused credentials), error"
    );
    for result in ["ok", "failed", "error"] {
        metrics::counter!("tessera_logins_total", "result" => result).increment(0);
    }
    describe_gauge!(
        "tessera_password_hash_queue_depth",
        "Password hashes running or waiting for a hashing slot"
    );
    metrics::gauge!("tessera_password_hash_queue_depth").set(0.0);
    describe_counter!(
        "tessera_password_hash_rejected_total",
        "Password checks refused at once (503 with Retry-After) because the hash queue was full"
    );
    metrics::counter!("tessera_password_hash_rejected_total").increment(0);
    describe_counter!(
        "tessera_mail_sent_total",
        "Mails handed to the mail server (or written as .eml files) by the outbox worker"
    );
    metrics::counter!("tessera_mail_sent_total").increment(0);
    describe_counter!(
        "tessera_mail_failures_total",
        "Failed delivery attempts of the outbox worker (each retried with backoff, or given up)"
    );
    metrics::counter!("tessera_mail_failures_total").increment(0);
    describe_counter!(
        "tessera_mail_given_up_total",
        "Mails given up after their last attempt (listed by GET /api/v1/admin/mail?status=failed)"
    );
    metrics::counter!("tessera_mail_given_up_total").increment(0);
    describe_counter!(
        "tessera_refresh_token_reuse_total",
        "Spent refresh tokens presented again; each revoked its session (theft detection)"
    );
    metrics::counter!("tessera_refresh_token_reuse_total").increment(0);
    describe_counter!(
        "tessera_authorization_code_reuse_total",
        "Authorization codes presented a second time; each revoked what the code had issued"
    );
    metrics::counter!("tessera_authorization_code_reuse_total").increment(0);
    describe_counter!(
        "tessera_tokens_issued_total",
        "Token endpoint answers by grant type and result (ok or the OAuth error code)"
    );
    for grant in GRANT_TYPES {
        metrics::counter!("tessera_tokens_issued_total", "grant_type" => grant, "result" => "ok")
            .increment(0);
    }
    describe_counter!(
        "tessera_client_auth_failures_total",
        "Failed client authentications at the OAuth endpoints, by reason"
    );
    for reason in ClientRefusal::LABELS {
        metrics::counter!("tessera_client_auth_failures_total", "reason" => reason).increment(0);
    }
}
