-- Resource indicators (RFC 8707): a client may stand for a resource (its
-- identifier is the aud of tokens issued for it, unique per tenant), and a
-- grant remembers the resource it was for. 512 characters keep the unique
-- key within InnoDB's 3072-byte limit (utf8mb4).
alter table client add column resource varchar(512);
alter table client add column resource_scopes text not null default ('[]');
create unique index client_tenant_id_resource_idx on client (tenant_id, resource);
alter table authorization_code add column resource varchar(512);
alter table session add column resource varchar(512);
