-- whether the authorization request carried redirect_uri: then the token
-- request must repeat it (RFC 6749 §4.1.3).
alter table authorization_code add column redirect_uri_sent integer not null default 0
    check (redirect_uri_sent in (0, 1));
