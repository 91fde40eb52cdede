-- The jtis of client assertions (private_key_jwt, RFC 7523 §3) already
-- used, so that an assertion cannot be replayed on any node. A row is only
-- needed until the assertion expires. No foreign key to client: an
-- assertion is verified against a cached client, which another process may
-- have just deleted, and the row goes with the next purge anyway.

create table client_assertion (
    tenant_id uuid not null references tenant (tenant_id),
    client_id uuid not null,
    jti text not null,
    expires_at timestamptz not null,
    primary key (tenant_id, client_id, jti)
);

create index client_assertion_expires_at_idx on client_assertion (expires_at);
