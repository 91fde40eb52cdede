-- Access tokens revoked before their expiry (RFC 7009), by jti. A row is
-- only needed until the token's own expiry.

create table revoked_access_token (
    tenant_id uuid not null references tenant (tenant_id),
    jti text not null,
    expires_at timestamptz not null,
    revoked_at timestamptz not null,
    primary key (tenant_id, jti)
);

create index revoked_access_token_expires_at_idx on revoked_access_token (tenant_id, expires_at);
