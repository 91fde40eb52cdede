-- Mail leaves through an outbox: each message is queued in the transaction
-- of the change that causes it and sent by a worker on any node, with
-- retries. The message itself (which may hold a link with a token) is
-- sealed with the master key and erased once sent or given up.
create table mail_outbox (
    mail_id uuid primary key not null,
    tenant_id uuid not null references tenant (tenant_id),
    kind text not null,
    recipient text not null,
    sealed_message bytea not null,
    status text not null check (status in ('pending', 'sent', 'failed')),
    attempts integer not null default 0,
    last_error text,
    created_at timestamptz not null,
    next_attempt_at timestamptz not null,
    sent_at timestamptz
);

create index mail_outbox_due_idx on mail_outbox (status, next_attempt_at);
create index mail_outbox_tenant_id_created_at_idx on mail_outbox (tenant_id, created_at, mail_id);

-- Mailed one-time tokens: a link secret (sha-256 hex) and a 6-digit code
-- (keyed hash), single use, counting wrong codes.
create table one_time_token (
    token_id uuid primary key not null,
    tenant_id uuid not null references tenant (tenant_id),
    user_id uuid not null references user_account (user_id) on delete cascade,
    purpose text not null check (purpose in ('verify_email', 'reset_password', 'sign_in')),
    token_hash text not null unique,
    code_hash text not null,
    email text not null,
    failed_attempts integer not null default 0,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz
);

create index one_time_token_user_id_purpose_idx on one_time_token (user_id, purpose, created_at);
-- a code is looked up by the address it was sent to (for an email change,
-- the new one).
create index one_time_token_email_idx on one_time_token (tenant_id, email, purpose, created_at);
