//! The WebSocket gateway, `/api/v1/ws`. Authenticated by bearer token (or
//! `?token=` from browsers). Volunteers get their own channel (offers,
//! withdrawals, assignment changes); residents their orders' channels (status,
//! the volunteers' progress); coordinators and admins the ops feed. Every
//! message carries the outbox `id` when it has one; a client that reconnects
//! with `?last_event_id=N` first receives what it missed. Heartbeats every
//! 15 s; a client silent for 45 s, or too slow to keep up, is disconnected.
use std::collections::HashMap;
use std::time::{Duration, Instant};
use zhongdui_domain::text::phrases as p;

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::AggregatedMessage;
use futures_util::StreamExt;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::{GeoPoint, Role};

use crate::auth::AuthUser;
use crate::bus::BusMessage;
use crate::entities::{order, outbox};
use crate::error::{ApiError, ApiResult};
use crate::hub::Listen;
use crate::messages::Reply;
use crate::services::orders::Channels;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws", web::get().to(connect));
}

/// Connection parameters.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// Resume after this event id.
    pub last_event_id: Option<i64>,
    /// The language the session's error replies are written in (`zh-CN`,
    /// `en`; default: the upgrade request's `Accept-Language`). Browsers
    /// cannot set headers on a WebSocket, so the page names its language.
    pub lang: Option<String>,
}

/// Who a session serves, and so what it listens to.
struct Scope {
    user: AuthUser,
}

impl Scope {
    /// The hub keys: a volunteer's own channel, the ops feed for staff, and
    /// for a resident the channels of their orders (routed by the
    /// `resident_id` the pushes carry, so new orders need no re-subscription).
    fn listens(&self, ch: Channels<'_>) -> Vec<Listen> {
        match self.user.role {
            Role::Volunteer => vec![Listen::Channel(ch.volunteer(self.user.id.as_uuid()))],
            Role::Coordinator | Role::Admin => vec![Listen::Channel(ch.ops())],
            Role::Resident => vec![Listen::Resident(self.user.id.as_uuid())],
        }
    }
}

fn frame(msg: &BusMessage) -> String {
    let mut data = msg.data.clone();
    if let (Some(obj), Some(id)) = (data.as_object_mut(), msg.id) {
        obj.insert("id".to_owned(), json!(id));
    }
    data.to_string()
}

/// Upgrades to a WebSocket.
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<HttpResponse> {
    // `token` (browsers) is read by the AuthUser extractor; unknown parameters are ignored here.
    let query = crate::extract::parse_query::<WsQuery>(req.query_string())?;
    let (response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::bad_request(None, p::MALFORMED.with("reason", e.to_string())))?;
    let state = state.get_ref().clone();
    // The session answers in the language its upgrade request asked for.
    let lang = match query.lang.as_deref() {
        Some(tag) => crate::lang::Lang::from_accept_language(tag),
        None => crate::lang::current(),
    };
    actix_web::rt::spawn(crate::lang::scope(
        lang,
        run_session(state, user, query.last_event_id, session, stream),
    ));
    Ok(response)
}

async fn replay(state: &AppState, scope: &Scope, after: i64) -> ApiResult<Vec<BusMessage>> {
    let mut channels = Vec::new();
    for key in scope.listens(state.channels()) {
        match key {
            Listen::Channel(c) => channels.push(c),
            // A resident's channels are those of their recent orders.
            Listen::Resident(resident) => {
                let recent: Vec<Uuid> = order::Entity::find()
                    .select_only()
                    .column(order::Column::Id)
                    .filter(order::Column::ResidentId.eq(resident))
                    .order_by_desc(order::Column::CreatedAt)
                    .limit(100)
                    .into_tuple()
                    .all(&state.db)
                    .await?;
                let ch = state.channels();
                channels.extend(recent.into_iter().map(|o| ch.order(o)));
            }
        }
    }
    if channels.is_empty() {
        return Ok(Vec::new());
    }
    // Published rows after `after`, in publication order; rows not yet
    // published arrive live (the session subscribed before replaying).
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Seq.gt(after))
        .filter(outbox::Column::Channel.is_in(channels))
        .order_by_asc(outbox::Column::Seq)
        .limit(1000)
        .all(&state.db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| BusMessage {
            id: r.seq,
            channel: r.channel,
            data: serde_json::from_str(&r.payload).unwrap_or_default(),
            origin: state.bus.origin,
        })
        .collect())
}

async fn run_session(
    state: AppState,
    user: AuthUser,
    last_event_id: Option<i64>,
    mut session: actix_ws::Session,
    stream: actix_ws::MessageStream,
) {
    let mut stream = stream.max_frame_size(16 * 1024).aggregate_continuations();
    let scope = Scope { user };
    // Closed when the account is disabled, its tokens revoked or its role changed.
    let registration = state.sessions.register(
        scope.user.id.as_uuid(),
        scope.user.token_version,
        scope.user.role.code(),
    );
    // Subscribe before replaying, so nothing falls between the two.
    let mut rx = state.hub.subscribe(scope.listens(state.channels()));
    metrics::gauge!("ws_sessions").increment(1.0);
    let mut last_sent = last_event_id.unwrap_or(0);
    let hello = Reply::Hello {
        user_id: scope.user.id.as_uuid(),
        role: scope.user.role.code(),
        resumed_from: last_event_id,
    };
    if session.text(hello.to_text()).await.is_err() {
        return;
    }
    if let Some(after) = last_event_id {
        match replay(&state, &scope, after).await {
            Ok(missed) => {
                for m in missed {
                    last_sent = last_sent.max(m.id.unwrap_or(0));
                    if session.text(frame(&m)).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "resume failed"),
        }
    }
    let mut heartbeat = tokio::time::interval(Duration::from_secs(15));
    let mut last_heard = Instant::now();
    let mut positions: HashMap<Uuid, Instant> = HashMap::new();
    let mut shutdown = state.shutdown.subscribe();
    let reason = loop {
        tokio::select! {
            _ = shutdown.changed() => break "server shutting down",
            () = registration.revoked.notified() => break "session revoked",
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > Duration::from_secs(45) {
                    break "heartbeat timeout";
                }
                if session.ping(b"zd").await.is_err() {
                    break "closed";
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(AggregatedMessage::Ping(p))) => {
                    last_heard = Instant::now();
                    if session.pong(&p).await.is_err() { break "closed"; }
                }
                Some(Ok(AggregatedMessage::Pong(_))) => last_heard = Instant::now(),
                Some(Ok(AggregatedMessage::Text(t))) => {
                    last_heard = Instant::now();
                    if let Some(reply) = handle_client_message(&state, &scope.user, &t).await
                        && session.text(reply.to_text()).await.is_err()
                    {
                        break "closed";
                    }
                }
                Some(Ok(AggregatedMessage::Binary(_))) => last_heard = Instant::now(),
                Some(Ok(AggregatedMessage::Close(_))) | None => break "client closed",
                Some(Err(_)) => break "protocol error",
            },
            msg = rx.recv() => match msg {
                Some(m) => {
                    // Event ids increase in publication order: a lower one
                    // was already sent (by the replay, or a second publication).
                    if m.id.is_some_and(|id| id <= last_sent) {
                        continue;
                    }
                    if m.data["type"] == "volunteer_position" && scope.user.role.is_staff() {
                        // The ops feed gets positions at most every 10 s per volunteer.
                        let vid = m.data["volunteer_id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
                        let now = Instant::now();
                        if positions.get(&vid).is_some_and(|t| now.duration_since(*t) < Duration::from_secs(10)) {
                            continue;
                        }
                        positions.insert(vid, now);
                    }
                    if let Some(id) = m.id {
                        last_sent = id;
                    }
                    if session.text(frame(&m)).await.is_err() {
                        break "closed";
                    }
                }
                None => break "too slow: reconnect with last_event_id",
            }
        }
    };
    metrics::gauge!("ws_sessions").decrement(1.0);
    drop(registration);
    let code = if reason == "session revoked" {
        actix_ws::CloseCode::Policy
    } else {
        actix_ws::CloseCode::Normal
    };
    let _ = session
        .close(Some(actix_ws::CloseReason {
            code,
            description: Some(reason.to_owned()),
        }))
        .await;
}

#[derive(Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    lat: Option<f64>,
    lon: Option<f64>,
}

async fn handle_client_message(state: &AppState, user: &AuthUser, text: &str) -> Option<Reply> {
    let Ok(msg) = serde_json::from_str::<ClientMessage>(text) else {
        return Some(Reply::error(&p::WS_UNREADABLE));
    };
    match (msg.kind.as_str(), msg.lat, msg.lon) {
        ("ping", _, _) => Some(Reply::Pong),
        ("location", Some(lat), Some(lon)) if user.role == Role::Volunteer => {
            let at = match GeoPoint::parse(lat, lon) {
                Ok(p) => p,
                Err(e) => {
                    return Some(Reply::field_error(Some(e.field), e.message));
                }
            };
            match crate::location::report(state, user.id.as_uuid(), at).await {
                Ok(true) => None,
                Ok(false) => Some(Reply::error(&p::WS_TOO_MANY_POSITIONS)),
                Err(e) => {
                    tracing::warn!(error = %e, "position report failed");
                    Some(Reply::error(&p::WS_POSITION_NOT_STORED))
                }
            }
        }
        _ => Some(Reply::error(&p::WS_UNKNOWN_TYPE)),
    }
}
