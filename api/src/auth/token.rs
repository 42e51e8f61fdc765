//! Bearer tokens: HS256 JWTs carrying the user id, role and the account's
//! token version (bumped to revoke every token of an account).
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zhongdui_domain::{Role, UserId};

use crate::entities::app_secret;

/// What a token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The role when issued (the current role is re-read on every request).
    pub role: String,
    /// The account's token version when issued.
    pub ver: i32,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// A client token's scopes, space-separated (absent on user tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A freshly signed token.
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// The signing and verification keys.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl TokenKeys {
    /// Keys from the configured secret, or from the one kept in the database
    /// (generated on first start).
    pub async fn load(
        db: &DatabaseConnection,
        configured: Option<&SecretString>,
        ttl_minutes: i64,
    ) -> anyhow::Result<Self> {
        let secret = match configured {
            Some(s) => s.expose_secret().as_bytes().to_vec(),
            None => stored_secret(db, "jwt_secret").await?.into_bytes(),
        };
        Ok(Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            ttl: Duration::minutes(ttl_minutes),
        })
    }

    /// Signs a token for a user.
    pub fn issue(&self, user: UserId, role: Role, version: i32) -> anyhow::Result<IssuedToken> {
        let now = crate::clock::wall();
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user.to_string(),
            role: role.code().to_owned(),
            ver: version,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            scope: None,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("signing token")?;
        Ok(IssuedToken { token, expires_at })
    }

    /// Signs a short-lived token (15 minutes) for a machine client with
    /// `scope`; its subject is `client:<id>`, which no user route accepts.
    pub fn issue_client(
        &self,
        client: uuid::Uuid,
        scope: &str,
        version: i32,
    ) -> anyhow::Result<IssuedToken> {
        let now = crate::clock::wall();
        let expires_at = now + Duration::minutes(15);
        let claims = Claims {
            sub: format!("client:{client}"),
            role: "client".to_owned(),
            ver: version,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            scope: Some(scope.to_owned()),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("signing token")?;
        Ok(IssuedToken { token, expires_at })
    }

    /// Verifies signature and expiry.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// The secret kept in `app_secrets` under `name`, made (32 random bytes,
/// hex) by the first process that needs it.
pub(super) async fn stored_secret(db: &DatabaseConnection, name: &str) -> anyhow::Result<String> {
    if let Some(row) = app_secret::Entity::find_by_id(name.to_owned())
        .one(db)
        .await
        .context("reading the token secret")?
    {
        return Ok(row.value);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let inserted = app_secret::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(value),
        created_at: Set(crate::clock::wall()),
    }
    .insert(db)
    .await;
    if inserted.is_err() {
        // Another process created it first: use theirs.
    }
    app_secret::Entity::find_by_id(name.to_owned())
        .one(db)
        .await
        .context("reading the token secret")?
        .map(|row| row.value)
        .context("the token secret vanished")
}
