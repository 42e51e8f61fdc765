//! The one error type of the api. It knows its HTTP status and renders
//! RFC 9457 problem+json: a stable `code` with its `params` for programs,
//! `detail` and field messages for people in the request's language
//! ([`crate::lang`]). A 500 shows the caller nothing internal; the whole
//! cause chain goes to the log.
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde::ser::SerializeStruct;
use utoipa::ToSchema;
use zhongdui_domain::DomainError;
use zhongdui_domain::text::{Arg, Phrase, Text, phrases as p};

use crate::lang;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field, as a path into the request (`lat`, `skills[2]`).
    pub field: String,
    /// What is wrong with it.
    pub text: Text,
}

impl FieldError {
    /// `field` is wrong for `text`.
    pub fn new(field: impl Into<String>, text: impl Into<Text>) -> Self {
        FieldError {
            field: field.into(),
            text: text.into(),
        }
    }
}

impl utoipa::PartialSchema for FieldError {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <FieldErrorDoc as utoipa::PartialSchema>::schema()
    }
}

impl ToSchema for FieldError {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("FieldError")
    }
}

/// A text's parameters as JSON: numbers as numbers, words by their code.
pub fn params_json(text: &Text) -> serde_json::Map<String, serde_json::Value> {
    text.args
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Arg::Plain(s) => serde_json::Value::from(s.as_str()),
                Arg::Int(n) => serde_json::Value::from(*n),
                Arg::Word(w) => serde_json::Value::from(w.code),
            };
            (k.to_string(), v)
        })
        .collect()
}

/// Written as `{field, code, params, message}`, the message in the request's
/// language.
impl Serialize for FieldError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let params = params_json(&self.text);
        let mut st = s.serialize_struct("FieldError", 4)?;
        st.serialize_field("field", &self.field)?;
        st.serialize_field("code", self.text.code())?;
        if params.is_empty() {
            st.skip_field("params")?;
        } else {
            st.serialize_field("params", &params)?;
        }
        st.serialize_field("message", &self.text.render(lang::current()))?;
        st.end()
    }
}

/// The document's shape of [`FieldError`].
#[derive(ToSchema)]
#[allow(dead_code)]
struct FieldErrorDoc {
    /// The field, as a path into the request (`lat`, `skills[2]`).
    field: String,
    /// A stable machine code for what is wrong (`phone.format`, `range`).
    code: String,
    /// The code's parameters (`{"min": 1, "max": 10}`).
    #[schema(value_type = Option<Object>)]
    params: Option<serde_json::Map<String, serde_json::Value>>,
    /// What is wrong, in the language of `Accept-Language` (zh-CN by default).
    message: String,
}

/// A problem+json body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// A stable machine code for what happened (`validation`, `not_found`,
    /// `order.not_open`); clients may key on it.
    pub code: String,
    /// The code's parameters.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// What happened, for a person, in the language of `Accept-Language`
    /// (zh-CN by default, `en`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The first offending field, when the problem is about input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a duplicate request: the order it duplicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request body is not what the route reads (bad JSON, wrong type, missing field).
    #[error("malformed request: {message}")]
    BadRequest {
        field: Option<String>,
        message: Text,
    },
    /// Well-formed but invalid values.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// No or bad credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static Phrase),
    /// Authenticated but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(Text),
    /// No such thing (or not visible to the caller): the noun of what.
    #[error("not found: {0}")]
    NotFound(&'static Phrase),
    /// Conflicts with the current state (duplicate, illegal transition, lost race).
    #[error("conflict: {0}")]
    Conflict(Text),
    /// A conflict caused by one input field (a phone already taken).
    #[error("conflict on {field}: {message}")]
    ConflictOn {
        /// The field.
        field: String,
        /// Why.
        message: Text,
    },
    /// The same request was placed a moment ago: points at that order.
    #[error("duplicate of order {code}")]
    Duplicate {
        /// The existing order's id.
        order_id: String,
        /// Its code.
        code: String,
    },
    /// The method is not one the route answers.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request body did not arrive in time.
    #[error("request body timed out")]
    RequestTimeout,
    /// Body too large.
    #[error("payload too large")]
    TooLarge { limit: usize },
    /// Wrong content type.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(&'static str),
    /// Rate limited.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// A dependency (database) is down.
    #[error("service unavailable: {0}")]
    Unavailable(&'static Phrase),
    /// Anything else: a bug or an outage. Logged in full, shown as a bare 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<Text>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }

    /// A malformed request about one field.
    pub fn bad_request(field: Option<&str>, message: impl Into<Text>) -> Self {
        ApiError::BadRequest {
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A conflict with the current state.
    pub fn conflict(message: impl Into<Text>) -> Self {
        ApiError::Conflict(message.into())
    }

    /// A conflict about one field.
    pub fn conflict_on(field: impl Into<String>, message: impl Into<Text>) -> Self {
        ApiError::ConflictOn {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A forbidden action, with the reason.
    pub fn forbidden(reason: impl Into<Text>) -> Self {
        ApiError::Forbidden(reason.into())
    }

    /// The problem+json body, in the request's language.
    pub fn problem(&self) -> Problem {
        let lang = lang::current();
        let status = self.status_code();
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        let kind = |k: &str| format!("https://zhongdui.invalid/problems/{k}");
        let mut p = Problem {
            kind: kind("about:blank"),
            title,
            status: status.as_u16(),
            code: String::new(),
            params: serde_json::Map::new(),
            detail: None,
            field: None,
            errors: Vec::new(),
            order_id: None,
        };
        // The problem's own text: its code, parameters and detail.
        let say = |p: &mut Problem, text: Text| {
            p.code = text.code().to_owned();
            p.params = params_json(&text);
            p.detail = Some(text.render(lang));
        };
        match self {
            ApiError::BadRequest { field, message } => {
                p.kind = kind("malformed-request");
                say(&mut p, message.clone());
                p.field = field.clone();
                if let Some(f) = field {
                    p.errors.push(FieldError::new(f.clone(), message.clone()));
                }
            }
            ApiError::Invalid(errors) => {
                p.kind = kind("validation");
                p.code = "validation".to_owned();
                p.detail = Some(
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.text.render(lang)))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
                p.field = errors.first().map(|e| e.field.clone());
                p.errors = errors.clone();
            }
            ApiError::Unauthorized(why) => {
                p.kind = kind("unauthorized");
                say(&mut p, Text::from(*why));
            }
            ApiError::Forbidden(why) => {
                p.kind = kind("forbidden");
                say(&mut p, why.clone());
            }
            ApiError::NotFound(what) => {
                p.kind = kind("not-found");
                say(&mut p, p::NOT_FOUND.with("what", *what));
            }
            ApiError::Conflict(why) => {
                p.kind = kind("conflict");
                say(&mut p, why.clone());
            }
            ApiError::ConflictOn { field, message } => {
                p.kind = kind("conflict");
                say(&mut p, message.clone());
                p.detail = Some(format!("{field}: {}", message.render(lang)));
                p.field = Some(field.clone());
                p.errors
                    .push(FieldError::new(field.clone(), message.clone()));
            }
            ApiError::Duplicate { order_id, code } => {
                p.kind = kind("duplicate");
                say(
                    &mut p,
                    p::DUPLICATE_ORDER
                        .with("code", code)
                        .with("order_id", order_id),
                );
                p.order_id = Some(order_id.clone());
            }
            ApiError::MethodNotAllowed => {
                p.kind = kind("method-not-allowed");
                say(&mut p, Text::from(&p::METHOD_NOT_ALLOWED));
            }
            ApiError::RequestTimeout => {
                p.kind = kind("request-timeout");
                say(&mut p, Text::from(&p::REQUEST_TIMEOUT));
            }
            ApiError::TooLarge { limit: 0 } => {
                p.kind = kind("payload-too-large");
                say(&mut p, Text::from(&p::TOO_LARGE));
            }
            ApiError::TooLarge { limit } => {
                p.kind = kind("payload-too-large");
                say(&mut p, p::TOO_LARGE_LIMIT.with("limit", *limit));
            }
            ApiError::UnsupportedMediaType(expected) => {
                p.kind = kind("unsupported-media-type");
                say(&mut p, p::MEDIA_TYPE.with("expected", *expected));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                p.kind = kind("rate-limited");
                say(&mut p, p::RATE_LIMITED.with("seconds", *retry_after_secs));
            }
            ApiError::Unavailable(what) => {
                p.kind = kind("unavailable");
                say(&mut p, Text::from(*what));
            }
            ApiError::Internal(_) => {
                p.kind = kind("internal");
                say(&mut p, Text::from(&p::INTERNAL));
            }
        }
        p
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::ConflictOn { .. } | ApiError::Duplicate { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(err) = self {
            tracing::error!(error = ?err, "internal error");
        }
        let mut builder = HttpResponse::build(self.status_code());
        builder.insert_header(ContentType(problem_mime()));
        if let ApiError::Unauthorized(_) = self {
            builder.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let ApiError::Duplicate { order_id, .. } = self {
            builder.insert_header(("Location", format!("/api/v1/orders/{order_id}")));
        }
        if let ApiError::TooManyRequests { retry_after_secs } = self {
            builder.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        builder.json(self.problem())
    }
}

/// `application/problem+json`.
pub fn problem_mime() -> mime_guess::Mime {
    "application/problem+json"
        .parse()
        .unwrap_or(mime_guess::mime::APPLICATION_JSON)
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::Internal(anyhow::Error::new(e))
    }
}

impl From<sea_orm::TransactionError<ApiError>> for ApiError {
    fn from(e: sea_orm::TransactionError<ApiError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(api) => api,
        }
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut out = Vec::new();
        for (field, errs) in errors.field_errors() {
            for e in errs {
                // A rule on a list or map names the item: `skills[1]`, `certificates.x`,
                // `roles[0].count`.
                let part = e.params.get("part").and_then(|p| p.as_str());
                let field = match (e.params.get("index"), e.params.get("key")) {
                    (Some(i), _) if part.is_some() => {
                        format!("{field}[{i}].{}", part.unwrap_or_default())
                    }
                    (Some(i), _) => format!("{field}[{i}]"),
                    (None, Some(serde_json::Value::String(k))) => format!("{field}.{k}"),
                    _ => field.to_string(),
                };
                out.push(FieldError::new(field, validation_text(e)));
            }
        }
        out.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::Invalid(out)
    }
}

/// A `validator` error as a text of the phrasebook: its code names the
/// phrase (the rules in `wire` set it; `length` and `range` are validator's
/// own) and its parameters fill it. The value itself is never echoed.
pub fn validation_text(e: &validator::ValidationError) -> Text {
    let has = |k: &str| e.params.contains_key(k);
    let phrase = match e.code.as_ref() {
        "length" => match (has("min"), has("max")) {
            (true, true) => &p::LENGTH,
            (true, false) => &p::LENGTH_MIN,
            (false, true) => &p::LENGTH_MAX,
            _ => &p::LENGTH_ANY,
        },
        "range" => match (has("min"), has("max")) {
            (true, true) => &p::RANGE,
            (true, false) => &p::RANGE_MIN,
            (false, true) => &p::RANGE_MAX,
            _ => &p::RANGE_ANY,
        },
        code => zhongdui_domain::text::phrase(code).unwrap_or(&p::INVALID),
    };
    let mut text = Text::from(phrase);
    for (k, v) in &e.params {
        if matches!(k.as_ref(), "value" | "index" | "key" | "part") {
            continue;
        }
        text = text.with(k.clone(), json_arg(v));
    }
    text
}

/// A parameter kept as JSON (validator's, a ledger row's) as a text's
/// argument: whole numbers as numbers (validator writes a float rule's
/// bounds as `90.0`), strings as they are.
pub fn json_arg(v: &serde_json::Value) -> Arg {
    match v {
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Arg::Int(i),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Arg::Int(f as i64),
            _ => Arg::Plain(n.to_string()),
        },
        serde_json::Value::String(s) => Arg::Plain(s.clone()),
        other => Arg::Plain(other.to_string()),
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
