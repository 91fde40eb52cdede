-- Administration and role-based access control: switched-off tenants,
-- soft-deleted users, a per-tenant permission catalogue, roles (with an
-- optional parent whose grants they inherit) and their assignment to users
-- and machine clients. ids are hyphenated uuid text, times unix milliseconds.

alter table tenant add column disabled_at integer;
alter table user_account add column deleted_at integer;
alter table client add column token_permissions integer not null default 1
    check (token_permissions in (0, 1));

-- the admin user listing pages by (created_at, user_id) or by email; the
-- unique (tenant_id, email) index of user_account serves the latter.
create index user_account_tenant_id_created_at_idx on user_account (tenant_id, created_at, user_id);

create table permission (
    tenant_id text not null references tenant (tenant_id),
    name text not null,
    description text,
    builtin integer not null default 0 check (builtin in (0, 1)),
    created_at integer not null,
    primary key (tenant_id, name)
);

-- deleting a parent is refused by the store while a child names it; the
-- foreign key (no action) is the last line of defence.
create table role (
    tenant_id text not null references tenant (tenant_id),
    name text not null,
    description text,
    parent_name text,
    builtin integer not null default 0 check (builtin in (0, 1)),
    created_at integer not null,
    updated_at integer not null,
    primary key (tenant_id, name),
    foreign key (tenant_id, parent_name) references role (tenant_id, name)
);

-- permission is not a foreign key: wildcards (`user:*`, `*`) are granted too.
create table role_permission (
    tenant_id text not null,
    role_name text not null,
    permission text not null,
    primary key (tenant_id, role_name, permission),
    foreign key (tenant_id, role_name) references role (tenant_id, name) on delete cascade
);

create table user_role (
    tenant_id text not null,
    user_id text not null references user_account (user_id) on delete cascade,
    role_name text not null,
    primary key (tenant_id, user_id, role_name),
    foreign key (tenant_id, role_name) references role (tenant_id, name) on delete cascade
);

create index user_role_tenant_id_role_name_idx on user_role (tenant_id, role_name);

create table client_role (
    tenant_id text not null,
    client_id text not null references client (client_id) on delete cascade,
    role_name text not null,
    primary key (tenant_id, client_id, role_name),
    foreign key (tenant_id, role_name) references role (tenant_id, name) on delete cascade
);

create index client_role_tenant_id_role_name_idx on client_role (tenant_id, role_name);
