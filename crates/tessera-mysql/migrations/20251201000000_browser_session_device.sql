-- a browser session is listed among the person's sessions: where it was
-- opened and when its cookie was last used (null: not since sign-in).
alter table browser_session
    add column ip text,
    add column user_agent text,
    add column last_seen_at datetime(3),
    add key browser_session_tenant_user_idx (tenant_id, user_id);
