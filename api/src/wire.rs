//! The rules of request bodies, written once for both sides of the wire.
//!
//! Each rule is a `validator` check (run on arrival by `extract::Valid`, mapped to
//! problem+json field errors by `From<ValidationErrors> for ApiError`) and
//! the OpenAPI schema that says the same thing (`#[schema(schema_with = …)]`
//! on the wire type's field), so that the document states exactly what the
//! server accepts. `scripts/fuzz-api.sh` checks both directions: data the
//! schema allows is accepted (positive_data_acceptance) and data it forbids
//! is refused (negative_data_rejection); the unit tests below compare each
//! pattern with its check on hand-picked strings.
//!
//! Text rules: no control characters (line breaks and tabs only in
//! multi-line text) and no text-direction overrides; a length counted in
//! characters; required text holds at least one visible character (not
//! white space, not zero-width). Stored text is trimmed.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, SchemaType};
use utoipa::openapi::{KnownFormat, RefOr, Type};
use validator::ValidationError;
use zhongdui_domain::text::{Arg, Text, phrases as p};
use zhongdui_domain::{Category, OrderSource, Phone, Skill, TEAM_KINDS, Urgency};

mod push;
mod roles;
mod stations;
pub use push::*;
pub use roles::*;
pub use stations::*;

// Character classes, as JSON Schema (ECMA-262) pattern fragments; the
// functions below are their Rust side.
/// Control characters (Cc) and text-direction overrides and isolates.
const FORBIDDEN_LINE: &str = r"\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069";
/// The same, but tab, line feed and carriage return are allowed.
const FORBIDDEN_TEXT: &str =
    r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069";
/// Unicode White_Space (what `char::is_whitespace` and `str::trim` use) and
/// the zero-width characters that display as nothing.
const INVISIBLE: &str =
    r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff";
/// White space only (for the ends of a phone number).
const WHITE: &str =
    r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

fn forbidden(c: char, multiline: bool) -> bool {
    (c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn invisible(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

/// A refusal as validator's error: the phrase's code and its parameters
/// (read back by `error::validation_text`).
fn error(text: impl Into<Text>) -> ValidationError {
    let text = text.into();
    let mut e = ValidationError::new(text.code());
    for (name, value) in &text.args {
        match value {
            Arg::Plain(s) => e.add_param(name.clone(), s),
            Arg::Int(n) => e.add_param(name.clone(), n),
            Arg::Word(w) => e.add_param(name.clone(), &w.code),
        }
    }
    e
}

/// The text rules (see the module's head) for a value `max` characters long
/// at most; the roster's CSV lines use them too.
pub fn check_text(
    v: &str,
    max: usize,
    multiline: bool,
    required: bool,
) -> Result<(), ValidationError> {
    if v.chars().any(|c| forbidden(c, multiline)) {
        return Err(error(if multiline {
            &p::TEXT_CHARS
        } else {
            &p::TEXT_ONE_LINE
        }));
    }
    if required && v.chars().all(invisible) {
        return Err(error(p::TEXT_REQUIRED.with("max", max)));
    }
    if v.chars().count() > max {
        return Err(error(p::LENGTH_MAX.with("max", max)));
    }
    Ok(())
}

fn text_pattern(multiline: bool, required: bool) -> String {
    let bad = if multiline {
        FORBIDDEN_TEXT
    } else {
        FORBIDDEN_LINE
    };
    if required {
        format!("^[^{bad}]*[^{bad}{INVISIBLE}][^{bad}]*$")
    } else {
        format!("^[^{bad}]*$")
    }
}

fn string_schema(nullable: bool) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    })
}

fn text_schema(max: usize, multiline: bool, required: bool, nullable: bool) -> Schema {
    string_schema(nullable)
        .min_length(required.then_some(1))
        .max_length(Some(max))
        .pattern(Some(text_pattern(multiline, required)))
        .into()
}

macro_rules! text_rule {
    ($(#[$doc:meta])* $check:ident, $schema:ident, $optional:ident, $max:expr, $multiline:expr, $required:expr) => {
        $(#[$doc])*
        pub fn $check(v: &str) -> Result<(), ValidationError> {
            check_text(v, $max, $multiline, $required)
        }
        /// The OpenAPI schema of the rule of the same name.
        pub fn $schema() -> Schema {
            text_schema($max, $multiline, $required, !$required)
        }
        /// The OpenAPI schema of the rule of the same name, for an optional field.
        pub fn $optional() -> Schema {
            text_schema($max, $multiline, $required, true)
        }
    };
}

text_rule!(
    /// A person's name: one line, 1–50 characters.
    display_name, display_name_schema, optional_display_name_schema, 50, false, true);
text_rule!(
    /// A team's name: one line, 1–100 characters.
    team_name, team_name_schema, optional_team_name_schema, 100, false, true);
text_rule!(
    /// An optional short text (area, station): one line, up to 100 characters; blank is absent.
    short_text, short_text_schema, optional_short_text_schema, 100, false, false);
text_rule!(
    /// A name or label (a machine client, a station): one line, 1–100 characters.
    label, label_schema, optional_label_schema, 100, false, true);
text_rule!(
    /// An address: one line, 1–200 characters.
    address, address_schema, optional_address_schema, 200, false, true);
text_rule!(
    /// What a resident needs: 1–2000 characters, line breaks allowed.
    description, description_schema, optional_description_schema, 2000, true, true);
text_rule!(
    /// A note (completion, cancellation reason): up to 2000 characters; blank is absent.
    note, note_schema, optional_note_schema, 2000, true, false);
text_rule!(
    /// A resident's feedback: up to 1000 characters; blank is absent.
    feedback, feedback_schema, optional_feedback_schema, 1000, true, false);
text_rule!(
    /// Why an order was cancelled: up to 500 characters; blank is absent.
    cancel_reason, cancel_reason_schema, optional_cancel_reason_schema, 500, true, false);
text_rule!(
    /// A message (liaison thread, team broadcast): 1–1000 characters, line breaks allowed.
    message, message_schema, optional_message_schema, 1000, true, true);
text_rule!(
    /// Why points were adjusted: 1–500 characters.
    reason, reason_schema, optional_reason_schema, 500, true, true);

/// Optional text as stored: trimmed, blank is absent.
pub fn trimmed(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A password: 8 to 128 characters.
pub fn password(v: &str) -> Result<(), ValidationError> {
    if (8..=128).contains(&v.chars().count()) {
        Ok(())
    } else {
        Err(error(&p::PASSWORD_LENGTH))
    }
}

/// The OpenAPI schema of [`password`].
pub fn password_schema() -> Schema {
    string_schema(false)
        .min_length(Some(8))
        .max_length(Some(128))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .into()
}

/// The same as [`password_schema`] for an optional password.
pub fn optional_password_schema() -> Schema {
    string_schema(true)
        .min_length(Some(8))
        .max_length(Some(128))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .into()
}

/// A mainland mobile number as [`Phone::parse`] reads it.
pub fn phone(v: &str) -> Result<(), ValidationError> {
    Phone::parse(v).map(drop).map_err(|e| error(e.message))
}

/// A phone number, or blank for none.
pub fn phone_or_blank(v: &str) -> Result<(), ValidationError> {
    if v.trim().is_empty() {
        Ok(())
    } else {
        phone(v)
    }
}

/// What [`Phone::parse`] accepts: 11 digits starting 13–19, optionally after
/// +86, 0086 or 86, with spaces, hyphens and brackets anywhere and white
/// space around.
fn phone_pattern() -> String {
    let s = r"[ \-()]*";
    format!(
        "^[{WHITE}]*{s}(?:\\+{s}8{s}6{s}|0{s}0{s}8{s}6{s}|8{s}6{s})?1{s}[3-9](?:{s}[0-9]){{9}}{s}[{WHITE}]*$"
    )
}

/// The OpenAPI schema of [`phone`].
pub fn phone_schema() -> Schema {
    string_schema(false).pattern(Some(phone_pattern())).into()
}

/// The OpenAPI schema of an optional [`phone_or_blank`].
pub fn optional_phone_schema() -> Schema {
    string_schema(true)
        .pattern(Some(format!("^[{WHITE}]*$|{}", phone_pattern())))
        .into()
}

/// An id: a UUID in its hyphenated form.
pub fn id(v: &str) -> Result<(), ValidationError> {
    if v.len() == 36 && uuid::Uuid::try_parse(v).is_ok() {
        Ok(())
    } else {
        Err(error(p::ID_FORMAT.with("value", v)))
    }
}

/// An optional id, blank for none.
pub fn id_or_blank(v: &str) -> Result<(), ValidationError> {
    if v.is_empty() { Ok(()) } else { id(v) }
}

fn id_pattern() -> &'static str {
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
}

/// The OpenAPI schema of [`id`].
pub fn id_schema() -> Schema {
    string_schema(false).pattern(Some(id_pattern())).into()
}

/// The OpenAPI schema of an optional [`id`] (absent or null, never blank).
pub fn nullable_id_schema() -> Schema {
    string_schema(true).pattern(Some(id_pattern())).into()
}

/// The OpenAPI schema of an optional [`id_or_blank`].
pub fn optional_id_schema() -> Schema {
    string_schema(true)
        .pattern(Some(format!("^$|{}", id_pattern())))
        .into()
}

/// A list of [`id`]s.
pub fn ids(v: &[String]) -> Result<(), ValidationError> {
    first_bad(v, id)
}

/// The OpenAPI schema of [`ids`].
pub fn ids_schema() -> Schema {
    ArrayBuilder::new().items(RefOr::T(id_schema())).into()
}

/// Fails with the first bad item's error, its position as the `index`
/// parameter (the field error then names `field[index]`).
fn first_bad(
    items: &[String],
    check: impl Fn(&str) -> Result<(), ValidationError>,
) -> Result<(), ValidationError> {
    for (i, item) in items.iter().enumerate() {
        if let Err(mut e) = check(item) {
            e.add_param(Cow::Borrowed("index"), &i);
            return Err(e);
        }
    }
    Ok(())
}

fn one_of(codes: impl IntoIterator<Item = &'static str>, nullable: bool) -> ObjectBuilder {
    string_schema(nullable).enum_values(Some(codes))
}

/// A category code.
pub fn category(v: &str) -> Result<(), ValidationError> {
    v.parse::<Category>()
        .map(drop)
        .map_err(|e| error(e.message))
}

/// The OpenAPI schema of [`category`].
pub fn category_schema() -> Schema {
    one_of(Category::ALL.map(Category::code), false).into()
}

/// An urgency code.
pub fn urgency(v: &str) -> Result<(), ValidationError> {
    v.parse::<Urgency>().map(drop).map_err(|e| error(e.message))
}

/// The OpenAPI schema of an optional [`urgency`].
pub fn urgency_schema() -> Schema {
    one_of(Urgency::ALL.map(Urgency::code), true).into()
}

/// An order source code.
pub fn order_source(v: &str) -> Result<(), ValidationError> {
    v.parse::<OrderSource>()
        .map(drop)
        .map_err(|_| error(p::ONE_OF.with("values", "resident, coordinator, station")))
}

/// The OpenAPI schema of an optional [`order_source`].
pub fn order_source_schema() -> Schema {
    one_of(OrderSource::ALL.map(OrderSource::code), true).into()
}

/// A skill code, exactly.
fn skill(v: &str) -> Result<(), ValidationError> {
    if Skill::ALL.iter().any(|s| s.code() == v) {
        Ok(())
    } else {
        Err(error(p::UNKNOWN_SKILL.with("value", v)))
    }
}

/// A list of skill codes.
pub fn skills(v: &[String]) -> Result<(), ValidationError> {
    first_bad(v, skill)
}

fn skills_builder(nullable: bool) -> ArrayBuilder {
    let b = ArrayBuilder::new().items(one_of(Skill::ALL.map(Skill::code), false));
    if nullable {
        b.schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
    } else {
        b
    }
}

/// The OpenAPI schema of [`skills`].
pub fn skills_schema() -> Schema {
    skills_builder(false).into()
}

/// The OpenAPI schema of optional [`skills`].
pub fn optional_skills_schema() -> Schema {
    skills_builder(true).into()
}

/// Certificate expiry dates keyed by skill code.
pub fn certificates(
    v: &std::collections::BTreeMap<String, chrono::NaiveDate>,
) -> Result<(), ValidationError> {
    for code in v.keys() {
        if let Err(mut e) = skill(code) {
            e.add_param(Cow::Borrowed("key"), code);
            return Err(e);
        }
    }
    Ok(())
}

fn certificates_builder(nullable: bool) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(if nullable {
            SchemaType::from_iter([Type::Object, Type::Null])
        } else {
            SchemaType::new(Type::Object)
        })
        .property_names(Some(one_of(Skill::ALL.map(Skill::code), false)))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
        ))
}

/// The OpenAPI schema of [`certificates`].
pub fn certificates_schema() -> Schema {
    certificates_builder(false).into()
}

/// The OpenAPI schema of optional [`certificates`].
pub fn optional_certificates_schema() -> Schema {
    certificates_builder(true).into()
}

/// A team kind code, exactly.
pub fn team_kind(v: &str) -> Result<(), ValidationError> {
    if zhongdui_domain::is_team_kind(v) {
        Ok(())
    } else {
        Err(error(p::UNKNOWN_TEAM_KIND.with("value", v)))
    }
}

fn team_kinds() -> impl Iterator<Item = &'static str> {
    TEAM_KINDS.iter().map(|k| k.0)
}

/// The OpenAPI schema of [`team_kind`].
pub fn team_kind_schema() -> Schema {
    one_of(team_kinds(), false).into()
}

/// The OpenAPI schema of an optional [`team_kind`].
pub fn optional_team_kind_schema() -> Schema {
    one_of(team_kinds(), true).into()
}

/// An integer that JSON may also write with a zero fraction (`2.0`), as
/// JSON Schema's `integer` allows.
pub fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(i64),
        Float(f64),
    }
    match Number::deserialize(d)? {
        Number::Int(i) => Ok(i),
        // `as` saturates; the range check below keeps only exact values.
        #[allow(clippy::cast_possible_truncation)]
        Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        Number::Float(f) => Err(serde::de::Error::custom(format!(
            "invalid type: floating point `{f}`, expected an integer"
        ))),
    }
}

/// [`integer`] for an optional field (use with `#[serde(default)]`).
pub fn optional_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "integer")] i64);
    Option::<Wrap>::deserialize(d).map(|w| w.map(|Wrap(i)| i))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pattern accepts exactly what its check accepts, on strings
    /// chosen at the edges of the rules.
    #[test]
    fn patterns_agree_with_checks() {
        let samples = [
            "",
            " ",
            "\u{3000}",
            "\u{200b}",
            "a",
            " a ",
            "a\nb",
            "a\tb",
            "a\u{202e}b",
            "a\u{7}",
            "\u{85}",
            "救援",
            "13800138000",
            " 138-0013-8000 ",
            "+86 138 0013 8000",
            "008613800138000",
            "8613800138000",
            "(138)00138000",
            "12800138000",
            "1380013800",
            "+8612800138000",
            "\u{3000}13800138000",
            "138\u{3000}00138000",
            "http://127.0.0.1:9/hooks",
            "https://jingwu.example.cn/zd?x=1#a",
            "https://a",
            "http://",
            "ftp://a",
            "https://a b",
            "https://a:123456",
            "https://a:80/路",
            "https://a/\u{7f}",
            "JD20261201-0001",
            "jd.1:2_3",
            "-JD",
            "JD/1",
            "JD 1",
        ];
        type Check = fn(&str) -> Result<(), ValidationError>;
        let rules: [(Check, String); 8] = [
            (display_name, text_pattern(false, true)),
            (short_text, text_pattern(false, false)),
            (description, text_pattern(true, true)),
            (note, text_pattern(true, false)),
            (phone, phone_pattern()),
            (phone_or_blank, format!("^[{WHITE}]*$|{}", phone_pattern())),
            (
                webhook_url_or_blank,
                format!("^$|{}", webhook_url_pattern()),
            ),
            (slip_number, slip_number_pattern().to_owned()),
        ];
        for (check, pattern) in rules {
            let re = regex::Regex::new(&ecma_to_rust(&pattern)).unwrap();
            for s in samples {
                assert_eq!(
                    check(s).is_ok(),
                    re.is_match(s),
                    "{pattern} and its check disagree on {s:?}"
                );
            }
        }
        assert!(text_pattern(false, true).contains(r"\u0000"));
    }

    /// `\uXXXX` (ECMA-262) as the `regex` crate writes it.
    fn ecma_to_rust(p: &str) -> String {
        let mut out = String::new();
        let mut rest = p;
        while let Some(i) = rest.find("\\u") {
            out.push_str(&rest[..i]);
            out.push_str(&format!("\\x{{{}}}", &rest[i + 2..i + 6]));
            rest = &rest[i + 6..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn integers_may_have_a_zero_fraction() {
        #[derive(Deserialize)]
        struct T {
            #[serde(deserialize_with = "integer")]
            n: i64,
            #[serde(default, deserialize_with = "optional_integer")]
            m: Option<i64>,
        }
        let t: T = serde_json::from_str(r#"{"n": 2.0, "m": 3}"#).unwrap();
        assert_eq!((t.n, t.m), (2, Some(3)));
        let t: T = serde_json::from_str(r#"{"n": -4, "m": null}"#).unwrap();
        assert_eq!((t.n, t.m), (-4, None));
        assert!(serde_json::from_str::<T>(r#"{"n": 2.5}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"n": "2"}"#).is_err());
    }
}
