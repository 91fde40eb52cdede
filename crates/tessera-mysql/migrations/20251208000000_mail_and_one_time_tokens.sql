-- Mail leaves through an outbox: each message is queued in the transaction
-- of the change that causes it and sent by a worker on any node, with
-- retries. The message itself (which may hold a link with a token) is
-- sealed with the master key and erased once sent or given up.
create table mail_outbox (
    mail_id binary(16) not null primary key,
    tenant_id binary(16) not null,
    kind varchar(64) not null,
    recipient varchar(320) not null,
    sealed_message mediumblob not null,
    status varchar(16) not null check (status in ('pending', 'sent', 'failed')),
    attempts integer not null default 0,
    last_error text,
    created_at datetime(3) not null,
    next_attempt_at datetime(3) not null,
    sent_at datetime(3),
    key mail_outbox_due_idx (status, next_attempt_at),
    key mail_outbox_tenant_id_created_at_idx (tenant_id, created_at, mail_id),
    foreign key (tenant_id) references tenant (tenant_id)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;

-- Mailed one-time tokens: a link secret (sha-256 hex) and a 6-digit code
-- (keyed hash), single use, counting wrong codes.
create table one_time_token (
    token_id binary(16) not null primary key,
    tenant_id binary(16) not null,
    user_id binary(16) not null,
    purpose varchar(32) not null check (purpose in ('verify_email', 'reset_password', 'sign_in')),
    token_hash varchar(128) not null,
    code_hash varchar(128) not null,
    email varchar(320) not null,
    failed_attempts integer not null default 0,
    created_at datetime(3) not null,
    expires_at datetime(3) not null,
    used_at datetime(3),
    unique key one_time_token_token_hash_key (token_hash),
    key one_time_token_user_id_purpose_idx (user_id, purpose, created_at),
    -- a code is looked up by the address it was sent to (for an email
    -- change, the new one).
    key one_time_token_email_idx (tenant_id, email, purpose, created_at),
    foreign key (tenant_id) references tenant (tenant_id),
    foreign key (user_id) references user_account (user_id) on delete cascade
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin;
