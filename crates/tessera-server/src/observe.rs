//! Per-request observability: request id (accepted or generated, echoed),
//! a tracing span carrying it, one structured log line, and Prometheus
//! metrics by route template and status. Only the route *template* is
//! recorded, never the raw URI, so query strings cannot leak secrets.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;
use uuid::Uuid;

mod catalogue;

/// The request-id header.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The process-wide Prometheus recorder (installed once, even when tests
/// start many servers in one process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("tessera_http_request_duration_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => {
                    catalogue::describe_and_zero();
                    handle
                }
                // Another recorder is already global (only possible in
                // embedding tests): render from a private one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

fn accepted_request_id(value: Option<&HeaderValue>) -> Option<HeaderValue> {
    let value = value?;
    let text = value.to_str().ok()?;
    let well_formed = !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    well_formed.then(|| value.clone())
}

/// The middleware.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = accepted_request_id(request.headers().get(&REQUEST_ID)).unwrap_or_else(|| {
        HeaderValue::from_str(&Uuid::new_v4().to_string()).unwrap_or(HeaderValue::from_static("invalid"))
    });
    request
        .headers_mut()
        .insert(REQUEST_ID.clone(), request_id.clone());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "request",
        request_id = request_id.to_str().unwrap_or_default(),
        method = %method,
        route = %route,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let labels = [
        ("method", method),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("tessera_http_requests_total", &labels).increment(1);
    metrics::histogram!("tessera_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    response.headers_mut().insert(REQUEST_ID.clone(), request_id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_accepted_only_when_well_formed() {
        assert!(accepted_request_id(Some(&HeaderValue::from_static("abc-123_x.y:z"))).is_some());
        assert!(accepted_request_id(Some(&HeaderValue::from_static("has space"))).is_none());
        assert!(accepted_request_id(Some(&HeaderValue::from_static(""))).is_none());
        let long = "a".repeat(129);
        assert!(accepted_request_id(HeaderValue::from_str(&long).ok().as_ref()).is_none());
    }
}
