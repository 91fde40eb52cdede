//! What every handler can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tessera_core::{AuthService, ClientService};

/// HTTP-level settings (the binary fills them from its configuration).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Login answers with cookies unless `?mode=token` (default: tokens in
    /// the body unless `?mode=cookie`).
    pub cookie_mode_default: bool,
    /// Mark cookies `Secure` (true when the issuer is https).
    pub secure_cookies: bool,
    /// Origins allowed by CORS (empty: no CORS headers).
    pub cors_origins: Vec<String>,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Refresh-token cookie lifetime, seconds.
    pub refresh_cookie_max_age_secs: u64,
}

/// Shared handler state: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The identity service.
    pub auth: Arc<AuthService>,
    /// The OAuth client registry (client authentication at `/oauth2/*`).
    pub clients: Arc<ClientService>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// HTTP settings.
    pub http: Arc<HttpSettings>,
}
