-- OpenID Connect: browser (single sign-on) sessions, authorization codes,
-- remembered consents, and what sessions and clients need to know for them.

create table browser_session (
    browser_session_id uuid primary key,
    tenant_id uuid not null references tenant (tenant_id),
    user_id uuid not null references user_account (user_id) on delete cascade,
    token_hash text not null unique,
    auth_time timestamptz not null,
    amr jsonb not null default '[]',
    created_at timestamptz not null,
    expires_at timestamptz not null,
    revoked_at timestamptz
);

create index browser_session_user_id_idx on browser_session (user_id);
create index browser_session_expires_at_idx on browser_session (expires_at);

-- a session granted to an oauth client by an authorization code. existing
-- sessions were password logins, authenticated when they were created.
alter table session
    add column client_id uuid references client (client_id) on delete cascade,
    add column scope text,
    add column browser_session_id uuid references browser_session (browser_session_id) on delete set null,
    add column auth_time timestamptz,
    add column amr jsonb not null default '["pwd"]';

update session set auth_time = created_at;

alter table session
    alter column auth_time set not null,
    alter column amr drop default;

create index session_browser_session_id_idx on session (browser_session_id);
create index session_tenant_id_user_id_client_id_idx on session (tenant_id, user_id, client_id);

alter table client
    add column post_logout_redirect_uris jsonb not null default '[]',
    add column id_token_signed_response_alg text;

-- single use: used_at and session_id record the redemption, so that a
-- second use can revoke the session it made (rfc 6749 section 4.1.2).
create table authorization_code (
    code_hash text primary key,
    tenant_id uuid not null references tenant (tenant_id),
    client_id uuid not null references client (client_id) on delete cascade,
    user_id uuid not null references user_account (user_id) on delete cascade,
    browser_session_id uuid not null references browser_session (browser_session_id),
    redirect_uri text not null,
    scope text not null,
    nonce text,
    code_challenge text,
    auth_time timestamptz not null,
    amr jsonb not null default '[]',
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    session_id uuid references session (session_id) on delete set null
);

create index authorization_code_expires_at_idx on authorization_code (expires_at);
create index authorization_code_browser_session_id_idx on authorization_code (browser_session_id);
create index authorization_code_session_id_idx on authorization_code (session_id);

create table consent (
    tenant_id uuid not null references tenant (tenant_id),
    user_id uuid not null references user_account (user_id) on delete cascade,
    client_id uuid not null references client (client_id) on delete cascade,
    scopes jsonb not null default '[]',
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (tenant_id, user_id, client_id)
);
