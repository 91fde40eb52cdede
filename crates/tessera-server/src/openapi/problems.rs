//! The problem answers every route can give because of what it extracts,
//! documented from its extractors instead of written on each route: a
//! handler's argument types are read off its `axum::handler::Handler`
//! implementation (the tuple `(M, T1, …, Tn)`), and each extractor type
//! says which statuses it can answer ([`DocumentedExtractor`]). The
//! [`documented!`](crate::documented) macro registers handlers with
//! `utoipa-axum` (router and OpenAPI at once, from their `#[utoipa::path]`)
//! and adds those answers to their operations.

use axum::extract::{Path, State};
use axum::handler::Handler;
use axum::http::HeaderMap;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{ContentBuilder, Ref};

use crate::extract::{AdminCaller, ApiJson, ApiQuery, Caller, ClientMeta, OptionalJson};
use crate::state::AppState;

/// One problem answer: status and what it means.
pub type ProblemAnswer = (u16, &'static str);

/// An extractor, with the problem answers it (or the layer behind it) can
/// give. Every extractor a documented handler uses implements it, so a new
/// extractor cannot slip into a route without saying what it answers.
pub trait DocumentedExtractor {
    /// The answers, empty for extractors that cannot fail.
    fn problems() -> Vec<ProblemAnswer> {
        Vec::new()
    }
}

impl DocumentedExtractor for State<AppState> {
    fn problems() -> Vec<ProblemAnswer> {
        vec![(503, "The database or the password hasher is unavailable (`service_unavailable`, `overloaded` with `Retry-After`)")]
    }
}

impl<T> DocumentedExtractor for ApiJson<T> {
    fn problems() -> Vec<ProblemAnswer> {
        json_body_problems()
    }
}

impl<T> DocumentedExtractor for OptionalJson<T> {
    fn problems() -> Vec<ProblemAnswer> {
        json_body_problems()
    }
}

impl<T> DocumentedExtractor for ApiQuery<T> {
    fn problems() -> Vec<ProblemAnswer> {
        vec![(
            400,
            "The query string is malformed or names an unknown parameter (`invalid_query`)",
        )]
    }
}

impl<T> DocumentedExtractor for Path<T> {
    fn problems() -> Vec<ProblemAnswer> {
        vec![(404, "No such resource in this tenant (`not_found`)")]
    }
}

impl DocumentedExtractor for Caller {
    fn problems() -> Vec<ProblemAnswer> {
        vec![
            (
                401,
                "No valid access token (`invalid_token`, with `WWW-Authenticate: Bearer`)",
            ),
            (
                403,
                "A cookie-authenticated write without the CSRF header (`csrf_failed`)",
            ),
        ]
    }
}

impl DocumentedExtractor for AdminCaller {
    fn problems() -> Vec<ProblemAnswer> {
        vec![
            (401, "No valid access token (`invalid_token`, with `WWW-Authenticate: Bearer`)"),
            (403, "The caller lacks the permission (`forbidden`), the rank rule refuses (`rank_rule`), or a cookie-authenticated write lacks the CSRF header (`csrf_failed`)"),
        ]
    }
}

impl DocumentedExtractor for ClientMeta {}
impl DocumentedExtractor for HeaderMap {}

/// The OAuth endpoints read their form by hand (RFC 6749 §3.2 refuses
/// repeated parameters) and answer with OAuth error bodies, which each of
/// them documents.
impl DocumentedExtractor for Result<axum::body::Bytes, axum::extract::rejection::BytesRejection> {}

/// UserInfo reads its token from the header or the form body (OIDC Core
/// §5.3.1) and documents its RFC 6750 answers itself.
impl DocumentedExtractor for axum::extract::Request {}

/// What a JSON body extractor answers.
fn json_body_problems() -> Vec<ProblemAnswer> {
    vec![
        (400, "The body is not a JSON object (`malformed_json`)"),
        (413, "The body exceeds the size limit (`payload_too_large`)"),
        (415, "The body is not `application/json` (`unsupported_media_type`)"),
        (422, "A field has the wrong type or is missing (`invalid_body`), or a value breaks a rule (`validation_failed`, every rule listed)"),
    ]
}

/// The extractor types of a handler, as axum's `Handler` sees them.
pub trait HandlerExtractors {
    /// The problem answers of all of them, in order (duplicates possible).
    fn problems() -> Vec<ProblemAnswer>;
}

impl HandlerExtractors for ((),) {
    fn problems() -> Vec<ProblemAnswer> {
        Vec::new()
    }
}

/// `HandlerExtractors` for `(M, T1, …, Tn)`: the marker `M` says how the
/// last extractor reads the request and documents nothing.
macro_rules! handler_extractors {
    ($($ty:ident),+) => {
        impl<M, $($ty: DocumentedExtractor),+> HandlerExtractors for (M, $($ty,)+) {
            fn problems() -> Vec<ProblemAnswer> {
                let mut all = Vec::new();
                $(all.extend($ty::problems());)+
                all
            }
        }
    };
}

handler_extractors!(T1);
handler_extractors!(T1, T2);
handler_extractors!(T1, T2, T3);
handler_extractors!(T1, T2, T3, T4);
handler_extractors!(T1, T2, T3, T4, T5);
handler_extractors!(T1, T2, T3, T4, T5, T6);
handler_extractors!(T1, T2, T3, T4, T5, T6, T7);
handler_extractors!(T1, T2, T3, T4, T5, T6, T7, T8);

/// The problem answers of `handler`'s extractors (the handler itself is
/// only used for its type).
pub fn problems_of<H, T>(_handler: &H) -> Vec<ProblemAnswer>
where
    H: Handler<T, AppState>,
    T: HandlerExtractors,
{
    T::problems()
}

/// Adds `problems` to `operation` as `application/problem+json` answers,
/// merging the descriptions of one status. Where the route documents a
/// status itself, its own answer stays and the extractors' descriptions are
/// appended to it.
pub fn add_problem_answers(operation: &mut Operation, problems: Vec<ProblemAnswer>) {
    let mut merged: Vec<(u16, Vec<&'static str>)> = Vec::new();
    for (status, description) in problems {
        match merged.iter_mut().find(|(s, _)| *s == status) {
            Some((_, descriptions)) if !descriptions.contains(&description) => descriptions.push(description),
            Some(_) => {}
            None => merged.push((status, vec![description])),
        }
    }
    for (status, descriptions) in merged {
        let key = status.to_string();
        if let Some(own) = operation.responses.responses.get_mut(&key) {
            if let utoipa::openapi::RefOr::T(own) = own {
                own.description = format!("{}; {}", own.description, descriptions.join("; "));
            }
            continue;
        }
        let response = ResponseBuilder::new()
            .description(descriptions.join("; "))
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        operation.responses.responses.insert(key, response.into());
    }
}

/// Registers handlers like `utoipa_axum::routes!` (one router route and
/// one OpenAPI operation each, from the handler's `#[utoipa::path]`), and
/// adds to each operation the problem answers of the handler's extractors.
/// Handlers of one path (different methods) go in one call.
///
/// The operations and schemas are only built while
/// [`documenting`](crate::openapi::documenting) (inside
/// [`crate::openapi::document`]); a router built to serve gets each route's
/// path and methods alone, so a node that never serves `/openapi.json`
/// never runs (nor keeps in memory) the generated documentation code.
#[macro_export]
macro_rules! documented {
    ($($handler:path),+ $(,)?) => {{
        #[allow(unused_imports)]
        use utoipa_axum::PathItemExt;
        let documenting = $crate::openapi::documenting();
        let mut paths = utoipa::openapi::path::Paths::new();
        let mut schemas = Vec::<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>::new();
        let mut method_router = axum::routing::MethodRouter::new();
        $(
            let (path, operation, types) = if documenting {
                let (path, mut operation, types) = utoipa_axum::routes!(@resolve_types $handler : schemas);
                $crate::openapi::problems::add_problem_answers(
                    &mut operation,
                    $crate::openapi::problems::problems_of(&$handler),
                );
                (path, operation, types)
            } else {
                // `paste!` turns the `path` fragment back into tokens that
                // `routes!`'s internal rules can take apart, as in its own
                // `@resolve_types`.
                utoipa_axum::paste! {
                    let path = utoipa_axum::routes!(@path [path()] of $handler);
                    let types = utoipa_axum::routes!(@path [methods()] of $handler);
                }
                (path, utoipa::openapi::path::Operation::new(), types)
            };
            method_router = types
                .iter()
                .fold(method_router, |router, method| router.on(method.to_method_filter(), $handler));
            paths.add_path_operation(&path, types, operation);
        )+
        (schemas, paths, method_router)
    }};
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::path::OperationBuilder;
    use utoipa::openapi::response::ResponsesBuilder;

    use super::*;

    #[test]
    fn answers_are_added_merged_and_appended_to_the_routes_own() {
        let mut operation = OperationBuilder::new()
            .responses(
                ResponsesBuilder::new()
                    .response(
                        "400",
                        ResponseBuilder::new().description("Current password wrong"),
                    )
                    .build(),
            )
            .build();
        let mut answers = Caller::problems();
        answers.extend(ApiJson::<()>::problems());
        answers.extend(Caller::problems());
        add_problem_answers(&mut operation, answers);
        let responses = &operation.responses.responses;
        let statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
        assert_eq!(statuses, ["400", "401", "403", "413", "415", "422"]);
        let description = |status: &str| match &responses[status] {
            utoipa::openapi::RefOr::T(response) => response.description.clone(),
            utoipa::openapi::RefOr::Ref(_) => String::new(),
        };
        assert!(description("400").starts_with("Current password wrong; The body is not a JSON object"));
        assert_eq!(
            description("401").matches("invalid_token").count(),
            1,
            "one description per duplicate"
        );
    }

    #[test]
    fn a_handlers_extractors_are_read_off_its_type() {
        async fn handler(_: State<AppState>, _: AdminCaller, _: Path<String>, _: ApiJson<()>) {}
        let statuses: Vec<u16> = problems_of(&handler).iter().map(|(status, _)| *status).collect();
        assert_eq!(statuses, [503, 401, 403, 404, 400, 413, 415, 422]);
        async fn bare() {}
        assert!(problems_of(&bare).is_empty());
    }
}
