//! Permission names and the rule that says which grant covers which
//! requirement.
//!
//! A permission is `resource:action`, each part `[a-z][a-z0-9_.-]*`, at
//! most [`MAX_NAME_LEN`] bytes in all. A grant is a permission, a resource
//! wildcard `resource:*` or [`ALL`] (`*`). A requirement that is not a
//! well-formed permission or wildcard (`user:`, `user`, `a:b:c`) is covered
//! by nothing, not even `*`: it can only be a mistake, and failing closed is
//! the safe answer to a mistake.

/// The wildcard that grants everything.
pub const ALL: &str = "*";

/// Longest permission (or role) name, bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Whether `name` is a valid concrete permission name: `resource:action`.
pub fn is_permission_name(name: &str) -> bool {
    match name.split_once(':') {
        Some((resource, action)) => {
            name.len() <= MAX_NAME_LEN && is_name_part(resource) && is_name_part(action)
        }
        None => false,
    }
}

/// Whether `grant` may be granted: a permission name, `resource:*`, or `*`.
pub fn is_grantable(grant: &str) -> bool {
    if grant == ALL {
        return true;
    }
    match grant.strip_suffix(":*") {
        Some(resource) => grant.len() <= MAX_NAME_LEN && is_name_part(resource),
        None => is_permission_name(grant),
    }
}

/// Whether `part` is one part of a name: `[a-z][a-z0-9_.-]*` (also the
/// shape of a role name).
pub fn is_name_part(part: &str) -> bool {
    let mut chars = part.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))
}

/// Whether the grant `held` covers `wanted` (a permission or a wildcard):
/// `*` covers everything; `r:*` covers `r:*` and every `r:…`; a name covers
/// only itself. Nothing covers a malformed `wanted`, and a malformed `held`
/// covers nothing.
pub fn covers(held: &str, wanted: &str) -> bool {
    if !is_grantable(wanted) || !is_grantable(held) {
        return false;
    }
    if held == ALL || held == wanted {
        return true;
    }
    match (held.strip_suffix(":*"), wanted.split_once(':')) {
        (Some(resource), Some((wanted_resource, _))) => resource == wanted_resource,
        _ => false,
    }
}

/// Whether any of `held` covers `wanted`.
pub fn any_covers<S: AsRef<str>>(held: &[S], wanted: &str) -> bool {
    held.iter().any(|grant| covers(grant.as_ref(), wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_covers_only_itself() {
        assert!(covers("user:read", "user:read"));
        assert!(!covers("user:read", "user:delete"));
        assert!(!covers("user:read", "user:*"));
    }

    #[test]
    fn a_resource_wildcard_covers_its_resource_only() {
        assert!(covers("user:*", "user:read"));
        assert!(covers("user:*", "user:*"));
        assert!(!covers("user:*", "username:read"));
        assert!(!covers("user:*", "audit:read"));
        assert!(!covers("user:*", "*"));
    }

    #[test]
    fn the_star_covers_every_well_formed_requirement() {
        assert!(covers("*", "user:delete"));
        assert!(covers("*", "user:*"));
        assert!(covers("*", "*"));
    }

    #[test]
    fn malformed_requirements_and_grants_cover_nothing() {
        for wanted in [
            "user:",
            "user",
            ":read",
            "a:b:c",
            "User:read",
            "",
            "user:read ",
            "us*",
        ] {
            assert!(!covers("*", wanted), "{wanted:?}");
            assert!(!covers("user:*", wanted), "{wanted:?}");
            assert!(!covers(wanted, wanted), "{wanted:?}");
        }
        assert!(!covers("us*", "user:read"));
        assert!(!covers("user:", "user:"));
    }

    #[test]
    fn names_and_grants_are_validated() {
        assert!(is_permission_name("invoice.v2:read-all"));
        assert!(!is_permission_name("invoice:*"));
        assert!(is_grantable("invoice:*"));
        assert!(is_grantable("*"));
        assert!(!is_grantable("in*"));
        assert!(!is_permission_name(&format!("a:{}", "b".repeat(MAX_NAME_LEN))));
    }
}
