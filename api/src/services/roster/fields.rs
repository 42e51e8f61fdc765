//! Roster fields parsed and checked, collecting every field error of an input.
use std::collections::BTreeMap;
use zhongdui_domain::text::phrases as p;

use chrono::NaiveDate;
use zhongdui_domain::{GeoPoint, Skill};

use crate::error::{ApiError, ApiResult, FieldError};
use zhongdui_domain::text::Text;

/// Collects field errors while parsing an input.
#[derive(Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    /// Records `field: message`.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<Text>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records a password of the wrong length (8–128 characters).
    pub fn password(&mut self, password: &str) {
        if let Err(e) = crate::wire::password(password) {
            self.push("password", crate::error::validation_text(&e));
        }
    }

    /// Ok if nothing was recorded.
    pub fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(self.0))
        }
    }
}

/// Checks free text for `field`: trimmed, at most `max` characters, no
/// control characters (line breaks only when `multiline`) or bidi
/// overrides, and (when `required`) not empty once zero-width characters
/// are removed. Records problems in `errors`; returns the trimmed text.
pub fn parse_text(
    field: &str,
    raw: &str,
    max: usize,
    multiline: bool,
    required: bool,
    errors: &mut Errors,
) -> String {
    let v = raw.trim();
    if let Err(e) = crate::wire::check_text(v, max, multiline, required) {
        errors.push(field, crate::error::validation_text(&e));
    }
    v.to_owned()
}

/// Checks a display name: 1–50 characters after trimming, one line.
pub fn parse_display_name(raw: &str, errors: &mut Errors) -> String {
    parse_text("display_name", raw, 50, false, true, errors)
}

/// Checks a capacity: 0–10 concurrent tasks.
pub fn parse_capacity(raw: i64, errors: &mut Errors) -> i32 {
    if !(0..=10).contains(&raw) {
        errors.push("capacity", p::RANGE.with("min", 0).with("max", 10));
    }
    raw.clamp(0, 10) as i32
}

/// Parses skill codes plus a map of certificate expiry dates by skill code.
/// A certificate for a skill not in the list is an error.
pub fn parse_skills(
    codes: &[String],
    certificates: &BTreeMap<String, NaiveDate>,
    errors: &mut Errors,
) -> BTreeMap<Skill, Option<NaiveDate>> {
    let mut out = BTreeMap::new();
    for (i, code) in codes.iter().enumerate() {
        match code.parse::<Skill>() {
            Ok(s) => {
                out.insert(s, None);
            }
            Err(e) => errors.push(format!("skills[{i}]"), e.message),
        }
    }
    for (code, until) in certificates {
        match code.parse::<Skill>() {
            Ok(s) => match out.get_mut(&s) {
                Some(slot) => *slot = Some(*until),
                None => errors.push(format!("certificates.{code}"), &p::CERT_WITHOUT_SKILL),
            },
            Err(e) => errors.push(format!("certificates.{code}"), e.message),
        }
    }
    out
}

/// Parses an optional position; both or neither coordinate must be given.
/// `names` are the input's names for latitude and longitude.
pub fn parse_home(
    lat: Option<f64>,
    lon: Option<f64>,
    names: (&str, &str),
    errors: &mut Errors,
) -> Option<GeoPoint> {
    let (lat_name, lon_name) = names;
    match (lat, lon) {
        (None, None) => None,
        (Some(lat), Some(lon)) => match GeoPoint::parse(lat, lon) {
            Ok(p) => Some(p),
            Err(e) => {
                let field = if e.field == "lat" { lat_name } else { lon_name };
                errors.push(field, e.message);
                None
            }
        },
        (Some(_), None) => {
            errors.push(
                lon_name,
                p::BOTH_COORDINATES
                    .with("field", lon_name)
                    .with("other", lat_name),
            );
            None
        }
        (None, Some(_)) => {
            errors.push(
                lat_name,
                p::BOTH_COORDINATES
                    .with("field", lat_name)
                    .with("other", lon_name),
            );
            None
        }
    }
}
