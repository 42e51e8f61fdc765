//! Web Push: the server's VAPID public key (what a page subscribes with),
//! a volunteer's subscriptions, and the receipts the service worker sends
//! when it has shown a notification (so an urgent offer that was shown
//! needs no text message).
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use zhongdui_domain::Role;
use zhongdui_domain::text::phrases as p;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::Valid;
use crate::services::push_subscriptions::{self, Subscription};
use crate::state::AppState;
use crate::wire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/push/vapid-public-key", web::get().to(vapid_public_key))
        .route("/push/receipts", web::post().to(receipt))
        .service(
            web::resource("/me/push-subscriptions")
                .route(web::post().to(subscribe))
                .route(web::delete().to(unsubscribe)),
        );
}

/// The server's VAPID public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct VapidKeyOut {
    /// The uncompressed P-256 point, base64url without padding: the
    /// `applicationServerKey` of `PushManager.subscribe`.
    pub public_key: String,
}

/// The key pages subscribe to Web Push with (public: it is a public key).
#[utoipa::path(get, path = "/api/v1/push/vapid-public-key", tag = "volunteer",
    responses((status = 200, body = VapidKeyOut)))]
pub async fn vapid_public_key(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(VapidKeyOut {
        public_key: state.vapid.public_key.clone(),
    })
}

/// A subscription's keys (RFC 8291).
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct PushKeysIn {
    /// The browser's P-256 public key, base64url.
    #[validate(custom(function = "wire::p256dh"))]
    #[schema(schema_with = wire::p256dh_schema)]
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    #[validate(custom(function = "wire::push_auth"))]
    #[schema(schema_with = wire::push_auth_schema)]
    pub auth: String,
}

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct PushSubscriptionIn {
    /// The push service's URL for this browser.
    #[validate(custom(function = "wire::push_endpoint"))]
    #[schema(schema_with = wire::push_endpoint_schema)]
    pub endpoint: String,
    /// Its keys.
    #[validate(nested)]
    pub keys: PushKeysIn,
    /// The language its notifications are written in (default: the
    /// request's `Accept-Language`).
    #[schema(nullable = false)]
    pub lang: Option<Lang>,
}

/// A language notifications are written in.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum Lang {
    /// Chinese.
    #[serde(rename = "zh-CN")]
    Zh,
    /// English.
    #[serde(rename = "en")]
    En,
}

fn volunteer_only(user: &AuthUser) -> ApiResult<()> {
    if user.role == Role::Volunteer {
        Ok(())
    } else {
        Err(ApiError::forbidden(&p::ONLY_VOLUNTEERS_RECEIVE_OFFERS_PUSH))
    }
}

/// Subscribe this browser to offers by Web Push (volunteers): offers,
/// assignments, cancellations and team notices reach it while no page of
/// the volunteer's is open.
#[utoipa::path(post, path = "/api/v1/me/push-subscriptions", tag = "volunteer", security(("bearer" = [])), request_body = PushSubscriptionIn,
    responses((status = 201, description = "kept"), (status = 403, description = "not a volunteer"), (status = 422, description = "not a subscription")))]
pub async fn subscribe(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Valid<PushSubscriptionIn>,
) -> ApiResult<HttpResponse> {
    volunteer_only(&user)?;
    let body = body.0;
    if !state.settings.net.allow_private_targets && !body.endpoint.starts_with("https://") {
        return Err(ApiError::invalid("endpoint", &p::URL_HTTPS));
    }
    crate::push::Keys::parse(&body.keys.p256dh, &body.keys.auth).map_err(|field| {
        ApiError::invalid(
            field,
            if field == "keys.auth" {
                &p::PUSH_AUTH
            } else {
                &p::PUSH_P256DH
            },
        )
    })?;
    let lang = match body.lang {
        Some(Lang::En) => "en",
        Some(Lang::Zh) => "zh-CN",
        // The request's language, as `Accept-Language` weighs it.
        None => crate::lang::current().tag(),
    };
    let sub = Subscription {
        endpoint: body.endpoint,
        p256dh: body.keys.p256dh,
        auth: body.keys.auth,
        lang: lang.to_owned(),
    };
    push_subscriptions::subscribe(&state.db, user.id.as_uuid(), sub, state.clock.now()).await?;
    Ok(HttpResponse::Created().finish())
}

/// Which subscription to forget.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct PushEndpointIn {
    /// The endpoint it was subscribed with.
    #[validate(custom(function = "wire::push_endpoint"))]
    #[schema(schema_with = wire::push_endpoint_schema)]
    pub endpoint: String,
}

/// Unsubscribe this browser (volunteers; their own subscriptions only).
#[utoipa::path(delete, path = "/api/v1/me/push-subscriptions", tag = "volunteer", security(("bearer" = [])), request_body = PushEndpointIn,
    responses((status = 204, description = "forgotten"), (status = 403, description = "not a volunteer"), (status = 404, description = "no such subscription of yours")))]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Valid<PushEndpointIn>,
) -> ApiResult<HttpResponse> {
    volunteer_only(&user)?;
    if push_subscriptions::unsubscribe(&state.db, user.id.as_uuid(), &body.0.endpoint).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(&p::NOUN_PUSH_SUBSCRIPTION))
    }
}

/// A notification the service worker has shown.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ReceiptIn {
    /// The `receipt` its push carried.
    #[validate(length(min = 3, max = 100))]
    #[schema(min_length = 3, max_length = 100)]
    pub receipt: String,
}

/// The service worker showed a notification: its push carried this
/// receipt, which is all the proof this route needs (no token: the worker
/// has none). An urgent offer that was shown is not followed by a text.
#[utoipa::path(post, path = "/api/v1/push/receipts", tag = "volunteer", request_body = ReceiptIn,
    responses((status = 204, description = "noted"), (status = 404, description = "no such pushed notification")))]
pub async fn receipt(
    state: web::Data<AppState>,
    body: Valid<ReceiptIn>,
) -> ApiResult<HttpResponse> {
    if crate::notify::acknowledge(&state, &body.0.receipt).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(&p::NOUN_NOTIFICATION))
    }
}
