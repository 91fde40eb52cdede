//! The server and `tessera-guard` decide alike: whatever grants a principal
//! holds, the server's decision (`Grants::allows` over the reduced set it
//! computes) and a guarded service's decision (`Claims::has_permission` on
//! the token the server signs from that set, after its JSON round trip)
//! agree for every requirement — and the reduction loses no decision.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tessera_claims::permission::any_covers;
use tessera_core::rbac::Grants;
use tessera_core::AccessClaims;
use uuid::Uuid;

/// Grants and requirements drawn from a small alphabet, so that matches,
/// near misses (`users:read` against `user:*`) and malformed names (`user:`,
/// `a:b:c`, `us*`) all come up often.
fn name() -> impl Strategy<Value = String> {
    let resource = prop::sample::select(vec!["user", "users", "role", "audit", "a", "User", ""]);
    let action = prop::sample::select(vec!["read", "delete", "*", "", "x:y", "Read"]);
    prop_oneof![
        8 => (resource, action).prop_map(|(r, a)| format!("{r}:{a}")),
        1 => Just("*".to_string()),
        1 => prop::sample::select(vec!["user", "us*", "**", "*:read", ":", "user:read "]).prop_map(String::from),
    ]
}

/// The access token the server would sign for a principal holding `grants`.
fn token_for(grants: &Grants) -> serde_json::Value {
    let claims = AccessClaims {
        iss: "https://id.example.com".into(),
        sub: Uuid::nil().to_string(),
        aud: "https://id.example.com".into(),
        exp: 2,
        iat: 1,
        nbf: Some(1),
        jti: "j".into(),
        client_id: "tessera".into(),
        sid: Some(Uuid::nil()),
        scope: None,
        tid: Uuid::nil(),
        email: None,
        roles: vec![],
        permissions: Some(grants.names().map(str::to_string).collect()),
    };
    serde_json::to_value(&claims).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_server_and_the_guard_never_decide_differently(
        held in prop::collection::vec(name(), 0..6),
        wanted in name(),
    ) {
        let grants = Grants::of(held.clone());
        let server = grants.allows(&wanted);
        let seen_by_guard: tessera_guard::Claims = serde_json::from_value(token_for(&grants)).unwrap();
        prop_assert_eq!(server, seen_by_guard.has_permission(&wanted), "held {:?}, wanted {:?}", held, wanted);
        prop_assert_eq!(server, any_covers(&held, &wanted), "reduction changed the decision: {:?}", held);
    }
}
