//! Password hashing with argon2id (the crate's defaults: m=19 MiB, t=2, p=1,
//! OWASP's recommendation). Hashing runs on the blocking pool, never on the
//! async workers.
use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Stored for accounts that may not log in with a password yet.
pub const UNUSABLE_PASSWORD: &str = "!";

/// A hash of a fixed password, verified against when the phone is unknown so
/// that a login for an unknown phone takes as long as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Q5CdjvG6v9T0DkqXp4t2Mpb2RyY1/GKBDxTZtE0pnWA";

/// Hashes `password` into a PHC string.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await
    .context("password hashing task")?
}

/// Whether `password` matches `hash`. An unusable or missing hash never
/// matches, but costs the same time.
pub async fn verify_password(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let stored = hash
            .as_deref()
            .filter(|h| *h != UNUSABLE_PASSWORD)
            .unwrap_or(DUMMY_HASH);
        let ok = match PasswordHash::new(stored) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        };
        ok && hash.is_some_and(|h| h != UNUSABLE_PASSWORD)
    })
    .await
    .context("password verification task")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash_password("correct horse".into()).await.unwrap();
        let b = hash_password("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(
            verify_password("correct horse".into(), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong".into(), Some(a)).await.unwrap());
        assert!(!verify_password("x".into(), None).await.unwrap());
        assert!(
            !verify_password("x".into(), Some(UNUSABLE_PASSWORD.into()))
                .await
                .unwrap()
        );
    }
}
