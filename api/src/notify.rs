//! The notifier: reaches volunteers the WebSocket does not. It follows the
//! outbox in publication order (`seq`, the numbers the relay gives), so
//! nothing is added to the transactions that make offers; every offer,
//! coordinator's assignment, cancellation and broadcast published to a
//! volunteer who holds no live socket on any process (`live_sessions`)
//! becomes a `notifications` row, in the same transaction that moves the
//! notifier's cursor past it, so each is taken once even if the process is
//! killed. Then, per row, the channels in order:
//!
//! 1. Web Push to each of the volunteer's subscriptions (`crate::push`),
//!    TTL the offer's remaining time, urgency `high` for offers and
//!    assignments; 404/410 deletes the subscription; 429, 5xx and no answer
//!    retry with backoff until the row expires.
//! 2. A text (`crate::sms`), when no subscription took it — for offers and
//!    assignments only, the things that need the volunteer to act — and,
//!    for urgent and critical offers, also when the push was not shown on
//!    the device (the service worker's receipt) within
//!    `sms.after_push_secs`. Texts are limited per volunteer per hour and
//!    every one is recorded.
//!
//! An offer answered, expired or withdrawn meanwhile is not sent (`moot`).
//! One process at a time notifies (the `notify` lease), like webhooks.
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use rand::RngCore;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;
use zhongdui_domain::{Category, GeoPoint};

use crate::entities::{
    assignment, cursor, notification, order, outbox, push_subscription, sms_message, user,
    volunteer,
};
use crate::error::ApiResult;
use crate::push::{Keys, Message, Outcome, Urgency};
use crate::state::AppState;

const LEASE: &str = "notify";
const CURSOR: &str = "notify";

/// The pushes that reach a volunteer who is not on the page.
const KINDS: [&str; 5] = [
    "offer",
    "assigned",
    "order_cancelled",
    "broadcast",
    "certificate_expiring",
];

/// Notifies until shutdown: a round every 250 ms while holding the lease.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let me = Uuid::now_v7().to_string();
    let timeout = state
        .settings
        .push
        .timeout_ms
        .max(state.settings.sms.timeout_ms)
        .max(1);
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for notifications");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => {}
        }
        let lease = state.settings.webhooks.lease_secs;
        match crate::outbound::take_lease(&state, LEASE, &me, lease).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "notify lease");
                continue;
            }
        }
        if let Err(e) = round(&state, &http).await {
            tracing::warn!(error = %e, "notify round failed");
        }
    }
}

/// One round: takes what the outbox published since the last, then sends
/// what is due. Returns how many rows it took or moved on.
pub async fn round(state: &AppState, http: &reqwest::Client) -> ApiResult<usize> {
    let taken = intake(state).await?;
    let moved = deliver(state, http).await?;
    Ok(taken + moved)
}

/// The volunteer a channel belongs to, if it is a volunteer's.
fn volunteer_of(state: &AppState, channel: &str) -> Option<Uuid> {
    let prefix = state.channels().key("volunteer:");
    channel.strip_prefix(&prefix)?.parse().ok()
}

/// Reads the outbox past the cursor and queues what must reach volunteers
/// with no live socket.
async fn intake(state: &AppState) -> ApiResult<usize> {
    let db = &state.db;
    let Some(at) = cursor::Entity::find_by_id(CURSOR.to_owned())
        .one(db)
        .await?
        .map(|c| c.position)
    else {
        // The first start: from what is published now on.
        let top: Option<Option<i64>> = outbox::Entity::find()
            .select_only()
            .column_as(outbox::Column::Seq.max(), "top")
            .into_tuple()
            .one(db)
            .await?;
        cursor::Entity::insert(cursor::ActiveModel {
            name: Set(CURSOR.to_owned()),
            position: Set(top.flatten().unwrap_or(0)),
        })
        .on_conflict(
            OnConflict::column(cursor::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        return Ok(0);
    };
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Seq.gt(at))
        .order_by_asc(outbox::Column::Seq)
        .limit(500)
        .all(db)
        .await?;
    let Some(last) = rows.last().and_then(|r| r.seq) else {
        return Ok(0);
    };
    let wanted: Vec<(Uuid, Value)> = rows
        .iter()
        .filter_map(|r| {
            let id = volunteer_of(state, &r.channel)?;
            let v: Value = serde_json::from_str(&r.payload).ok()?;
            KINDS.contains(&v.get("type")?.as_str()?).then_some((id, v))
        })
        .collect();
    let now = state.clock.now();
    let mut queued = Vec::new();
    if !wanted.is_empty() {
        let ids: Vec<Uuid> = wanted
            .iter()
            .map(|(id, _)| *id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let live = crate::sessions::live_among(db, ids.clone()).await?;
        let away: Vec<Uuid> = ids.into_iter().filter(|id| !live.contains(id)).collect();
        let subscribed: HashSet<Uuid> = if away.is_empty() {
            HashSet::new()
        } else {
            push_subscription::Entity::find()
                .select_only()
                .column(push_subscription::Column::UserId)
                .filter(push_subscription::Column::UserId.is_in(away.clone()))
                .into_tuple::<Uuid>()
                .all(db)
                .await?
                .into_iter()
                .collect()
        };
        let texting = crate::sms::enabled(&state.settings.sms);
        for (id, v) in wanted {
            let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
            let textable = texting && matches!(kind, "offer" | "assigned");
            if live.contains(&id) || !(subscribed.contains(&id) || textable) {
                continue;
            }
            queued.push(queue_row(state, id, v, now));
        }
    }
    let n = queued.len();
    let txn = db.begin().await?;
    for chunk in queued.chunks(200) {
        notification::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    let moved = cursor::Entity::update_many()
        .col_expr(cursor::Column::Position, Expr::value(last))
        .filter(cursor::Column::Name.eq(CURSOR))
        .filter(cursor::Column::Position.eq(at))
        .exec(&txn)
        .await?;
    if moved.rows_affected != 1 {
        // Another holder moved it first (a lease that lapsed mid-round).
        txn.rollback().await?;
        return Ok(0);
    }
    txn.commit().await?;
    Ok(n)
}

fn queue_row(
    state: &AppState,
    user_id: Uuid,
    v: Value,
    now: DateTime<Utc>,
) -> notification::ActiveModel {
    let id_of = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
    };
    let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
    let keep = now + chrono::Duration::hours(state.settings.push.keep_hours.max(1));
    let expires_at = match kind {
        "offer" => v
            .get("deadline")
            .and_then(Value::as_str)
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map_or(keep, |d| d.with_timezone(&Utc)),
        _ => keep,
    };
    let mut secret = [0u8; 16];
    rand::rng().fill_bytes(&mut secret);
    notification::ActiveModel {
        user_id: Set(user_id),
        kind: Set(kind.to_owned()),
        order_id: Set(id_of("order_id")),
        offer_id: Set(id_of("offer_id")),
        urgency: Set(v
            .get("urgency")
            .and_then(Value::as_str)
            .unwrap_or("normal")
            .to_owned()),
        payload: Set(v.to_string()),
        receipt: Set(secret.iter().map(|b| format!("{b:02x}")).collect()),
        status: Set("pending".to_owned()),
        attempts: Set(0),
        next_at: Set(now),
        expires_at: Set(expires_at),
        pushed_at: Set(None),
        sms_due_at: Set(None),
        acked_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Sends what is due: new rows and retries, and the texts that follow
/// unshown pushes of urgent offers.
async fn deliver(state: &AppState, http: &reqwest::Client) -> ApiResult<usize> {
    let now = state.clock.now();
    let mut due = notification::Entity::find()
        .filter(notification::Column::Status.eq("pending"))
        .filter(notification::Column::NextAt.lte(now))
        .order_by_asc(notification::Column::Id)
        .limit(100)
        .all(&state.db)
        .await?;
    due.extend(
        notification::Entity::find()
            .filter(notification::Column::Status.eq("pushed"))
            .filter(notification::Column::SmsDueAt.lte(now))
            .filter(notification::Column::AckedAt.is_null())
            .order_by_asc(notification::Column::Id)
            .limit(100)
            .all(&state.db)
            .await?,
    );
    let n = due.len();
    let results: Vec<ApiResult<()>> = futures_util::stream::iter(due)
        .map(|row| handle(state, http, row, now))
        .buffer_unordered(16)
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(n)
}

/// What became of a row this round.
struct Step {
    status: &'static str,
    pushed_at: Option<DateTime<Utc>>,
    sms_due_at: Option<DateTime<Utc>>,
    retry_at: Option<DateTime<Utc>>,
    error: Option<String>,
}

impl Step {
    fn to(status: &'static str) -> Self {
        Step {
            status,
            pushed_at: None,
            sms_due_at: None,
            retry_at: None,
            error: None,
        }
    }
}

async fn handle(
    state: &AppState,
    http: &reqwest::Client,
    row: notification::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let following_up = row.status == "pushed";
    let step = if now >= row.expires_at {
        Step::to("expired")
    } else if !still_open(state, &row).await? {
        Step::to("moot")
    } else if !crate::sessions::live_among(&state.db, vec![row.user_id])
        .await?
        .is_empty()
    {
        // A socket came: the page has it from the outbox.
        Step::to("live")
    } else if following_up {
        text(state, http, &row, now).await?
    } else {
        push_or_text(state, http, &row, now).await?
    };
    let mut update = notification::Entity::update_many()
        .col_expr(notification::Column::Status, Expr::value(step.status))
        .col_expr(notification::Column::LastError, Expr::value(step.error))
        .filter(notification::Column::Id.eq(row.id))
        .filter(notification::Column::Status.eq(row.status.as_str()));
    if following_up || step.status != "pushed" {
        update = update.col_expr(
            notification::Column::SmsDueAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    }
    if step.pushed_at.is_some() {
        update = update
            .col_expr(notification::Column::PushedAt, Expr::value(step.pushed_at))
            .col_expr(notification::Column::SmsDueAt, Expr::value(step.sms_due_at));
    }
    if let Some(at) = step.retry_at {
        update = update
            .col_expr(notification::Column::NextAt, Expr::value(at))
            .col_expr(
                notification::Column::Attempts,
                sea_orm::sea_query::ExprTrait::add(Expr::col(notification::Column::Attempts), 1),
            );
    }
    update.exec(&state.db).await?;
    Ok(())
}

/// An offer is worth telling only while it is open; the rest always.
async fn still_open(state: &AppState, row: &notification::Model) -> ApiResult<bool> {
    let Some(offer) = row.offer_id.filter(|_| row.kind == "offer") else {
        return Ok(true);
    };
    Ok(assignment::Entity::find_by_id(offer)
        .one(&state.db)
        .await?
        .is_some_and(|a| a.state == "offered"))
}

async fn push_or_text(
    state: &AppState,
    http: &reqwest::Client,
    row: &notification::Model,
    now: DateTime<Utc>,
) -> ApiResult<Step> {
    let subs = push_subscription::Entity::find()
        .filter(push_subscription::Column::UserId.eq(row.user_id))
        .all(&state.db)
        .await?;
    let mut delivered = false;
    let mut retry = None;
    let mut refused = None;
    let ttl = Duration::from_secs(
        u64::try_from((row.expires_at - now).num_seconds().max(1)).unwrap_or(1),
    );
    let urgency = match row.kind.as_str() {
        "offer" | "assigned" => Urgency::High,
        _ => Urgency::Normal,
    };
    for sub in subs {
        let gone = |why: &str| {
            tracing::info!(subscription = %sub.id, why, "push subscription deleted");
            push_subscription::Entity::delete_by_id(sub.id).exec(&state.db)
        };
        let Ok(keys) = Keys::parse(&sub.p256dh, &sub.auth) else {
            gone("its keys are invalid").await?;
            continue;
        };
        let private = state.settings.net.allow_private_targets;
        if let Err(e) = crate::outbound::allowed_target(&sub.endpoint, private).await {
            refused = Some(e);
            continue;
        }
        let payload = payload(row, &sub.lang).to_string();
        let msg = Message {
            endpoint: &sub.endpoint,
            keys: &keys,
            payload: payload.as_bytes(),
            ttl,
            urgency,
        };
        match crate::push::send(http, &state.vapid, &state.settings.push.subject, &msg).await {
            Outcome::Delivered => {
                delivered = true;
                push_subscription::Entity::update_many()
                    .col_expr(
                        push_subscription::Column::LastSuccessAt,
                        Expr::value(Some(now)),
                    )
                    .filter(push_subscription::Column::Id.eq(sub.id))
                    .exec(&state.db)
                    .await?;
            }
            Outcome::Gone => {
                gone("the push service no longer knows it").await?;
            }
            Outcome::Retry(e) => retry = Some(e),
            Outcome::Refused(e) => refused = Some(e),
        }
    }
    metrics::counter!("push_sent_total", "delivered" => delivered.to_string()).increment(1);
    if delivered {
        let critical = row.kind == "offer" && matches!(row.urgency.as_str(), "urgent" | "critical");
        let follow = (critical && crate::sms::enabled(&state.settings.sms))
            .then(|| now + chrono::Duration::seconds(state.settings.sms.after_push_secs.max(0)));
        return Ok(Step {
            pushed_at: Some(now),
            sms_due_at: follow,
            ..Step::to("pushed")
        });
    }
    if let Some(e) = retry {
        let wait = 1i64 << row.attempts.clamp(0, 6);
        return Ok(Step {
            retry_at: Some(now + chrono::Duration::seconds(wait)),
            error: Some(e),
            ..Step::to("pending")
        });
    }
    let mut step = text(state, http, row, now).await?;
    if step.status == "unreached" && step.error.is_none() {
        step.error = refused;
    }
    Ok(step)
}

/// What a row becomes when no text goes: a pushed one stays pushed (the
/// push reached the device), any other was reached by nothing.
fn untexted(row: &notification::Model) -> &'static str {
    if row.status == "pushed" {
        "pushed"
    } else {
        "unreached"
    }
}

/// Sends the row's text, if texts are on and it is one that goes by text.
async fn text(
    state: &AppState,
    http: &reqwest::Client,
    row: &notification::Model,
    now: DateTime<Utc>,
) -> ApiResult<Step> {
    let settings = &state.settings.sms;
    if !crate::sms::enabled(settings) || !matches!(row.kind.as_str(), "offer" | "assigned") {
        return Ok(Step::to(untexted(row)));
    }
    let Some(phone) = user::Entity::find_by_id(row.user_id)
        .one(&state.db)
        .await?
        .map(|u| u.phone)
    else {
        return Ok(Step::to("unreached"));
    };
    let masked = zhongdui_domain::Phone::parse(&phone)
        .map(|p| p.masked())
        .unwrap_or_else(|_| "***".to_owned());
    let params = text_params(state, row).await?;
    let recent = sms_message::Entity::find()
        .filter(sms_message::Column::UserId.eq(row.user_id))
        .filter(sms_message::Column::Status.eq("sent"))
        .filter(sms_message::Column::CreatedAt.gt(now - chrono::Duration::hours(1)))
        .count(&state.db)
        .await?;
    let record = |status: &str, provider_ref: Option<String>, error: Option<String>| {
        sms_message::ActiveModel {
            user_id: Set(row.user_id),
            notification_id: Set(Some(row.id)),
            phone_masked: Set(masked.clone()),
            provider: Set(crate::sms::channel(settings).to_owned()),
            template: Set(settings.aliyun.template_code.clone()),
            params: Set(json!(params).to_string()),
            status: Set(status.to_owned()),
            provider_ref: Set(provider_ref),
            error: Set(error),
            created_at: Set(now),
            ..Default::default()
        }
    };
    if recent >= u64::from(settings.per_volunteer_per_hour) {
        sms_message::Entity::insert(record("limited", None, None))
            .exec_without_returning(&state.db)
            .await?;
        metrics::counter!("sms_total", "status" => "limited").increment(1);
        return Ok(Step {
            error: Some("the hourly text limit for this volunteer is reached".to_owned()),
            ..Step::to(untexted(row))
        });
    }
    let text = crate::sms::Text {
        phone,
        params: params.clone(),
    };
    let (status, step) = match crate::sms::send(http, settings, &text).await {
        crate::sms::Sent::Ok(reference) => (("sent", reference, None), Step::to("sms")),
        crate::sms::Sent::Failed(e) => (
            ("failed", None, Some(e.clone())),
            Step {
                error: Some(e),
                ..Step::to(untexted(row))
            },
        ),
    };
    sms_message::Entity::insert(record(status.0, status.1, status.2))
        .exec_without_returning(&state.db)
        .await?;
    metrics::counter!("sms_total", "status" => status.0).increment(1);
    Ok(step)
}

/// The template's variables: the order's code, its category in Chinese,
/// the distance, and the link that opens the offer.
async fn text_params(
    state: &AppState,
    row: &notification::Model,
) -> ApiResult<BTreeMap<&'static str, String>> {
    let v: Value = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut code = s("code");
    let mut category = v
        .get("category")
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<Category>().ok());
    let mut distance = v.get("distance_m").and_then(Value::as_f64);
    if let (Some(order_id), true) = (row.order_id, category.is_none() || distance.is_none()) {
        // An assignment's push names only the order: read the rest.
        if let Some(o) = order::Entity::find_by_id(order_id).one(&state.db).await? {
            code.clone_from(&o.code);
            category = category.or_else(|| o.category.parse().ok());
            let here = volunteer::Entity::find_by_id(row.user_id)
                .one(&state.db)
                .await?
                .and_then(|vol| GeoPoint::parse(vol.lat?, vol.lon?).ok());
            let there = GeoPoint::parse(o.lat, o.lon).ok();
            if let (Some(a), Some(b)) = (here, there) {
                distance = distance.or(Some(a.distance_m(&b)));
            }
        }
    }
    let base = state.settings.web.public_url.trim_end_matches('/');
    let link = match (row.offer_id, row.order_id) {
        (Some(offer), _) if row.kind == "offer" => format!("{base}/volunteer.html#offer={offer}"),
        (_, Some(order)) => format!("{base}/volunteer.html#order={order}"),
        _ => format!("{base}/volunteer.html"),
    };
    Ok(BTreeMap::from([
        ("code", code),
        (
            "category",
            category.map_or("求助", Category::name_zh).to_owned(),
        ),
        (
            "distance",
            distance.map_or_else(|| "—".to_owned(), distance_zh),
        ),
        ("link", link),
    ]))
}

fn distance_zh(m: f64) -> String {
    distance_in(m, false)
}

/// `m` metres as a person reads them, in Chinese or (`en`) English.
fn distance_in(m: f64, en: bool) -> String {
    match (m < 1000.0, en) {
        (true, false) => format!("{}米", m.round()),
        (false, false) => format!("{:.1}公里", m / 1000.0),
        (true, true) => format!("{} m", m.round()),
        (false, true) => format!("{:.1} km", m / 1000.0),
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// What the service worker receives (at most a few hundred bytes, well
/// under the 4 KB a push may carry): a title and body in the
/// subscription's language, where tapping leads, the receipt to send back
/// when shown, and for an offer its deadline (the notification counts down
/// from it).
fn payload(row: &notification::Model, lang: &str) -> Value {
    let v: Value = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let en = lang.starts_with("en");
    let category = v
        .get("category")
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<Category>().ok());
    let category_name = category.map_or("", |c| if en { c.name_en() } else { c.name_zh() });
    let distance = v.get("distance_m").and_then(Value::as_f64).unwrap_or(0.0);
    let (title, body, url) = match row.kind.as_str() {
        "offer" => {
            let urgent = matches!(row.urgency.as_str(), "urgent" | "critical");
            let far = distance_in(distance, en);
            let title = match (en, urgent) {
                (false, true) => format!("【紧急】新任务：{category_name} · {far}"),
                (false, false) => format!("新任务：{category_name} · {far}"),
                (true, true) => format!("URGENT: {category_name} · {far}"),
                (true, false) => format!("New task: {category_name} · {far}"),
            };
            let offer = row.offer_id.map(|o| o.to_string()).unwrap_or_default();
            (
                title,
                cut(&s("address"), 80),
                format!("/volunteer.html#offer={offer}"),
            )
        }
        "assigned" => (
            if en {
                format!("You are assigned to {}", s("code"))
            } else {
                format!("您已被指派：{}", s("code"))
            },
            if en {
                "Open to see where to go"
            } else {
                "打开查看任务地点"
            }
            .to_owned(),
            format!("/volunteer.html#order={}", s("order_id")),
        ),
        "certificate_expiring" => {
            let skill = v
                .get("skill")
                .and_then(Value::as_str)
                .and_then(|c| c.parse::<zhongdui_domain::Skill>().ok());
            let name = skill.map_or("", |k| if en { k.name_en() } else { k.name_zh() });
            let days = v.get("days_left").and_then(Value::as_i64).unwrap_or(0);
            (
                if en {
                    format!("Your {name} certificate runs out in {days} days")
                } else {
                    format!("您的{name}证书 {days} 天后到期")
                },
                if en {
                    format!(
                        "Valid until {}; renew it and tell your coordinator.",
                        s("certified_until")
                    )
                } else {
                    format!(
                        "有效期至 {}，请及时复训并告知协调员。",
                        s("certified_until")
                    )
                },
                "/volunteer.html".to_owned(),
            )
        }
        "order_cancelled" => (
            if en {
                format!("{} was cancelled", s("code"))
            } else {
                format!("订单 {} 已取消", s("code"))
            },
            cut(&s("reason"), 80),
            "/volunteer.html".to_owned(),
        ),
        _ => (
            if en {
                format!("Notice from {}", s("team_name"))
            } else {
                format!("队伍通知：{}", s("team_name"))
            },
            cut(&s("text"), 140),
            "/volunteer.html".to_owned(),
        ),
    };
    json!({
        "kind": row.kind,
        "title": title,
        "body": body,
        "url": url,
        "tag": format!("{}-{}", row.kind, row.offer_id.or(row.order_id).map(|i| i.to_string()).unwrap_or_else(|| row.id.to_string())),
        "lang": if en { "en" } else { "zh-CN" },
        "urgency": row.urgency,
        "deadline": (row.kind == "offer").then(|| row.expires_at.to_rfc3339()),
        "receipt": format!("{}.{}", row.id, row.receipt),
        "order_id": row.order_id,
        "offer_id": row.offer_id,
    })
}

/// The service worker showed notification `receipt` (`{id}.{secret}`):
/// true when it named a sent notification (which then needs no text).
pub async fn acknowledge(state: &AppState, receipt: &str) -> ApiResult<bool> {
    let Some((id, secret)) = receipt.split_once('.') else {
        return Ok(false);
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(false);
    };
    let done = notification::Entity::update_many()
        .col_expr(notification::Column::Status, Expr::value("acked"))
        .col_expr(
            notification::Column::AckedAt,
            Expr::value(Some(state.clock.now())),
        )
        .col_expr(
            notification::Column::SmsDueAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::Receipt.eq(secret))
        // The worker may answer before this round has marked the row pushed
        // (the secret exists only in what was sent, so a pending row with
        // it was sent); the round's conditional update then leaves it acked.
        .filter(notification::Column::Status.is_in(["pending", "pushed", "acked"]))
        .exec(&state.db)
        .await?;
    Ok(done.rows_affected == 1)
}
