-- OAuth clients. Secrets are kept only as sha-256 (lowercase hex).

create table client (
    client_id uuid primary key,
    tenant_id uuid not null references tenant (tenant_id),
    name text not null,
    client_type text not null check (client_type in ('confidential', 'public')),
    redirect_uris jsonb not null default '[]',
    grant_types jsonb not null default '[]',
    scopes jsonb not null default '[]',
    token_endpoint_auth_method text not null check (token_endpoint_auth_method in
        ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    jwks jsonb,
    first_party boolean not null default false,
    access_token_ttl_secs bigint,
    refresh_idle_ttl_secs bigint,
    secret_hash text,
    previous_secret_hash text,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    -- public clients, and only they, do not authenticate.
    check ((client_type = 'public') = (token_endpoint_auth_method = 'none'))
);

create index client_tenant_id_created_at_idx on client (tenant_id, created_at);
