-- OAuth clients. Lists (redirect uris, grant types, scopes) and the jwks are
-- json text; secrets are kept only as sha-256 (lowercase hex).

create table client (
    client_id text primary key not null,
    tenant_id text not null references tenant (tenant_id),
    name text not null,
    client_type text not null check (client_type in ('confidential', 'public')),
    redirect_uris text not null default '[]',
    grant_types text not null default '[]',
    scopes text not null default '[]',
    token_endpoint_auth_method text not null check (token_endpoint_auth_method in
        ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    jwks text,
    first_party integer not null default 0 check (first_party in (0, 1)),
    access_token_ttl_secs integer,
    refresh_idle_ttl_secs integer,
    secret_hash text,
    previous_secret_hash text,
    created_at integer not null,
    updated_at integer not null,
    -- public clients, and only they, do not authenticate.
    check ((client_type = 'public') = (token_endpoint_auth_method = 'none'))
);

create index client_tenant_id_created_at_idx on client (tenant_id, created_at);
