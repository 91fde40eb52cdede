-- OpenID Connect: browser (single sign-on) sessions, authorization codes,
-- remembered consents, and what sessions and clients need to know for them.
-- ids are hyphenated uuid text, times unix milliseconds, lists json text.

create table browser_session (
    browser_session_id text primary key not null,
    tenant_id text not null references tenant (tenant_id),
    user_id text not null references user_account (user_id) on delete cascade,
    token_hash text not null unique,
    auth_time integer not null,
    amr text not null default '[]',
    created_at integer not null,
    expires_at integer not null,
    revoked_at integer
);

create index browser_session_user_id_idx on browser_session (user_id);
create index browser_session_expires_at_idx on browser_session (expires_at);

-- a session granted to an oauth client by an authorization code. sqlite
-- cannot add a not null column without a constant default: auth_time gets
-- 0 and is then set to created_at (the authentication time of every
-- existing session); new rows always carry both values.
alter table session add column client_id text references client (client_id) on delete cascade;
alter table session add column scope text;
alter table session add column browser_session_id text
    references browser_session (browser_session_id) on delete set null;
alter table session add column auth_time integer not null default 0;
alter table session add column amr text not null default '["pwd"]';

update session set auth_time = created_at;

create index session_browser_session_id_idx on session (browser_session_id);
create index session_tenant_id_user_id_client_id_idx on session (tenant_id, user_id, client_id);

alter table client add column post_logout_redirect_uris text not null default '[]';
alter table client add column id_token_signed_response_alg text;

-- single use: used_at and session_id record the redemption, so that a
-- second use can revoke the session it made (rfc 6749 section 4.1.2).
create table authorization_code (
    code_hash text primary key not null,
    tenant_id text not null references tenant (tenant_id),
    client_id text not null references client (client_id) on delete cascade,
    user_id text not null references user_account (user_id) on delete cascade,
    browser_session_id text not null references browser_session (browser_session_id),
    redirect_uri text not null,
    scope text not null,
    nonce text,
    code_challenge text,
    auth_time integer not null,
    amr text not null default '[]',
    created_at integer not null,
    expires_at integer not null,
    used_at integer,
    session_id text references session (session_id) on delete set null
);

create index authorization_code_expires_at_idx on authorization_code (expires_at);
create index authorization_code_browser_session_id_idx on authorization_code (browser_session_id);
create index authorization_code_session_id_idx on authorization_code (session_id);

create table consent (
    tenant_id text not null references tenant (tenant_id),
    user_id text not null references user_account (user_id) on delete cascade,
    client_id text not null references client (client_id) on delete cascade,
    scopes text not null default '[]',
    created_at integer not null,
    updated_at integer not null,
    primary key (tenant_id, user_id, client_id)
);
