//! The one error type of the api. It knows its HTTP status and renders
//! RFC 9457 problem+json. A 500 shows the caller nothing internal; the whole
//! cause chain goes to the log.
use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;
use zhongdui_domain::DomainError;

/// One problem with one input field.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FieldError {
    /// The field, as a path into the request (`lat`, `skills[2]`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
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
    /// What happened, for a person.
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
        message: String,
    },
    /// Well-formed but invalid values.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// No or bad credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// Authenticated but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such thing (or not visible to the caller).
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// Conflicts with the current state (duplicate, illegal transition, lost race).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A conflict caused by one input field (a phone already taken).
    #[error("conflict on {field}: {message}")]
    ConflictOn {
        /// The field.
        field: String,
        /// Why.
        message: String,
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
    Unavailable(&'static str),
    /// Anything else: a bug or an outage. Logged in full, shown as a bare 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// A conflict about one field.
    pub fn conflict_on(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::ConflictOn {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A forbidden action, with the reason.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        ApiError::Forbidden(reason.into())
    }

    fn problem(&self) -> Problem {
        let status = self.status_code();
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        let kind = |k: &str| format!("https://zhongdui.invalid/problems/{k}");
        let mut p = Problem {
            kind: kind("about:blank"),
            title,
            status: status.as_u16(),
            detail: None,
            field: None,
            errors: Vec::new(),
            order_id: None,
        };
        match self {
            ApiError::BadRequest { field, message } => {
                p.kind = kind("malformed-request");
                p.detail = Some(message.clone());
                p.field = field.clone();
                if let Some(f) = field {
                    p.errors.push(FieldError {
                        field: f.clone(),
                        message: message.clone(),
                    });
                }
            }
            ApiError::Invalid(errors) => {
                p.kind = kind("validation");
                p.detail = Some(
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
                p.field = errors.first().map(|e| e.field.clone());
                p.errors = errors.clone();
            }
            ApiError::Unauthorized(why) => {
                p.kind = kind("unauthorized");
                p.detail = Some((*why).to_owned());
            }
            ApiError::Forbidden(why) => {
                p.kind = kind("forbidden");
                p.detail = Some(why.clone());
            }
            ApiError::NotFound(what) => {
                p.kind = kind("not-found");
                p.detail = Some(format!("{what} not found"));
            }
            ApiError::Conflict(why) => {
                p.kind = kind("conflict");
                p.detail = Some(why.clone());
            }
            ApiError::ConflictOn { field, message } => {
                p.kind = kind("conflict");
                p.detail = Some(format!("{field}: {message}"));
                p.field = Some(field.clone());
                p.errors.push(FieldError {
                    field: field.clone(),
                    message: message.clone(),
                });
            }
            ApiError::Duplicate { order_id, code } => {
                p.kind = kind("duplicate");
                p.detail = Some(format!(
                    "you placed the same request a moment ago: order {code} (GET /api/v1/orders/{order_id})"
                ));
                p.order_id = Some(order_id.clone());
            }
            ApiError::MethodNotAllowed => {
                p.kind = kind("method-not-allowed");
                p.detail = Some("this route does not answer this method".to_owned());
            }
            ApiError::RequestTimeout => {
                p.kind = kind("request-timeout");
                p.detail = Some("the request body did not arrive in time".to_owned());
            }
            ApiError::TooLarge { limit: 0 } => {
                p.kind = kind("payload-too-large");
                p.detail = Some("the request body is too large".to_owned());
            }
            ApiError::TooLarge { limit } => {
                p.kind = kind("payload-too-large");
                p.detail = Some(format!("the request body is larger than {limit} bytes"));
            }
            ApiError::UnsupportedMediaType(expected) => {
                p.kind = kind("unsupported-media-type");
                p.detail = Some(format!("expected {expected}"));
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                p.kind = kind("rate-limited");
                p.detail = Some(format!("too many attempts, retry in {retry_after_secs}s"));
            }
            ApiError::Unavailable(what) => {
                p.kind = kind("unavailable");
                p.detail = Some((*what).to_owned());
            }
            ApiError::Internal(_) => {
                p.kind = kind("internal");
                p.detail = Some("something went wrong on our side; it has been logged".to_owned());
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
                let message = e
                    .message
                    .as_ref()
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| describe_validation(e));
                // A rule on a list or map names the item: `skills[1]`, `certificates.x`.
                let field = match (e.params.get("index"), e.params.get("key")) {
                    (Some(i), _) => format!("{field}[{i}]"),
                    (None, Some(serde_json::Value::String(k))) => format!("{field}.{k}"),
                    _ => field.to_string(),
                };
                out.push(FieldError { field, message });
            }
        }
        out.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::Invalid(out)
    }
}

fn describe_validation(e: &validator::ValidationError) -> String {
    let p = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("length must be between {min} and {max}"),
            (Some(min), None) => format!("length must be at least {min}"),
            (None, Some(max)) => format!("length must be at most {max}"),
            _ => "invalid length".to_owned(),
        },
        "range" => match (p("min"), p("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            _ => "out of range".to_owned(),
        },
        code => format!("invalid ({code})"),
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body, read with a size limit and deserialised so that a type error
/// names the field it happened at (`serde_path_to_error`).
pub struct Json<T>(pub T);

/// The JSON body size limit, registered as app data.
#[derive(Clone, Copy)]
pub struct JsonLimit(pub usize);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let limit = req
            .app_data::<JsonLimit>()
            .map(|l| l.0)
            .unwrap_or(64 * 1024);
        let content_type_ok = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.starts_with("application/json") || ct.contains("+json"))
            .unwrap_or(false);
        let length = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let deadline = crate::http_guard::BodyDeadline::of(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType("application/json"));
            }
            if length.is_some_and(|n| n > limit) {
                return Err(ApiError::TooLarge { limit });
            }
            let bytes = tokio::time::timeout(deadline, body)
                .await
                .map_err(|_| ApiError::RequestTimeout)?
                .map_err(|_| ApiError::TooLarge { limit })?;
            if bytes.len() > limit {
                return Err(ApiError::TooLarge { limit });
            }
            parse_json(&bytes).map(Json)
        })
    }
}

/// Deserialises `bytes`, turning serde's complaint into a field-naming 400.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        // "missing field `phone` at line 1 column 2" names its field itself.
        let field = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(|f| {
                if path == "." {
                    f.to_owned()
                } else {
                    format!("{path}.{f}")
                }
            })
            .or_else(|| (path != ".").then_some(path));
        let message = match message.rsplit_once(" at line ") {
            Some((head, _)) => head.to_owned(),
            None => message,
        };
        ApiError::BadRequest { field, message }
    })
}

/// A query string, deserialised so that a bad value names its parameter.
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Deserialises a query string, naming the offending parameter.
pub fn parse_query<T: DeserializeOwned>(qs: &str) -> ApiResult<T> {
    let de = serde_urlencoded::Deserializer::new(url_decode(qs));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
            .or_else(|| (path != ".").then_some(path));
        match field {
            Some(f) => ApiError::invalid(f, message),
            None => ApiError::BadRequest {
                field: None,
                message,
            },
        }
    })
}

fn url_decode(qs: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(qs.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        phone: String,
        lat: f64,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"lat": 1}"#).unwrap_err();
        match e {
            ApiError::BadRequest { field, .. } => assert_eq!(field.as_deref(), Some("phone")),
            other => panic!("{other:?}"),
        }
        let e = parse_json::<Body>(br#"{"phone": "1", "lat": "north"}"#).unwrap_err();
        match e {
            ApiError::BadRequest { field, message } => {
                assert_eq!(field.as_deref(), Some("lat"));
                assert!(message.contains("invalid type"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<Body>(b"{not json").unwrap_err(),
            ApiError::BadRequest { .. }
        ));
    }
}
