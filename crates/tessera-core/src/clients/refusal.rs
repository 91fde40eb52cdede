//! Why a client could not authenticate. RFC 6749 §5.2 answers every case
//! with `invalid_client`; its `error_description` (and the server's log)
//! says which case it was, so that a developer sees at once that the
//! client is registered for HTTP Basic while the library sent the secret in
//! the form, or that the secret expired. None of the descriptions contains
//! or hints at a secret: a wrong secret is "wrong", and "expired" is said
//! only of a secret the caller presented correctly.

use chrono::{DateTime, SecondsFormat, Utc};
use tessera_store::TokenEndpointAuthMethod;

/// One reason for `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRefusal {
    /// No client credentials at all.
    NoCredentials,
    /// More than one authentication method in one request (RFC 6749 §2.3).
    SeveralMethods,
    /// An `Authorization` header that is not valid HTTP Basic credentials.
    MalformedBasic,
    /// The form's `client_id` differs from the one in the header.
    ClientIdMismatch,
    /// No client with this id in this tenant (or the id is not a UUID).
    UnknownClient,
    /// The client exists but an administrator disabled it.
    Disabled,
    /// The secret is neither the current nor the previous one.
    WrongSecret,
    /// The secret was right but expired at this time.
    SecretExpired(DateTime<Utc>),
    /// The client is registered for one method and the request used another.
    MethodMismatch {
        /// The method the client registered.
        registered: TokenEndpointAuthMethod,
        /// The method the request used.
        used: TokenEndpointAuthMethod,
    },
    /// A public client at an endpoint that needs an authenticated client.
    PublicClientNotAccepted,
    /// `client_assertion_type` is not the JWT bearer type, or one of the
    /// two assertion parameters is missing.
    MalformedAssertion,
    /// The client assertion (`private_key_jwt`) was refused; says why.
    Assertion(&'static str),
}

impl ClientRefusal {
    /// Every value [`ClientRefusal::label`] can take.
    pub const LABELS: [&'static str; 12] = [
        "no_credentials",
        "several_methods",
        "malformed_basic",
        "client_id_mismatch",
        "unknown_client",
        "disabled_client",
        "wrong_secret",
        "expired_secret",
        "method_mismatch",
        "public_client",
        "malformed_assertion",
        "assertion_refused",
    ];

    /// A stable label for logs and metrics (`unknown_client`, …), one of
    /// [`ClientRefusal::LABELS`].
    pub fn label(&self) -> &'static str {
        match self {
            ClientRefusal::NoCredentials => "no_credentials",
            ClientRefusal::SeveralMethods => "several_methods",
            ClientRefusal::MalformedBasic => "malformed_basic",
            ClientRefusal::ClientIdMismatch => "client_id_mismatch",
            ClientRefusal::UnknownClient => "unknown_client",
            ClientRefusal::Disabled => "disabled_client",
            ClientRefusal::WrongSecret => "wrong_secret",
            ClientRefusal::SecretExpired(_) => "expired_secret",
            ClientRefusal::MethodMismatch { .. } => "method_mismatch",
            ClientRefusal::PublicClientNotAccepted => "public_client",
            ClientRefusal::MalformedAssertion => "malformed_assertion",
            ClientRefusal::Assertion(_) => "assertion_refused",
        }
    }
}

/// How a method presents its credentials, for a developer reading the
/// description.
fn how(method: TokenEndpointAuthMethod) -> &'static str {
    match method {
        TokenEndpointAuthMethod::ClientSecretBasic => {
            "client_id and secret in an HTTP Basic Authorization header"
        }
        TokenEndpointAuthMethod::ClientSecretPost => "client_id and client_secret in the form body",
        TokenEndpointAuthMethod::PrivateKeyJwt => "a signed client_assertion",
        TokenEndpointAuthMethod::None => "client_id alone, as a public client",
    }
}

impl std::fmt::Display for ClientRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientRefusal::NoCredentials => f.write_str(
                "no client authentication was sent: use the method the client is registered for \
                 (client_secret_basic, client_secret_post, private_key_jwt, or client_id alone for a \
                 public client)",
            ),
            ClientRefusal::SeveralMethods => f.write_str(
                "the request used more than one client authentication method; a client uses exactly \
                 one (RFC 6749 §2.3)",
            ),
            ClientRefusal::MalformedBasic => f.write_str(
                "the Authorization header is not valid HTTP Basic client credentials \
                 (base64 of form-urlencoded client_id \":\" client_secret, RFC 6749 §2.3.1)",
            ),
            ClientRefusal::ClientIdMismatch => {
                f.write_str("the client_id in the form is not the one in the Authorization header")
            }
            ClientRefusal::UnknownClient => f.write_str(
                "no client with this client_id is registered here (check the client_id and that the \
                 issuer, or tenant, is the one the client was registered with)",
            ),
            ClientRefusal::Disabled => {
                f.write_str("this client is disabled; an administrator can enable it again")
            }
            ClientRefusal::WrongSecret => f.write_str(
                "the client secret is wrong: it is neither the client's current secret nor the one \
                 before the last rotation",
            ),
            ClientRefusal::SecretExpired(at) => write!(
                f,
                "the client secret expired at {}; rotate it and use the new secret",
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            ClientRefusal::MethodMismatch { registered, used } => write!(
                f,
                "this client is registered for {} ({}) but the request used {} ({})",
                registered.as_str(),
                how(*registered),
                used.as_str(),
                how(*used)
            ),
            ClientRefusal::PublicClientNotAccepted => f.write_str(
                "a public client (client_id alone) cannot authenticate, and this request needs an \
                 authenticated client: client_credentials and introspection are for confidential \
                 clients",
            ),
            ClientRefusal::MalformedAssertion => f.write_str(
                "a client assertion needs client_assertion_type \
                 urn:ietf:params:oauth:client-assertion-type:jwt-bearer and client_assertion",
            ),
            ClientRefusal::Assertion(why) => write!(f, "the client assertion was refused: {why}"),
        }
    }
}
