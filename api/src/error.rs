//! The one error type of the api. It knows its HTTP status and renders
//! RFC 9457 problem+json. A 500 shows the caller nothing internal; the whole
//! cause chain goes to the log.
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
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
