//! Integration tests of tessera-guard: real keys generated per test, a JWKS
//! served by a local stub on 127.0.0.1:0, tokens signed the way Tessera
//! signs them. One binary (link time), one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod extract;
mod keys;
mod verify;
