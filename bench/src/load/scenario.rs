//! The scenarios the bench knows: their names, endpoints, what they need
//! set up and their default connections.

/// A load scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// `POST /api/v1/auth/login` over the pre-registered users.
    Login,
    /// The same at high concurrency, to see admission control answer 503.
    LoginOverload,
    /// `POST /api/v1/auth/refresh`, each worker chaining its own session.
    Refresh,
    /// `GET /api/v1/users/me` with a bearer token.
    #[value(alias = "users-me")]
    Me,
    /// `GET /.well-known/jwks.json`.
    Jwks,
    /// `POST /oauth2/token` (`grant_type=client_credentials`, HTTP Basic).
    ClientCredentials,
    /// `POST /oauth2/introspect` of a user access token (HTTP Basic).
    Introspect,
    /// A signed-in browser's `GET /oauth2/authorize` (PKCE S256, first-party
    /// client, no consent) and the code's exchange at `POST /oauth2/token`,
    /// measured as one operation.
    AuthorizationCode,
    /// Reference: the `client-credentials` load against node oidc-provider
    /// (bench/oidc-provider), once per run rather than per backend.
    OidcProviderClientCredentials,
}

impl Scenario {
    /// Name used in options and reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Login => "login",
            Scenario::LoginOverload => "login-overload",
            Scenario::Refresh => "refresh",
            Scenario::Me => "me",
            Scenario::Jwks => "jwks",
            Scenario::ClientCredentials => "client-credentials",
            Scenario::Introspect => "introspect",
            Scenario::AuthorizationCode => "authorization-code",
            Scenario::OidcProviderClientCredentials => "oidc-provider-client-credentials",
        }
    }

    /// What it calls, for reports.
    pub fn endpoint(self) -> &'static str {
        match self {
            Scenario::Login | Scenario::LoginOverload => "POST /api/v1/auth/login",
            Scenario::Refresh => "POST /api/v1/auth/refresh",
            Scenario::Me => "GET /api/v1/users/me (Bearer)",
            Scenario::Jwks => "GET /.well-known/jwks.json",
            Scenario::ClientCredentials => "POST /oauth2/token (client_credentials, Basic)",
            Scenario::Introspect => "POST /oauth2/introspect (user access token, Basic)",
            Scenario::AuthorizationCode => {
                "GET /oauth2/authorize (SSO cookie, PKCE) + POST /oauth2/token (authorization_code, Basic)"
            }
            Scenario::OidcProviderClientCredentials => {
                "node oidc-provider: POST /token (client_credentials, Basic)"
            }
        }
    }

    /// Whether it needs the bench's service client (`client_credentials`).
    pub fn needs_oauth_client(self) -> bool {
        matches!(self, Scenario::ClientCredentials | Scenario::Introspect)
    }

    /// Whether it needs the bench's first-party web client.
    pub fn needs_web_client(self) -> bool {
        matches!(self, Scenario::AuthorizationCode)
    }

    /// Whether it loads the reference server instead of Tessera.
    pub fn is_reference(self) -> bool {
        matches!(self, Scenario::OidcProviderClientCredentials)
    }

    /// Default number of connections.
    pub fn default_concurrency(self) -> usize {
        match self {
            Scenario::Login => 8,
            Scenario::LoginOverload => 64,
            Scenario::Refresh
            | Scenario::Me
            | Scenario::Jwks
            | Scenario::ClientCredentials
            | Scenario::Introspect
            | Scenario::AuthorizationCode
            | Scenario::OidcProviderClientCredentials => 32,
        }
    }
}
