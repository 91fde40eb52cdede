-- Tessera schema, MariaDB / MySQL flavour (MariaDB ≥ 10.5, MySQL ≥ 8.0.16).
-- The same tables, keys and rules as the SQLite and PostgreSQL schemas as of
-- their migration 20250601000000; later changes come as later migrations.
--
-- ids are binary(16) (the uuid's bytes: compact, and ordered like
-- PostgreSQL's uuid and SQLite's hyphenated text), times datetime(3) in UTC
-- (the connection's time_zone is +00:00), json and lists text, booleans
-- tinyint(1). Every table is InnoDB with utf8mb4_bin: comparisons are exact
-- and byte-wise, as on the other engines (emails and usernames are stored
-- normalised). Indexed strings are varchar sized above what the service
-- accepts; the rest is text.

create table tenant (
    tenant_id binary(16) not null primary key,
    slug varchar(64) not null,
    name varchar(255) not null,
    created_at datetime(3) not null,
    disabled_at datetime(3),
    unique key tenant_slug_key (slug)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

create table user_account (
    user_id binary(16) not null primary key,
    tenant_id binary(16) not null,
    email varchar(320) not null,
    email_verified boolean not null default false,
    -- usernames are optional, unique per tenant when present (a unique key
    -- admits any number of nulls).
    username varchar(128),
    display_name text,
    profile mediumtext not null,
    status varchar(16) not null check (status in ('active', 'suspended', 'disabled')),
    password_hash text,
    failed_login_count integer not null default 0,
    locked_until datetime(3),
    created_at datetime(3) not null,
    updated_at datetime(3) not null,
    deleted_at datetime(3),
    unique key user_account_tenant_id_email_key (tenant_id, email),
    unique key user_account_tenant_id_username_key (tenant_id, username),
    -- the admin user listing pages by (created_at, user_id) or by email.
    key user_account_tenant_id_created_at_idx (tenant_id, created_at, user_id),
    foreign key (tenant_id) references tenant (tenant_id)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

-- OAuth clients. Secrets are kept only as sha-256 (lowercase hex).
create table client (
    client_id binary(16) not null primary key,
    tenant_id binary(16) not null,
    name varchar(255) not null,
    client_type varchar(16) not null check (client_type in ('confidential', 'public')),
    redirect_uris mediumtext not null,
    grant_types text not null,
    scopes text not null,
    token_endpoint_auth_method varchar(32) not null check (token_endpoint_auth_method in
        ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
    jwks mediumtext,
    first_party boolean not null default false,
    access_token_ttl_secs bigint,
    refresh_idle_ttl_secs bigint,
    secret_hash varchar(128),
    previous_secret_hash varchar(128),
    created_at datetime(3) not null,
    updated_at datetime(3) not null,
    post_logout_redirect_uris mediumtext not null,
    id_token_signed_response_alg varchar(16),
    token_permissions boolean not null default true,
    key client_tenant_id_created_at_idx (tenant_id, created_at),
    foreign key (tenant_id) references tenant (tenant_id),
    -- public clients, and only they, do not authenticate.
    check ((client_type = 'public') = (token_endpoint_auth_method = 'none'))
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

-- browser (single sign-on) sessions of the hosted pages.
create table browser_session (
    browser_session_id binary(16) not null primary key,
    tenant_id binary(16) not null,
    user_id binary(16) not null,
    token_hash varchar(128) not null,
    auth_time datetime(3) not null,
    amr text not null,
    created_at datetime(3) not null,
    expires_at datetime(3) not null,
    revoked_at datetime(3),
    unique key browser_session_token_hash_key (token_hash),
    key browser_session_expires_at_idx (expires_at),
    foreign key (tenant_id) references tenant (tenant_id),
    foreign key (user_id) references user_account (user_id) on delete cascade
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

create table session (
    session_id binary(16) not null primary key,
    tenant_id binary(16) not null,
    user_id binary(16) not null,
    ip text,
    user_agent text,
    created_at datetime(3) not null,
    last_used_at datetime(3) not null,
    expires_at datetime(3) not null,
    revoked_at datetime(3),
    revoke_reason varchar(64),
    -- a session granted to an oauth client by an authorization code.
    client_id binary(16),
    scope text,
    browser_session_id binary(16),
    auth_time datetime(3) not null,
    amr text not null,
    key session_tenant_id_user_id_client_id_idx (tenant_id, user_id, client_id),
    foreign key (tenant_id) references tenant (tenant_id),
    foreign key (user_id) references user_account (user_id) on delete cascade,
    foreign key (client_id) references client (client_id) on delete cascade,
    foreign key (browser_session_id) references browser_session (browser_session_id) on delete set null
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

create table refresh_token (
    token_hash varchar(128) not null primary key,
    tenant_id binary(16) not null,
    session_id binary(16) not null,
    parent_hash varchar(128),
    created_at datetime(3) not null,
    expires_at datetime(3) not null,
    used_at datetime(3),
    foreign key (tenant_id) references tenant (tenant_id),
    foreign key (session_id) references session (session_id) on delete cascade
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

create table signing_key (
    kid varchar(128) not null primary key,
    tenant_id binary(16) not null,
    alg varchar(16) not null,
    public_jwk text not null,
    private_key_encrypted blob not null,
    state varchar(16) not null check (state in ('next', 'active', 'retired')),
    created_at datetime(3) not null,
    activates_at datetime(3) not null,
    not_after datetime(3),
    key signing_key_tenant_id_created_at_idx (tenant_id, created_at),
    foreign key (tenant_id) references tenant (tenant_id)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

-- Access tokens revoked before their expiry (RFC 7009), by jti, kept until
-- the token's own expiry.
create table revoked_access_token (
    tenant_id binary(16) not null,
    jti varchar(256) not null,
    expires_at datetime(3) not null,
    revoked_at datetime(3) not null,
    primary key (tenant_id, jti),
    key revoked_access_token_expires_at_idx (tenant_id, expires_at),
    foreign key (tenant_id) references tenant (tenant_id)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

-- single use: used_at and session_id record the redemption, so that a
-- second use can revoke the session it made (rfc 6749 section 4.1.2).
create table authorization_code (
    code_hash varchar(128) not null primary key,
    tenant_id binary(16) not null,
    client_id binary(16) not null,
    user_id binary(16) not null,
    browser_session_id binary(16) not null,
    redirect_uri text not null,
    scope text not null,
    nonce text,
    code_challenge varchar(128),
    auth_time datetime(3) not null,
    amr text not null,
    created_at datetime(3) not null,
    expires_at datetime(3) not null,
    used_at datetime(3),
    session_id binary(16),
    key authorization_code_expires_at_idx (expires_at),
    foreign key (tenant_id) references tenant (tenant_id),
    foreign key (client_id) references client (client_id) on delete cascade,
    foreign key (user_id) references user_account (user_id) on delete cascade,
    foreign key (browser_session_id) references browser_session (browser_session_id),
    foreign key (session_id) references session (session_id) on delete set null
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

create table consent (
    tenant_id binary(16) not null,
    user_id binary(16) not null,
    client_id binary(16) not null,
    scopes text not null,
    created_at datetime(3) not null,
    updated_at datetime(3) not null,
    primary key (tenant_id, user_id, client_id),
    foreign key (tenant_id) references tenant (tenant_id),
    foreign key (user_id) references user_account (user_id) on delete cascade,
    foreign key (client_id) references client (client_id) on delete cascade
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

-- The jtis of client assertions (private_key_jwt, RFC 7523 §3) already
-- used. No foreign key to client: an assertion is verified against a cached
-- client, which another process may have just deleted, and the row goes
-- with the next purge anyway.
create table client_assertion (
    tenant_id binary(16) not null,
    client_id binary(16) not null,
    jti varchar(256) not null,
    expires_at datetime(3) not null,
    primary key (tenant_id, client_id, jti),
    key client_assertion_expires_at_idx (expires_at),
    foreign key (tenant_id) references tenant (tenant_id)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

create table permission (
    tenant_id binary(16) not null,
    name varchar(128) not null,
    description text,
    builtin boolean not null default false,
    created_at datetime(3) not null,
    primary key (tenant_id, name),
    foreign key (tenant_id) references tenant (tenant_id)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

-- deleting a parent is refused by the store while a child names it; the
-- foreign key (no action) is the last line of defence.
create table role (
    tenant_id binary(16) not null,
    name varchar(128) not null,
    description text,
    parent_name varchar(128),
    builtin boolean not null default false,
    created_at datetime(3) not null,
    updated_at datetime(3) not null,
    primary key (tenant_id, name),
    foreign key (tenant_id) references tenant (tenant_id),
    foreign key (tenant_id, parent_name) references role (tenant_id, name)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

-- permission is not a foreign key: wildcards (`user:*`, `*`) are granted too.
create table role_permission (
    tenant_id binary(16) not null,
    role_name varchar(128) not null,
    permission varchar(128) not null,
    primary key (tenant_id, role_name, permission),
    foreign key (tenant_id, role_name) references role (tenant_id, name) on delete cascade
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

create table user_role (
    tenant_id binary(16) not null,
    user_id binary(16) not null,
    role_name varchar(128) not null,
    primary key (tenant_id, user_id, role_name),
    key user_role_tenant_id_role_name_idx (tenant_id, role_name),
    foreign key (user_id) references user_account (user_id) on delete cascade,
    foreign key (tenant_id, role_name) references role (tenant_id, name) on delete cascade
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

create table client_role (
    tenant_id binary(16) not null,
    client_id binary(16) not null,
    role_name varchar(128) not null,
    primary key (tenant_id, client_id, role_name),
    key client_role_tenant_id_role_name_idx (tenant_id, role_name),
    foreign key (client_id) references client (client_id) on delete cascade,
    foreign key (tenant_id, role_name) references role (tenant_id, name) on delete cascade
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;
