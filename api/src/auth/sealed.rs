//! Secrets the server must read back (a client's webhook secret, to sign
//! with), sealed with AES-256-GCM under a data key that is kept, like the
//! token key, in `app_secrets` (or given as `ZD_AUTH__DATA_KEY`): a copy of
//! the `clients` table alone reveals none of them.
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Seals and opens stored secrets.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    fn from_key(key: &[u8]) -> Self {
        let mut k = [0u8; 32];
        k.copy_from_slice(&key[..32]);
        Sealer {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(k)),
        }
    }

    /// The sealer of this deployment: from the configured data key, else the
    /// one stored in the database (created by the first process).
    pub async fn load(
        db: &DatabaseConnection,
        configured: Option<&SecretString>,
    ) -> anyhow::Result<Self> {
        let material = match configured {
            Some(s) => s.expose_secret().to_owned(),
            None => super::token::stored_secret(db, "data_key").await?,
        };
        // Any length of configured material becomes a 256-bit key.
        let key = Sha256::digest(material.as_bytes());
        Ok(Sealer::from_key(&key))
    }

    /// `plain` sealed: base64 of a fresh 96-bit nonce and the ciphertext.
    pub fn seal(&self, plain: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plain.as_bytes())
            .map_err(|_| anyhow::anyhow!("sealing a secret"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(STANDARD.encode(out))
    }

    /// Opens what [`Sealer::seal`] wrote.
    pub fn open(&self, sealed: &str) -> anyhow::Result<String> {
        let raw = STANDARD
            .decode(sealed)
            .context("a sealed secret is not base64")?;
        anyhow::ensure!(raw.len() > 12, "a sealed secret is too short");
        let (nonce, body) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().context("a sealed secret's nonce")?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), body)
            .map_err(|_| anyhow::anyhow!("a sealed secret does not open (another data key?)"))?;
        String::from_utf8(plain).context("a sealed secret is not text")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let s = Sealer::from_key(&Sha256::digest(b"test"));
        let a = s.seal("whsec_abc").unwrap();
        let b = s.seal("whsec_abc").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("abc"));
        assert_eq!(s.open(&a).unwrap(), "whsec_abc");
        let mut tampered = STANDARD.decode(&a).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(s.open(&STANDARD.encode(tampered)).is_err());
    }
}
