-- PKCE is required of every client (OAuth 2.1); a legacy confidential
-- client may be let off when it sends an OIDC nonce.
alter table client add column pkce_optional integer not null default 0
    check (pkce_optional in (0, 1));
