//! What every handler can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use serde::{Deserialize, Serialize};
use tessera_core::admin::AdminService;
use tessera_core::{AuthService, ClientService, OidcService};

use crate::csrf::CsrfKey;

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
    /// Branding of the hosted pages.
    pub theme: Theme,
    /// Where this tenant is served: empty for the default tenant (root
    /// paths), `/t/{slug}` for the others. Links, redirects and cookie paths
    /// of the hosted pages and cookie mode start with it.
    pub base_path: String,
    /// Serve `/docs` (Swagger UI) and `/openapi.json`.
    pub docs: bool,
    /// The bearer token `/metrics` on this listener requires; `None`: no
    /// `/metrics` here (it is served on the metrics listener, if any).
    pub metrics_token: Option<MetricsToken>,
    /// The key of the CSRF tokens of the hosted forms and of cookie mode
    /// (derived from the master key: the same on every node).
    pub csrf_key: CsrfKey,
}

/// The bearer token of `/metrics` on the public listener; never printed.
#[derive(Clone)]
pub struct MetricsToken(pub String);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

impl HttpSettings {
    /// `path` (absolute, starting with `/`) under this tenant's base path.
    pub fn path(&self, path: &str) -> String {
        match (self.base_path.is_empty(), path) {
            (true, _) => path.to_string(),
            (false, "/") => self.base_path.clone(),
            (false, _) => format!("{}{path}", self.base_path),
        }
    }
}

/// Branding of the hosted pages (login, consent, logout): set in the
/// configuration's `[theme]` table, no code change needed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Theme {
    /// Product name in titles and headings (default `Tessera`).
    pub product_name: String,
    /// Logo shown above the forms (an `https://` URL or a path on this
    /// server); empty for none.
    pub logo_url: String,
    /// Primary colour of buttons and links, `#rgb` or `#rrggbb`.
    pub primary_color: String,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            product_name: "Tessera".into(),
            logo_url: String::new(),
            primary_color: "#2f5bd3".into(),
        }
    }
}

impl Theme {
    /// Why the theme cannot be used, naming the key; `None` if it can.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        let name = self.product_name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Some(("theme.product_name", "1 to 64 printable characters".into()));
        }
        let hex = self.primary_color.strip_prefix('#').unwrap_or("");
        if !matches!(hex.len(), 3 | 6) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(("theme.primary_color", "a colour as #rgb or #rrggbb".into()));
        }
        let logo = self.logo_url.as_str();
        let logo_ok = logo.is_empty()
            || (logo.starts_with('/') && !logo.starts_with("//"))
            || url::Url::parse(logo).is_ok_and(|u| u.scheme() == "https");
        if !logo_ok || logo.chars().any(|c| c.is_control() || c == '"' || c == '\'') {
            return Some((
                "theme.logo_url",
                "an https:// URL or a path on this server".into(),
            ));
        }
        None
    }
}

/// A tenant other than the default one, ready to serve: its handler state
/// and its routes (without the outer layers, which the default tenant's
/// router applies to every request).
pub struct TenantHandle {
    /// The tenant's handler state (its own services and issuer).
    pub state: AppState,
    /// Its routes.
    pub routes: axum::Router,
}

/// Finds the live tenants served under `/t/{slug}` (implemented by the
/// binary, which knows how to start a tenant's services).
#[async_trait::async_trait]
pub trait TenantDirectory: Send + Sync + 'static {
    /// The tenant called `slug`, if it exists, is not the default one and
    /// is not disabled.
    async fn tenant(&self, slug: &str) -> Result<Option<Arc<TenantHandle>>, tessera_core::AuthError>;

    /// Forgets what is cached about `slug` (after renaming or disabling it
    /// here; other nodes notice within their cache lifetime).
    async fn forget(&self, slug: &str);
}

/// Shared handler state: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The identity service.
    pub auth: Arc<AuthService>,
    /// The OAuth client registry (client authentication at `/oauth2/*`).
    pub clients: Arc<ClientService>,
    /// The authorization code flow, hosted-page sessions and OIDC.
    pub oidc: Arc<OidcService>,
    /// Roles, permissions and the admin API.
    pub admin: Arc<AdminService>,
    /// The other tenants, served under `/t/{slug}` — set on the default
    /// tenant's state only.
    pub tenants: Option<Arc<dyn TenantDirectory>>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// HTTP settings.
    pub http: Arc<HttpSettings>,
}
