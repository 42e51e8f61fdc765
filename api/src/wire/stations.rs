//! The rules of the station systems' bodies: client scopes, webhook URLs,
//! slip numbers and outcomes, team lists (each a check and its schema, like
//! the rest of `wire`).
use utoipa::openapi::RefOr;
use utoipa::openapi::Type;
use utoipa::openapi::schema::{ArrayBuilder, Schema, SchemaType};
use validator::ValidationError;
use zhongdui_domain::text::phrases as p;

use super::{error, first_bad, id_schema, ids, one_of, string_schema};

/// The scopes a machine client may hold.
pub const CLIENT_SCOPES: [&str; 1] = ["slips"];

/// Scope codes (at least one, each from [`CLIENT_SCOPES`]).
pub fn scopes(v: &[String]) -> Result<(), ValidationError> {
    if v.is_empty() {
        return Err(error(&p::SCOPES_EMPTY));
    }
    first_bad(v, |s| {
        if CLIENT_SCOPES.contains(&s) {
            Ok(())
        } else {
            Err(error(p::UNKNOWN_SCOPE.with("value", s)))
        }
    })
}

fn scopes_builder(nullable: bool) -> ArrayBuilder {
    let b = ArrayBuilder::new()
        .items(one_of(CLIENT_SCOPES, false))
        .min_items(Some(1));
    if nullable {
        b.schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
    } else {
        b
    }
}

/// The OpenAPI schema of [`scopes`].
pub fn scopes_schema() -> Schema {
    scopes_builder(false).into()
}

/// The OpenAPI schema of optional [`scopes`].
pub fn optional_scopes_schema() -> Schema {
    scopes_builder(true).into()
}

/// A webhook URL: `http://` or `https://`, a host of letters, digits, dots
/// and hyphens, an optional port, then printable ASCII without spaces; at
/// most 500 characters. (Where it may point is checked when it is called.)
pub fn webhook_url(v: &str) -> Result<(), ValidationError> {
    if v.chars().count() > 500 {
        return Err(error(p::LENGTH_MAX.with("max", 500)));
    }
    if http_url_shape(v) {
        Ok(())
    } else {
        Err(error(&p::URL_HTTP))
    }
}

/// `http://` or `https://`, a host of letters, digits, dots and hyphens,
/// an optional port of 1–5 digits, then printable ASCII without spaces
/// (the shape [`webhook_url_pattern`] states).
pub(super) fn http_url_shape(v: &str) -> bool {
    let Some(rest) = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()));
    host_ok && port_ok && tail.chars().all(|c| c.is_ascii_graphic())
}

/// A webhook URL, or blank for none.
pub fn webhook_url_or_blank(v: &str) -> Result<(), ValidationError> {
    if v.is_empty() { Ok(()) } else { webhook_url(v) }
}

pub(super) fn webhook_url_pattern() -> &'static str {
    r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?([/?#][!-~]*)?$"
}

/// The OpenAPI schema of an optional [`webhook_url_or_blank`].
pub fn optional_webhook_url_schema() -> Schema {
    string_schema(true)
        .max_length(Some(500))
        .pattern(Some(format!("^$|{}", webhook_url_pattern())))
        .into()
}

/// A station's own slip number (警单号): a letter or digit, then up to 63
/// letters, digits, `.`, `_`, `:` or `-`.
pub fn slip_number(v: &str) -> Result<(), ValidationError> {
    let mut chars = v.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    if first_ok && rest_ok && v.len() <= 64 {
        Ok(())
    } else {
        Err(error(&p::SLIP_NUMBER))
    }
}

/// The pattern of [`slip_number`] (path parameters use it too).
pub fn slip_number_pattern() -> &'static str {
    "^[0-9A-Za-z][0-9A-Za-z._:-]{0,63}$"
}

/// The OpenAPI schema of [`slip_number`].
pub fn slip_number_schema() -> Schema {
    string_schema(false)
        .pattern(Some(slip_number_pattern()))
        .into()
}

/// How a station closed a slip.
pub const SLIP_OUTCOMES: [&str; 4] = ["resolved", "referred", "unfounded", "withdrawn"];

/// A slip outcome code.
pub fn slip_outcome(v: &str) -> Result<(), ValidationError> {
    if SLIP_OUTCOMES.contains(&v) {
        Ok(())
    } else {
        Err(error(p::ONE_OF.with("values", SLIP_OUTCOMES.join(", "))))
    }
}

/// The OpenAPI schema of [`slip_outcome`].
pub fn slip_outcome_schema() -> Schema {
    one_of(SLIP_OUTCOMES, false).into()
}

/// Up to 10 team ids.
pub fn team_ids(v: &[String]) -> Result<(), ValidationError> {
    if v.len() > 10 {
        return Err(error(p::TEAMS_MAX.with("max", 10)));
    }
    ids(v)
}

/// The OpenAPI schema of optional [`team_ids`].
pub fn optional_team_ids_schema() -> Schema {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(RefOr::T(id_schema()))
        .max_items(Some(10))
        .into()
}
