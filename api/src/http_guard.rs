//! What every HTTP response and log line gets, whatever the route: request
//! logs with secrets and phone numbers taken out of the URL, security
//! headers on pages (CSP, HSTS when served over TLS), problem+json for
//! errors the framework makes itself (405, 404 of a path extractor…), and
//! a deadline for request bodies that trickle in.
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::{Error, ResponseError, web};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use zhongdui_domain::text::phrases as p;

use crate::error::ApiError;
use crate::state::AppState;

/// `path?query` with the value of every `token` parameter replaced and
/// mobile numbers masked (`137****0001`), for logs.
pub fn redact_target(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut out = mask_phones(path);
    if let Some(q) = query {
        out.push('?');
        let parts: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("token") => format!("{k}=REDACTED"),
                _ => mask_phones(pair),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out
}

/// Masks every run of exactly 11 digits starting with 1 (a mainland mobile).
pub fn mask_phones(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let run = &text[start..i];
            if run.len() == 11 && run.starts_with('1') {
                out.push_str(&run[..3]);
                out.push_str("****");
                out.push_str(&run[7..]);
            } else {
                out.push_str(run);
            }
        } else {
            let c = text[i..].chars().next().unwrap_or('?');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The request span, like tracing-actix-web's default but with the target redacted.
pub struct RedactedSpan;

impl RootSpanBuilder for RedactedSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let target = redact_target(
            request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or(""),
        );
        let route = request.match_pattern().unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %target,
            http.client_ip = %request.connection_info().realip_remote_addr().unwrap_or(""),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Content-Security-Policy for the pages: scripts only from this origin (no
/// inline script), map tiles from the configured tile server, sockets back
/// to this origin, never framed.
fn content_security_policy(tile_url: &str) -> String {
    let tiles = tile_origin(tile_url);
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:{tiles}; connect-src 'self' ws: wss:; font-src 'self' data:; \
         frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
    )
}

/// ` https://tile.example.org` for a tile URL template, or nothing.
fn tile_origin(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let host = rest.split('/').next().unwrap_or("");
    let host: String = host
        .chars()
        .map(|c| if c == '{' || c == '}' { '*' } else { c })
        .filter(|c| !c.is_whitespace() && *c != ';' && *c != '\'')
        .collect();
    // `{s}.tile…` becomes `*s*.tile…`; CSP wants `*.tile…`.
    let host = match host.split_once('.') {
        Some((first, tail)) if first.contains('*') => format!("*.{tail}"),
        _ => host,
    };
    if host.is_empty() {
        String::new()
    } else {
        format!(" {scheme}://{host}")
    }
}

/// Adds the page security headers (and HSTS when configured).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let mut res = next.call(req).await?;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if let Some(state) = state {
        if html
            && let Ok(v) =
                HeaderValue::from_str(&content_security_policy(&state.settings.web.tiles().url))
        {
            res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
        if state.settings.http.https {
            res.headers_mut().insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
    }
    Ok(res)
}

/// Turns error responses that are not problem+json (the framework's own:
/// 405, a path that does not parse, …) into problem+json.
pub fn problem_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let is_problem = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/problem+json"));
        // A route that exists with other methods: 405 with Allow (RFC 9110),
        // whether the framework said 404 or 405.
        let status = res.status();
        if matches!(
            status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) && let Some(allow) = allowed_methods(res.request().path())
            && !allow.iter().any(|m| m == res.request().method().as_str())
        {
            let (req, _) = res.into_parts();
            let mut body: actix_web::HttpResponse<BoxBody> =
                ApiError::MethodNotAllowed.error_response();
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                body.headers_mut().insert(header::ALLOW, v);
            }
            let res = ServiceResponse::new(req, body).map_into_right_body();
            return Ok(ErrorHandlerResponse::Response(res));
        }
        // WebSocket upgrades and the like are not errors.
        if is_problem || status.as_u16() < 400 {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let error = framework_error(status);
        let (req, _) = res.into_parts();
        let body: actix_web::HttpResponse<BoxBody> = error.error_response();
        let res = ServiceResponse::new(req, body).map_into_right_body();
        Ok(ErrorHandlerResponse::Response(res))
    })
}

/// The methods the API document lists for `path` (its templates' `{…}`
/// segments match any one segment), or None when no route has this path.
fn allowed_methods(path: &str) -> Option<Vec<String>> {
    static ROUTES: std::sync::OnceLock<Vec<(Vec<String>, Vec<String>)>> =
        std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        use utoipa::OpenApi;
        crate::routes::docs::ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template.split('/').map(str::to_owned).collect();
                let mut methods = Vec::new();
                for (name, op) in [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ] {
                    if op {
                        methods.push(name.to_owned());
                    }
                }
                if item.get.is_some() {
                    methods.push("HEAD".to_owned());
                }
                (segments, methods)
            })
            .collect()
    });
    let parts: Vec<&str> = path.split('/').collect();
    routes
        .iter()
        .find(|(t, _)| {
            t.len() == parts.len()
                && t.iter()
                    .zip(&parts)
                    .all(|(a, b)| (a.starts_with('{') && !b.is_empty()) || a == b)
        })
        .map(|(_, m)| m.clone())
}

fn framework_error(status: StatusCode) -> ApiError {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::NOT_FOUND => ApiError::NotFound(&p::NOUN_ROUTE),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit: 0 },
        StatusCode::REQUEST_TIMEOUT => ApiError::RequestTimeout,
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized(&p::BEARER_TOKEN_REQUIRED),
        s if s.is_server_error() => ApiError::Internal(anyhow::anyhow!("framework error {s}")),
        s => ApiError::bad_request(
            None,
            p::MALFORMED_STATUS.with("status", s.canonical_reason().unwrap_or("bad request")),
        ),
    }
}

/// The body type the error handler answers with.
pub type Guarded<B> = EitherBody<B, BoxBody>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_phones_leave_logged_urls() {
        assert_eq!(
            redact_target("/api/v1/ws?token=eyJhbGciOi.x.y&last_event_id=3"),
            "/api/v1/ws?token=REDACTED&last_event_id=3"
        );
        assert_eq!(
            redact_target("/api/v1/volunteers?q=13700000001&TOKEN=abc"),
            "/api/v1/volunteers?q=137****0001&TOKEN=REDACTED"
        );
        assert_eq!(
            redact_target("/api/v1/orders?page=2"),
            "/api/v1/orders?page=2"
        );
        assert_eq!(
            mask_phones("id 123456789012 and 13800000000."),
            "id 123456789012 and 138****0000."
        );
    }

    #[test]
    fn csp_names_each_presets_tile_servers() {
        for (url, host) in [
            (
                "https://t{s}.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}",
                "https://*.tianditu.gov.cn;",
            ),
            (
                "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}",
                "https://*.is.autonavi.com;",
            ),
            (
                "https://rt{s}.map.gtimg.com/tile?z={z}",
                "https://*.map.gtimg.com;",
            ),
        ] {
            let csp = content_security_policy(url);
            assert!(
                csp.contains(&format!("img-src 'self' data: blob: {host}")),
                "{csp}"
            );
        }
    }

    #[test]
    fn csp_names_the_tile_server() {
        let csp = content_security_policy("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png");
        assert!(
            csp.contains("img-src 'self' data: blob: https://*.tile.openstreetmap.org;"),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self';"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }
}
