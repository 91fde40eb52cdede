-- A client can be disabled, and its secrets can expire (RFC 7591
-- client_secret_expires_at): each secret issued after secret_ttl_secs is
-- set carries its own expiry, kept by the previous secret across a rotation.
alter table client add column disabled_at datetime(3);
alter table client add column secret_ttl_secs bigint;
alter table client add column secret_expires_at datetime(3);
alter table client add column previous_secret_expires_at datetime(3);
