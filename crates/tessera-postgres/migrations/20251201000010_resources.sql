-- Resource indicators (RFC 8707): a client may stand for a resource (its
-- identifier is the aud of tokens issued for it, unique per tenant), and a
-- grant remembers the resource it was for.
alter table client add column resource text;
alter table client add column resource_scopes jsonb not null default '[]';
create unique index client_tenant_id_resource_idx on client (tenant_id, resource);
alter table authorization_code add column resource text;
alter table session add column resource text;
