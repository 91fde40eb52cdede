-- Tessera schema, PostgreSQL flavour.
-- times are stored at millisecond precision (the backend truncates them) so
-- that both engines round-trip the same values.

create table tenant (
    tenant_id uuid primary key,
    slug text not null unique,
    name text not null,
    created_at timestamptz not null
);

create table user_account (
    user_id uuid primary key,
    tenant_id uuid not null references tenant (tenant_id),
    email text not null,
    email_verified boolean not null default false,
    username text,
    display_name text,
    profile jsonb not null default '{}',
    status text not null check (status in ('active', 'suspended', 'disabled')),
    password_hash text,
    failed_login_count integer not null default 0,
    locked_until timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    unique (tenant_id, email)
);

-- usernames are optional, unique per tenant when present.
create unique index user_account_tenant_id_username_key
    on user_account (tenant_id, username)
    where username is not null;

create table session (
    session_id uuid primary key,
    tenant_id uuid not null references tenant (tenant_id),
    user_id uuid not null references user_account (user_id) on delete cascade,
    ip text,
    user_agent text,
    created_at timestamptz not null,
    last_used_at timestamptz not null,
    expires_at timestamptz not null,
    revoked_at timestamptz,
    revoke_reason text
);

create index session_user_id_idx on session (user_id);

create table refresh_token (
    token_hash text primary key,
    tenant_id uuid not null references tenant (tenant_id),
    session_id uuid not null references session (session_id) on delete cascade,
    parent_hash text,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz
);

create index refresh_token_session_id_idx on refresh_token (session_id);

create table signing_key (
    kid text primary key,
    tenant_id uuid not null references tenant (tenant_id),
    alg text not null,
    public_jwk jsonb not null,
    private_key_encrypted bytea not null,
    state text not null check (state in ('next', 'active', 'retired')),
    created_at timestamptz not null,
    activates_at timestamptz not null,
    not_after timestamptz
);

create index signing_key_tenant_id_created_at_idx on signing_key (tenant_id, created_at);
