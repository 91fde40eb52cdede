//! The HTTP suite: one test binary, real servers over real HTTP, every test
//! on SQLite and (when configured, always in CI) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod accounts;
mod admin_clients;
mod admin_roles;
mod admin_users;
mod authz;
mod binary;
mod cache_coherence;
mod cli;
mod client_refusals;
mod clients_cli;
mod cookies;
mod email_change;
mod email_verification;
mod flow;
mod fuzz;
mod guard;
mod hosted_pages;
mod hygiene;
mod identifiers;
mod keys_cli;
mod login;
mod logs;
mod mail_outbox;
mod mail_smtp;
mod metrics;
mod oauth_code;
mod oauth_token;
mod oidc_clients;
mod outage;
mod password_recovery;
mod private_key_jwt;
mod rbac_matrix;
mod refresh;
mod resources;
mod session_ends;
mod sessions;
mod tenants;
mod token_reach;
mod tokens;
mod users;
mod users_cli;
