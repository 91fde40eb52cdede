-- Tessera schema, SQLite flavour.
-- ids are hyphenated uuid text, times are unix milliseconds (integer, so that
-- comparisons in sql are correct), json is text, bytes are blobs.

create table tenant (
    tenant_id text primary key not null,
    slug text not null unique,
    name text not null,
    created_at integer not null
);

create table user_account (
    user_id text primary key not null,
    tenant_id text not null references tenant (tenant_id),
    email text not null,
    email_verified integer not null default 0 check (email_verified in (0, 1)),
    username text,
    display_name text,
    profile text not null default '{}',
    status text not null check (status in ('active', 'suspended', 'disabled')),
    password_hash text,
    failed_login_count integer not null default 0,
    locked_until integer,
    created_at integer not null,
    updated_at integer not null,
    unique (tenant_id, email)
);

-- usernames are optional, unique per tenant when present.
create unique index user_account_tenant_id_username_key
    on user_account (tenant_id, username)
    where username is not null;

create table session (
    session_id text primary key not null,
    tenant_id text not null references tenant (tenant_id),
    user_id text not null references user_account (user_id) on delete cascade,
    ip text,
    user_agent text,
    created_at integer not null,
    last_used_at integer not null,
    expires_at integer not null,
    revoked_at integer,
    revoke_reason text
);

create index session_user_id_idx on session (user_id);

create table refresh_token (
    token_hash text primary key not null,
    tenant_id text not null references tenant (tenant_id),
    session_id text not null references session (session_id) on delete cascade,
    parent_hash text,
    created_at integer not null,
    expires_at integer not null,
    used_at integer
);

create index refresh_token_session_id_idx on refresh_token (session_id);

create table signing_key (
    kid text primary key not null,
    tenant_id text not null references tenant (tenant_id),
    alg text not null,
    public_jwk text not null,
    private_key_encrypted blob not null,
    state text not null check (state in ('next', 'active', 'retired')),
    created_at integer not null,
    activates_at integer not null,
    not_after integer
);

create index signing_key_tenant_id_created_at_idx on signing_key (tenant_id, created_at);
