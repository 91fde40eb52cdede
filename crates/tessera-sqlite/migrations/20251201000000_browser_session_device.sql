-- a browser session is listed among the person's sessions: where it was
-- opened and when its cookie was last used (null: not since sign-in).
alter table browser_session add column ip text;
alter table browser_session add column user_agent text;
alter table browser_session add column last_seen_at integer;

create index browser_session_tenant_user_idx on browser_session (tenant_id, user_id);
