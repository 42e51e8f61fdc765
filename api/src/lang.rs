//! The language of the request being answered. A middleware reads
//! `Accept-Language` once and runs the rest of the request inside a
//! task-local scope, so that whatever writes for a person (problem+json,
//! field errors, reports) asks [`current`] instead of threading the
//! language through every call. Outside a request it is zh-CN.
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LANGUAGE, HeaderValue, VARY};
use actix_web::middleware::Next;
pub use zhongdui_domain::text::Lang;

tokio::task_local! {
    static LANG: Lang;
}

/// The language of the request being answered (zh-CN outside one).
pub fn current() -> Lang {
    LANG.try_with(|l| *l).unwrap_or_default()
}

/// Runs `f` as if answering in `lang` (tests, background work for a person).
pub async fn scope<F: std::future::Future>(lang: Lang, f: F) -> F::Output {
    LANG.scope(lang, f).await
}

/// The language a request asks for.
pub fn of_request(req: &actix_web::HttpRequest) -> Lang {
    req.headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

/// The middleware: the request's language for everything inside, and
/// `Content-Language` on problem+json answers.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let lang = of_request(req.request());
    let mut res = LANG.scope(lang, next.call(req)).await?;
    let headers = res.headers_mut();
    let is_problem = headers
        .get(actix_web::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        headers.insert(CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
        headers.append(VARY, HeaderValue::from_static("Accept-Language"));
    }
    Ok(res)
}
