//! Extractors for what a request carries, each naming the offending field
//! in its problem+json: a JSON body ([`Json`], with a size limit and the body
//! deadline), a body that has also passed its type's `validator` rules
//! ([`Valid`], rules in `wire`), and a query string ([`Query`]).
use std::future::Future;
use std::pin::Pin;
use zhongdui_domain::text::{Text, phrases as p};

use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use validator::Validate;

use crate::error::{ApiError, ApiResult};

/// How long a request body may take to arrive (app data; default 15 s).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub std::time::Duration);

impl BodyDeadline {
    /// The deadline registered for `req`'s app.
    pub fn of(req: &actix_web::HttpRequest) -> std::time::Duration {
        req.app_data::<BodyDeadline>()
            .map_or(std::time::Duration::from_secs(15), |d| d.0)
    }
}

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
        let deadline = BodyDeadline::of(req);
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
        ApiError::BadRequest {
            field,
            message: serde_text(&message),
        }
    })
}

/// What serde said, as a text: a missing field, a wrong type (with serde's
/// own description as the parameter) or another malformation.
fn serde_text(message: &str) -> Text {
    if message.starts_with("missing field") {
        Text::from(&p::FIELD_REQUIRED)
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        p::FIELD_TYPE.with("detail", rest)
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        p::FIELD_VALUE.with("detail", rest)
    } else if message.starts_with("unknown variant") {
        p::FIELD_VARIANT.with("detail", message)
    } else {
        p::MALFORMED.with("reason", message)
    }
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

/// Deserialises a query string, naming the offending parameter. No value
/// may hold NUL (PostgreSQL cannot compare text that holds it).
pub fn parse_query<T: DeserializeOwned>(qs: &str) -> ApiResult<T> {
    if let Some((k, _)) = url_decode(qs).find(|(_, v)| v.contains('\0')) {
        return Err(ApiError::invalid(k.into_owned(), &p::TEXT_NUL));
    }
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
            Some(f) => ApiError::invalid(f, serde_text(&message)),
            None => ApiError::bad_request(None, serde_text(&message)),
        }
    })
}

fn url_decode(qs: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(qs.as_bytes())
}

/// A JSON body that has passed its type's `Validate` rules.
pub struct Valid<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Valid<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = Json::<T>::from_request(req, payload);
        Box::pin(async move {
            let Json(v) = body.await?;
            v.validate()?;
            Ok(Valid(v))
        })
    }
}

/// A CSV upload (`text/csv`, `text/plain` or `application/csv`) of at most
/// `limit` bytes, read within the body deadline.
pub async fn csv_body(
    req: &HttpRequest,
    body: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(ct.starts_with("text/csv")
        || ct.starts_with("text/plain")
        || ct.starts_with("application/csv"))
    {
        return Err(ApiError::UnsupportedMediaType("text/csv"));
    }
    tokio::time::timeout(BodyDeadline::of(req), body.to_bytes_limited(limit))
        .await
        .map_err(|_| ApiError::RequestTimeout)?
        .map_err(|_| ApiError::TooLarge { limit })?
        .map_err(|e| ApiError::bad_request(None, p::MALFORMED_UPLOAD.with("reason", e.to_string())))
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
                assert_eq!(message.code(), "field.type");
                assert!(message.to_string().contains("expected f64"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<Body>(b"{not json").unwrap_err(),
            ApiError::BadRequest { .. }
        ));
    }
}
