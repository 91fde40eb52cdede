//! Tessera's identity logic: accounts, credentials, sessions and tokens.
//! No HTTP and no SQL: it talks to a [`tessera_store::Store`] and is driven
//! by the HTTP layer in `tessera-server`.
#![forbid(unsafe_code)]

pub mod access;
pub mod admin;
pub mod clients;
pub mod clock;
pub mod error;
pub mod identity;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod rbac;
pub mod service;
pub mod settings;
mod tokens;
pub use tokens::new_opaque_token;

pub use clients::{
    ClientAuthEndpoint, ClientAuthSettings, ClientSecret, ClientService, NewClient, PresentedClient,
    RegisteredClient,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AuthError, AuthResult, FieldViolation};
pub use jwt::AccessClaims;
pub use keys::{retention_secs, KeyEncryptor, KeyInfo, KeyRing, KeyStatus, SigningAlg};
pub use password::{HashTicket, PasswordHasher};
pub use service::{
    AuthService, Authenticated, AuthorizationParams, AuthorizeError, AuthorizeStep, BrowserSignIn,
    ClientToken, ConsentPrompt, Introspection, IssuedTokens, LoginRequest, LogoutParams, LogoutPlan,
    OidcService, OidcTokens, ProfileChanges, Registration, ServiceSettings, SignedInBrowser,
};
pub use settings::{HashSettings, KeySettings, LockoutPolicy, PasswordPolicy, TokenSettings};
pub use tessera_store::Conflict;
