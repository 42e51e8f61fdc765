//! Web Push subscriptions as the browser's `PushSubscription.toJSON()`
//! gives them.
use utoipa::openapi::schema::Schema;
use validator::ValidationError;
use zhongdui_domain::text::phrases as p;

use super::{error, string_schema};

/// The longest endpoint kept (push services' are a few hundred characters).
pub const MAX_ENDPOINT: usize = 2048;

/// A push endpoint: an `https://` URL (or `http://`, which the server takes
/// only where private targets are allowed, in tests), printable ASCII, at
/// most 2048 characters.
pub fn push_endpoint(v: &str) -> Result<(), ValidationError> {
    if v.chars().count() > MAX_ENDPOINT {
        return Err(error(p::LENGTH_MAX.with("max", 2048)));
    }
    if super::stations::http_url_shape(v) {
        Ok(())
    } else {
        Err(error(&p::URL_HTTPS))
    }
}

/// The OpenAPI schema of [`push_endpoint`].
pub fn push_endpoint_schema() -> Schema {
    string_schema(false)
        .max_length(Some(MAX_ENDPOINT))
        .pattern(Some(super::stations::webhook_url_pattern()))
        .into()
}

fn b64url(v: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let body = v.trim_end_matches('=');
    let ok = (min..=max).contains(&v.len())
        && v.len() - body.len() <= 2
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(error(&p::BASE64URL))
    }
}

fn b64url_schema(min: usize, max: usize) -> Schema {
    string_schema(false)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(Some("^[A-Za-z0-9_-]+={0,2}$"))
        .into()
}

/// `keys.p256dh`: the browser's P-256 public key, base64url (87 or 88
/// characters; that it is a point on the curve is checked by the handler).
pub fn p256dh(v: &str) -> Result<(), ValidationError> {
    b64url(v, 87, 88)
}

/// The OpenAPI schema of [`p256dh`].
pub fn p256dh_schema() -> Schema {
    b64url_schema(87, 88)
}

/// `keys.auth`: the 16-byte authentication secret, base64url (22 to 24
/// characters; that it decodes to 16 bytes is checked by the handler).
pub fn push_auth(v: &str) -> Result<(), ValidationError> {
    b64url(v, 22, 24)
}

/// The OpenAPI schema of [`push_auth`].
pub fn push_auth_schema() -> Schema {
    b64url_schema(22, 24)
}
