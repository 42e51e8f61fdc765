//! Web Push to a browser (RFC 8030), its payload encrypted to the
//! subscription's keys (RFC 8291, `aes128gcm`) and the request signed with
//! the server's VAPID key (RFC 8292). The encryption is `web-push-native`
//! (RustCrypto's P-256, HKDF and AES-GCM, no OpenSSL) and the VAPID JWT is
//! signed with `jwt-simple`'s ES256, which `web-push-native` re-exports: we
//! sign it ourselves only to put the endpoint's port in `aud` (the crate
//! drops it, which no real push service on 443 notices, but the origin of
//! `https://push.example:8443/x` is not `https://push.example`).
//!
//! The VAPID key is made once and kept in `app_secrets` like the token key,
//! so every process signs with the same key and subscriptions outlive
//! restarts.
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait};
use web_push_native::jwt_simple::algorithms::{ECDSAP256KeyPairLike, ES256KeyPair};
use web_push_native::jwt_simple::claims::Claims;
use web_push_native::p256;

use crate::entities::app_secret;

const SECRET: &str = "vapid_private_key";

/// The server's VAPID key pair.
pub struct Vapid {
    key: ES256KeyPair,
    /// The public key as browsers take it for `applicationServerKey`:
    /// the uncompressed point, base64url without padding.
    pub public_key: String,
}

impl Vapid {
    /// The stored key, made by the first process that needs it.
    pub async fn load(db: &DatabaseConnection) -> anyhow::Result<Self> {
        if app_secret::Entity::find_by_id(SECRET.to_owned())
            .one(db)
            .await
            .context("reading the VAPID key")?
            .is_none()
        {
            let fresh = ES256KeyPair::generate();
            let made = app_secret::ActiveModel {
                name: Set(SECRET.to_owned()),
                value: Set(hex(&fresh.to_bytes())),
                created_at: Set(crate::clock::wall()),
            }
            .insert(db)
            .await;
            // Another process may have made it first: theirs is read below.
            drop(made);
        }
        let row = app_secret::Entity::find_by_id(SECRET.to_owned())
            .one(db)
            .await
            .context("reading the VAPID key")?
            .context("the VAPID key vanished")?;
        let bytes = unhex(&row.value).context("the stored VAPID key is not hex")?;
        let key = ES256KeyPair::from_bytes(&bytes).context("the stored VAPID key is invalid")?;
        Ok(Self::from_key(key))
    }

    fn from_key(key: ES256KeyPair) -> Self {
        let public_key =
            URL_SAFE_NO_PAD.encode(key.key_pair().public_key().to_bytes_uncompressed());
        Vapid { key, public_key }
    }

    /// The `Authorization` header for a request to `endpoint`: a JWT for
    /// the endpoint's origin, valid 12 hours, with `subject` as contact.
    pub fn authorization(&self, endpoint: &http::Uri, subject: &str) -> anyhow::Result<String> {
        let claims = Claims::create(Duration::from_secs(12 * 3600).into())
            .with_audience(origin(endpoint)?)
            .with_subject(subject);
        let token = self.key.sign(claims).context("signing the VAPID JWT")?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

/// `scheme://host[:port]` of `uri` (the port only when not the scheme's default).
fn origin(uri: &http::Uri) -> anyhow::Result<String> {
    let scheme = uri.scheme_str().context("the endpoint has no scheme")?;
    let host = uri.host().context("the endpoint has no host")?;
    Ok(match (scheme, uri.port_u16()) {
        ("https", Some(443)) | ("http", Some(80)) | (_, None) => format!("{scheme}://{host}"),
        (_, Some(port)) => format!("{scheme}://{host}:{port}"),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    s.len()
        .is_multiple_of(2)
        .then(|| {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .flatten()
}

/// Decodes base64url, with or without padding (browsers give either).
pub fn b64url(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
        .or_else(|| URL_SAFE.decode(s).ok())
}

/// A subscription's keys, checked: `p256dh` a point on P-256, `auth` 16 bytes.
pub struct Keys {
    public: p256::PublicKey,
    auth: web_push_native::Auth,
}

impl Keys {
    /// Parses the keys as the browser's `PushSubscription.toJSON()` gives them.
    pub fn parse(p256dh: &str, auth: &str) -> Result<Self, &'static str> {
        let point = b64url(p256dh).ok_or("keys.p256dh")?;
        let public = p256::PublicKey::from_sec1_bytes(&point).map_err(|_| "keys.p256dh")?;
        let secret = b64url(auth).ok_or("keys.auth")?;
        if secret.len() != 16 {
            return Err("keys.auth");
        }
        let mut auth = web_push_native::Auth::default();
        auth.copy_from_slice(&secret);
        Ok(Keys { public, auth })
    }
}

/// How urgently the push service should deliver (RFC 8030 §5.3).
#[derive(Debug, Clone, Copy)]
pub enum Urgency {
    /// Offers: wake the device.
    High,
    /// Everything else.
    Normal,
}

/// What the push service said.
#[derive(Debug)]
pub enum Outcome {
    /// Accepted (201 or 202).
    Delivered,
    /// The subscription is gone (404 or 410): delete it.
    Gone,
    /// Worth trying again later (429, 5xx, no answer).
    Retry(String),
    /// Refused for good (400, 401, 403, 413…).
    Refused(String),
}

/// One push message, ready to send.
pub struct Message<'a> {
    /// The subscription's endpoint.
    pub endpoint: &'a str,
    /// Its keys.
    pub keys: &'a Keys,
    /// The plaintext (the service worker's JSON).
    pub payload: &'a [u8],
    /// How long the push service may keep it for an offline device.
    pub ttl: Duration,
    /// RFC 8030 urgency.
    pub urgency: Urgency,
}

/// Encrypts and posts `msg`.
pub async fn send(
    http: &reqwest::Client,
    vapid: &Vapid,
    subject: &str,
    msg: &Message<'_>,
) -> Outcome {
    let uri: http::Uri = match msg.endpoint.parse() {
        Ok(u) => u,
        Err(e) => return Outcome::Refused(format!("endpoint: {e}")),
    };
    let request =
        match web_push_native::WebPushBuilder::new(uri.clone(), msg.keys.public, msg.keys.auth)
            .build(msg.payload.to_vec())
        {
            Ok(r) => r,
            Err(e) => return Outcome::Refused(format!("encrypting: {e}")),
        };
    let authorization = match vapid.authorization(&uri, subject) {
        Ok(a) => a,
        Err(e) => return Outcome::Refused(format!("{e:#}")),
    };
    let (parts, body) = request.into_parts();
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in &parts.headers {
        if name.as_str() != "ttl" {
            headers.insert(name.clone(), value.clone());
        }
    }
    let ttl = msg.ttl.as_secs().to_string();
    let urgency = match msg.urgency {
        Urgency::High => "high",
        Urgency::Normal => "normal",
    };
    let sent = http
        .post(msg.endpoint)
        .headers(headers)
        .header("TTL", ttl)
        .header("Urgency", urgency)
        .header(reqwest::header::AUTHORIZATION, authorization)
        .body(body)
        .send()
        .await;
    match sent {
        Err(e) => Outcome::Retry(format!("no answer: {e}")),
        Ok(r) => match r.status().as_u16() {
            200..=299 => Outcome::Delivered,
            404 | 410 => Outcome::Gone,
            429 | 500..=599 => Outcome::Retry(format!("HTTP {}", r.status().as_u16())),
            other => Outcome::Refused(format!("HTTP {other}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_keeps_a_port_that_is_not_the_default() {
        let o = |s: &str| origin(&s.parse().unwrap()).unwrap();
        assert_eq!(
            o("https://fcm.googleapis.com/fcm/send/abc"),
            "https://fcm.googleapis.com"
        );
        assert_eq!(o("https://push.example:443/x"), "https://push.example");
        assert_eq!(
            o("https://push.example:8443/x"),
            "https://push.example:8443"
        );
        assert_eq!(o("http://127.0.0.1:5000/p"), "http://127.0.0.1:5000");
    }

    #[test]
    fn keys_are_checked() {
        let key = p256::SecretKey::from_slice(&[42u8; 32]).unwrap();
        let point = key.public_key();
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let p = URL_SAFE_NO_PAD.encode(point.to_encoded_point(false).as_bytes());
        let a = URL_SAFE_NO_PAD.encode([7u8; 16]);
        assert!(Keys::parse(&p, &a).is_ok());
        assert_eq!(Keys::parse("AAAA", &a).err(), Some("keys.p256dh"));
        assert_eq!(Keys::parse(&p, "AAAA").err(), Some("keys.auth"));
        assert_eq!(Keys::parse(&p, "!!").err(), Some("keys.auth"));
        assert_eq!(hex(&unhex("00ff10").unwrap()), "00ff10");
        assert!(unhex("0g").is_none());
    }
}
