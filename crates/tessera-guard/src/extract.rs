//! Axum extractors: a handler states what it requires in its signature,
//! and a request that does not meet it never reaches the handler.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::claims::Claims;
use crate::error::GuardError;
use crate::guard::Guard;

/// A permission a route requires, named by `NAME` (`resource:action`).
/// Declare one with [`permission!`](crate::permission).
pub trait Permission {
    /// The permission's name, e.g. `user:read`.
    const NAME: &'static str;
}

/// A role a route requires, named by `NAME`. Declare one with
/// [`role!`](crate::role).
pub trait Role {
    /// The role's name, e.g. `admin`.
    const NAME: &'static str;
}

/// Declares a unit struct implementing [`Permission`]:
/// `permission!(UserRead, "user:read");` (prefix a visibility, e.g.
/// `permission!(pub UserRead, "user:read");`, to export it).
#[macro_export]
macro_rules! permission {
    ($(#[$meta:meta])* $vis:vis $name:ident, $value:literal) => {
        #[doc = concat!("The `", $value, "` permission.")]
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::Permission for $name {
            const NAME: &'static str = $value;
        }
    };
}

/// Declares a unit struct implementing [`Role`]: `role!(Admin, "admin");`
/// (prefix a visibility to export it).
#[macro_export]
macro_rules! role {
    ($(#[$meta:meta])* $vis:vis $name:ident, $value:literal) => {
        #[doc = concat!("The `", $value, "` role.")]
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::Role for $name {
            const NAME: &'static str = $value;
        }
    };
}

/// The claims of a request's valid access token. Rejects with 401 when the
/// token is missing or invalid, 503 when the keys cannot be fetched.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

/// The claims of a valid access token that grants permission `P` (directly,
/// by a `resource:*` wildcard or by `*`). Rejects like [`Authenticated`],
/// and with 403 when the permission is not granted or the token carries no
/// `permissions` claim. The recommended check: permissions include what
/// roles inherit, so a `super_admin` passes where an `admin` does.
pub struct RequirePermission<P>(pub Claims, pub PhantomData<fn() -> P>);

/// The claims of a valid access token whose subject holds role `R`
/// directly. Rejects like [`Authenticated`], and with 403 when the role is
/// not among the token's `roles`. Exact: roles that inherit `R` (a
/// `super_admin` for `admin`) do not pass — prefer [`RequirePermission`].
pub struct RequireRole<R>(pub Claims, pub PhantomData<fn() -> R>);

impl<P> Deref for RequirePermission<P> {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl<R> Deref for RequireRole<R> {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl Deref for Authenticated {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    Guard: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        Guard::from_ref(state).verify(token).await.map(Authenticated)
    }
}

impl<S, P> FromRequestParts<S> for RequirePermission<P>
where
    Guard: FromRef<S>,
    S: Send + Sync,
    P: Permission,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authenticated(claims) = Authenticated::from_request_parts(parts, state).await?;
        if claims.permissions.is_none() {
            return Err(GuardError::Forbidden(format!(
                "permission {} required, and the token carries no permissions claim",
                P::NAME
            )));
        }
        if !claims.has_permission(P::NAME) {
            return Err(GuardError::Forbidden(format!("permission {} required", P::NAME)));
        }
        Ok(RequirePermission(claims, PhantomData))
    }
}

impl<S, R> FromRequestParts<S> for RequireRole<R>
where
    Guard: FromRef<S>,
    S: Send + Sync,
    R: Role,
{
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authenticated(claims) = Authenticated::from_request_parts(parts, state).await?;
        if !claims.has_role(R::NAME) {
            return Err(GuardError::Forbidden(format!("role {} required", R::NAME)));
        }
        Ok(RequireRole(claims, PhantomData))
    }
}

/// The bearer token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the
/// scheme is case-insensitive, RFC 9110 §11.1). No header, or another
/// scheme, is a missing token; `Bearer` with nothing usable after it is an
/// invalid one.
fn bearer_token(headers: &HeaderMap) -> Result<&str, GuardError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(GuardError::MissingToken);
    };
    let value = value
        .to_str()
        .map_err(|_| GuardError::InvalidToken("malformed"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(GuardError::MissingToken);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(GuardError::InvalidToken("malformed"));
    }
    Ok(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_bearer_token_is_read_with_any_scheme_case() {
        assert_eq!(
            bearer_token(&headers("Bearer abc.def.ghi")).unwrap(),
            "abc.def.ghi"
        );
        assert_eq!(bearer_token(&headers("bearer abc")).unwrap(), "abc");
    }

    #[test]
    fn no_header_or_another_scheme_is_a_missing_token() {
        assert!(matches!(
            bearer_token(&HeaderMap::new()),
            Err(GuardError::MissingToken)
        ));
        assert!(matches!(
            bearer_token(&headers("Basic dXNlcjpwdw==")),
            Err(GuardError::MissingToken)
        ));
    }

    #[test]
    fn an_empty_or_spaced_bearer_token_is_invalid() {
        assert!(matches!(
            bearer_token(&headers("Bearer")),
            Err(GuardError::InvalidToken(_))
        ));
        assert!(matches!(
            bearer_token(&headers("Bearer  ")),
            Err(GuardError::InvalidToken(_))
        ));
        assert!(matches!(
            bearer_token(&headers("Bearer a b")),
            Err(GuardError::InvalidToken(_))
        ));
    }

    crate::permission!(UserRead, "user:read");
    crate::role!(pub Admin, "admin");

    #[test]
    fn the_macros_declare_named_markers() {
        assert_eq!(<UserRead as Permission>::NAME, "user:read");
        assert_eq!(<Admin as Role>::NAME, "admin");
    }
}
