//! The key-encryption key that seals signing keys at rest: from
//! `master_key`, from `master_key_file`, or generated once into the data
//! directory (mode 0600) with a loud warning.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;

use crate::config::Config;

/// File name of a generated master key inside `data_dir`.
pub const GENERATED_KEY_FILE: &str = "master.key";

/// Resolves the 32-byte master key as configured, generating one when
/// nothing is configured and the data directory has none yet.
pub fn resolve(config: &Config) -> anyhow::Result<[u8; 32]> {
    if let Some(value) = config.master_key_value() {
        return decode(value).context("master_key");
    }
    if let Some(path) = &config.master_key_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("master_key_file: cannot read {}", path.display()))?;
        return decode(&text).with_context(|| format!("master_key_file {}", path.display()));
    }
    let path = config.data_dir.join(GENERATED_KEY_FILE);
    if path.exists() {
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return decode(&text).with_context(|| format!("{}", path.display()));
    }
    generate_into(&path)
}

fn decode(text: &str) -> anyhow::Result<[u8; 32]> {
    let trimmed = text.trim();
    let bytes = STANDARD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed.trim_end_matches('=')))
        .context("must be base64")?;
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(key) => Ok(key),
        Err(_) => bail!("must decode to exactly 32 bytes (got {})", bytes.len()),
    }
}

fn generate_into(path: &Path) -> anyhow::Result<[u8; 32]> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(STANDARD.encode(key).as_bytes())?;
    file.write_all(b"\n")?;
    tracing::warn!(
        path = %path.display(),
        "GENERATED A NEW MASTER KEY: signing keys are encrypted with it. Back this file up; \
         for production or several nodes set TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE instead"
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_key_is_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("tessera-mk-{}", uuid_like()));
        let config = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        let first = resolve(&config).unwrap();
        let mode = std::fs::metadata(dir.join(GENERATED_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(resolve(&config).unwrap(), first);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn configured_key_must_be_32_bytes_of_base64() {
        assert!(decode(&STANDARD.encode([1u8; 32])).is_ok());
        assert!(decode(&STANDARD.encode([1u8; 16])).is_err());
        assert!(decode("not base64!").is_err());
    }

    fn uuid_like() -> String {
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
