//! Serves the example on `LISTEN` (default 127.0.0.1:3000), accepting
//! tokens of the Tessera issuer `TESSERA_ISSUER`.
#![forbid(unsafe_code)]

use tessera_guard::{Guard, GuardConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let issuer = std::env::var("TESSERA_ISSUER")
        .map_err(|_| "TESSERA_ISSUER must be set to the issuer URL, e.g. http://127.0.0.1:8080")?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let guard = Guard::new(GuardConfig::new(issuer.clone()))?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    tracing::info!(%listen, %issuer, "guarded-service listening");
    axum::serve(listener, guarded_service::app(guard)).await?;
    Ok(())
}
