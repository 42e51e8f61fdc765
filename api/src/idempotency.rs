//! Replay-safe actions: a volunteer's phone that lost its answer sends the
//! same request again with the same `Idempotency-Key`, and it acts once.
//! On the routes that honour it (accept, decline, grab, arrive, complete,
//! withdraw, a thread message, `PUT /me/location`) the key is taken per
//! user, with the fingerprint of the method, path and body:
//! - the same key and request again: the first answer again (status, body),
//!   marked `Idempotent-Replayed: true`, and nothing is done twice;
//! - the same key with another request: 422 naming `Idempotency-Key`;
//! - the same key while the first is still running: 409, retry shortly.
//!
//! Keys live in the database, so a replay that reaches another process is
//! answered the same; the first insert of a key decides a race. Answers
//! that a retry should not repeat — 401, 403, 408, 429 and 5xx — are not
//! kept, so the retry runs. Keys are kept `idempotency.ttl_hours` (the
//! retention job, `services::privacy`, deletes older ones).
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;

use crate::entities::idempotency_key;
use crate::error::ApiError;
use crate::state::AppState;

/// The request header.
pub const HEADER: &str = "Idempotency-Key";

/// Whether `method path` honours the header.
fn honoured(method: &Method, path: &str) -> bool {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let task = ["grab", "arrive", "complete", "withdraw", "messages"];
    match (method.as_str(), parts.as_slice()) {
        ("PUT", ["", "api", "v1", "me", "location"]) => true,
        ("POST", ["", "api", "v1", "offers", _, "accept" | "decline"]) => true,
        ("POST", ["", "api", "v1", "orders", _, action]) => task.contains(action),
        _ => false,
    }
}

/// A key as sent: 1–255 visible ASCII characters.
fn check_key(raw: &header::HeaderValue) -> Result<String, ApiError> {
    let bad = || ApiError::invalid(HEADER, &p::MUST_1_255_VISIBLE_ASCII);
    let key = raw.to_str().map_err(|_| bad())?;
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(bad());
    }
    Ok(key.to_owned())
}

/// Whether an answer is kept for replays.
fn kept(status: StatusCode) -> bool {
    let refused_for_now = [
        StatusCode::UNAUTHORIZED,
        StatusCode::FORBIDDEN,
        StatusCode::REQUEST_TIMEOUT,
        StatusCode::TOO_MANY_REQUESTS,
    ];
    (status.is_success() || status.is_client_error()) && !refused_for_now.contains(&status)
}

fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    format!("{:x}", h.finalize())
}

/// What the stored row says about a request with its key.
enum Seen {
    /// Nobody used the key (or its row is gone): this request takes it.
    Taken,
    /// The first request's answer.
    Answered(idempotency_key::Model),
    /// Another request with the key is running.
    Running,
    /// The key was used for another request.
    Other,
}

/// Takes `key` for `user`'s request with `print`, or says why not. A row
/// past the keeping period, or left unanswered by a process that died,
/// counts as free.
async fn take(
    state: &AppState,
    user: Uuid,
    key: &str,
    print: &str,
    now: DateTime<Utc>,
) -> Result<Seen, ApiError> {
    let s = &state.settings.idempotency;
    for _ in 0..2 {
        let fresh = idempotency_key::ActiveModel {
            user_id: Set(user),
            key: Set(key.to_owned()),
            fingerprint: Set(print.to_owned()),
            status: Set(None),
            content_type: Set(None),
            body: Set(None),
            created_at: Set(now),
        };
        let inserted = idempotency_key::Entity::insert(fresh)
            .on_conflict(
                OnConflict::columns([
                    idempotency_key::Column::UserId,
                    idempotency_key::Column::Key,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&state.db)
            .await?;
        if inserted == 1 {
            return Ok(Seen::Taken);
        }
        let Some(row) = idempotency_key::Entity::find_by_id((user, key.to_owned()))
            .one(&state.db)
            .await?
        else {
            continue;
        };
        let age = now - row.created_at;
        let stale = age > Duration::hours(s.ttl_hours)
            || (row.status.is_none() && age > Duration::seconds(s.pending_secs));
        if stale {
            forget(state, user, key, Some(row.created_at)).await?;
            continue;
        }
        return Ok(if row.fingerprint != print {
            Seen::Other
        } else if row.status.is_some() {
            Seen::Answered(row)
        } else {
            Seen::Running
        });
    }
    Ok(Seen::Running)
}

/// Deletes `user`'s `key` (only the row created at `at`, when given).
async fn forget(
    state: &AppState,
    user: Uuid,
    key: &str,
    at: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let mut q = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::UserId.eq(user))
        .filter(idempotency_key::Column::Key.eq(key));
    if let Some(at) = at {
        q = q.filter(idempotency_key::Column::CreatedAt.eq(at));
    }
    q.exec(&state.db).await?;
    Ok(())
}

/// The first answer again.
fn replay(row: idempotency_key::Model) -> HttpResponse {
    let status = row
        .status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    res.insert_header(("Idempotent-Replayed", "true"));
    if let Some(ct) = row.content_type {
        res.insert_header((header::CONTENT_TYPE, ct));
    }
    res.body(row.body.unwrap_or_default())
}

/// The middleware (see the module's head).
pub async fn replay_safe(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let raw = req.headers().get(HEADER).cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(raw), Some(state)) = (raw, state) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if !honoured(req.method(), req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = match check_key(&raw) {
        Ok(k) => k,
        Err(e) => return Ok(req.into_response(e.error_response())),
    };
    // Without a valid token the handler answers 401; nothing is kept.
    let user = crate::auth::token_subject(req.request(), &state).and_then(|s| s.parse().ok());
    let Some(user) = user else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = req.extract::<web::Bytes>().await?;
    let print = fingerprint(req.method(), req.path(), &body);
    let again = body.clone();
    req.set_payload(actix_web::dev::Payload::Stream {
        payload: Box::pin(futures_util::stream::once(async move { Ok(again) })),
    });
    let now = state.clock.now();
    let answer = |e: ApiError| e.error_response();
    match take(&state, user, &key, &print, now).await {
        Ok(Seen::Taken) => {}
        Ok(Seen::Answered(row)) => return Ok(req.into_response(replay(row))),
        Ok(Seen::Running) => {
            let busy = ApiError::conflict(&p::REQUEST_IDEMPOTENCY_KEY_STILL_BEING);
            return Ok(req.into_response(answer(busy)));
        }
        Ok(Seen::Other) => {
            let other = ApiError::invalid(HEADER, &p::KEY_WAS_USED_ANOTHER_REQUEST);
            return Ok(req.into_response(answer(other)));
        }
        Err(e) => return Ok(req.into_response(answer(e))),
    }
    let res = next.call(req).await;
    let res = match res {
        Ok(r) => r,
        Err(e) => {
            let _ = forget(&state, user, &key, Some(now)).await;
            return Err(e);
        }
    };
    let status = res.status();
    if !kept(status) {
        forget(&state, user, &key, Some(now)).await.ok();
        return Ok(res.map_into_boxed_body());
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    let stored = idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Status,
            sea_orm::sea_query::Expr::value(i32::from(status.as_u16())),
        )
        .col_expr(
            idempotency_key::Column::ContentType,
            sea_orm::sea_query::Expr::value(content_type),
        )
        .col_expr(
            idempotency_key::Column::Body,
            sea_orm::sea_query::Expr::value(String::from_utf8_lossy(&bytes).into_owned()),
        )
        .filter(idempotency_key::Column::UserId.eq(user))
        .filter(idempotency_key::Column::Key.eq(key.as_str()))
        .filter(idempotency_key::Column::CreatedAt.eq(now))
        .exec(&state.db)
        .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "an idempotent answer was not kept; a replay will run again");
    }
    Ok(ServiceResponse::new(req, head.set_body(bytes)).map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listed_routes_only() {
        let id = "0190b5e0-0000-7000-8000-000000000000";
        for (m, p) in [
            (Method::PUT, "/api/v1/me/location".to_owned()),
            (Method::POST, format!("/api/v1/offers/{id}/accept")),
            (Method::POST, format!("/api/v1/offers/{id}/decline")),
            (Method::POST, format!("/api/v1/orders/{id}/grab")),
            (Method::POST, format!("/api/v1/orders/{id}/arrive")),
            (Method::POST, format!("/api/v1/orders/{id}/complete")),
            (Method::POST, format!("/api/v1/orders/{id}/withdraw")),
            (Method::POST, format!("/api/v1/orders/{id}/messages")),
        ] {
            assert!(honoured(&m, &p), "{m} {p}");
        }
        assert!(!honoured(&Method::POST, "/api/v1/orders"));
        assert!(!honoured(&Method::GET, "/api/v1/me/location"));
        assert!(!honoured(
            &Method::POST,
            &format!("/api/v1/orders/{id}/cancel")
        ));
    }

    #[test]
    fn keys_and_answers() {
        let ok = header::HeaderValue::from_static("3f0e-offline-7");
        assert_eq!(check_key(&ok).unwrap(), "3f0e-offline-7");
        for bad in ["", "has space", &"k".repeat(256)] {
            let v = header::HeaderValue::from_str(bad).unwrap();
            assert!(check_key(&v).is_err(), "{bad:?}");
        }
        assert!(kept(StatusCode::OK) && kept(StatusCode::CONFLICT) && kept(StatusCode::NOT_FOUND));
        assert!(!kept(StatusCode::TOO_MANY_REQUESTS) && !kept(StatusCode::UNAUTHORIZED));
        assert!(!kept(StatusCode::INTERNAL_SERVER_ERROR) && !kept(StatusCode::SERVICE_UNAVAILABLE));
        let a = fingerprint(&Method::PUT, "/a", b"{}");
        assert_ne!(a, fingerprint(&Method::PUT, "/b", b"{}"));
        assert_ne!(a, fingerprint(&Method::PUT, "/a", b"{ }"));
    }
}
