//! Tessera's identity logic: accounts, credentials, sessions and tokens.
//! No HTTP and no SQL: it talks to a [`tessera_store::Store`] through the
//! components of a [`TenantContext`], takes time, mail and events from its
//! [`Ports`], and is driven by the HTTP layer in `tessera-server`.
#![forbid(unsafe_code)]

pub mod access;
pub mod access_tokens;
pub mod accounts;
pub mod admin;
pub mod cache;
pub mod capability;
pub mod clients;
pub mod clock;
pub mod context;
pub mod error;
pub mod identity;
pub mod jwt;
pub mod keys;
pub mod mail;
pub mod password;
pub mod ports;
pub mod rbac;
pub mod service;
pub mod settings;
mod tokens;
pub use tokens::new_opaque_token;

pub use capability::{Actor, Caller, Permission, Permit};
pub use clients::{
    ClientAuthEndpoint, ClientAuthSettings, ClientRefusal, ClientSecret, ClientService, NewClient,
    PresentedClient, RegisteredClient,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::TenantContext;
pub use error::{AuthError, AuthResult, FieldViolation};
pub use jwt::AccessClaims;
pub use keys::{retention_secs, KeyEncryptor, KeyInfo, KeyRing, KeyStatus, SigningAlg};
pub use password::{HashTicket, PasswordHasher};
pub use ports::{
    EmlDirectoryMailer, Event, EventSink, MailMessage, Mailer, MemoryEventSink, MemoryMailer, NoEventSink,
    Ports,
};
pub use service::{
    AuthService, Authenticated, AuthorizationParams, AuthorizeError, AuthorizeStep, BrowserSignIn,
    ClientRedirect, ClientToken, ConsentPrompt, Device, Introspection, IssuedTokens, LoginRequest,
    LogoutParams, LogoutPlan, MailedProof, OidcService, OidcTokens, ProfileChanges, Registered, Registration,
    ServiceSettings, SignedInBrowser,
};
pub use settings::{AccountPolicy, HashSettings, KeySettings, LockoutPolicy, PasswordPolicy, TokenSettings};
pub use tessera_store::Conflict;
