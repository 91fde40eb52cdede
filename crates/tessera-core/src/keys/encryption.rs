//! Encryption of private keys at rest with the master key.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{AuthError, AuthResult};

/// AES-256-GCM with the master key (the key-encryption key). Each private
/// key is sealed with a fresh random nonce and its `kid` as associated data,
/// so a ciphertext cannot be moved to another key's row.
pub struct KeyEncryptor {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl KeyEncryptor {
    /// Builds the encryptor from the 32-byte master key.
    pub fn new(master_key: &[u8; 32]) -> AuthResult<KeyEncryptor> {
        let unbound = UnboundKey::new(&AES_256_GCM, master_key)
            .map_err(|_| AuthError::Internal("invalid master key".into()))?;
        Ok(KeyEncryptor {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    pub(super) fn seal(&self, kid: &str, plaintext: &[u8]) -> AuthResult<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| AuthError::Internal("random generator failed".into()))?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| AuthError::Internal("key encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub(super) fn open(&self, kid: &str, sealed: &[u8]) -> AuthResult<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return Err(AuthError::Internal(format!(
                "signing key {kid}: ciphertext too short"
            )));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| AuthError::Internal("bad nonce".into()))?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
            .map_err(|_| {
                AuthError::Internal(format!(
                    "signing key {kid} cannot be decrypted: wrong master key?"
                ))
            })?;
        Ok(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_key_opens_only_with_same_kid_and_master_key() {
        let encryptor = KeyEncryptor::new(&[7u8; 32]).unwrap();
        let sealed = encryptor.seal("kid-1", b"private bytes").unwrap();
        assert_eq!(encryptor.open("kid-1", &sealed).unwrap(), b"private bytes");
        assert!(encryptor.open("kid-2", &sealed).is_err());
        let other = KeyEncryptor::new(&[8u8; 32]).unwrap();
        assert!(other.open("kid-1", &sealed).is_err());
    }
}
