//! Delivers the queued webhook messages (`webhook_deliveries`) to station
//! systems: at least once, in order per slip (a slip's next message waits
//! until the one before it is delivered or given up), retried with
//! exponential backoff on a non-2xx answer, a timeout or a refused target,
//! for `webhooks.retry_for_hours`. One process at a time delivers: it holds
//! the `webhooks` lease, renewed every round and taken over by another
//! process when it lapses (a killed process's messages stay queued and go
//! out from the next holder). Delivery runs in its own task and never holds
//! a transaction across a call, so a slow or dead endpoint never slows
//! dispatch.
use std::collections::HashSet;
use std::time::Duration;

use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entities::{client, webhook_delivery};
use crate::error::ApiResult;
use crate::state::AppState;

const LEASE: &str = "webhooks";

/// Delivers until shutdown: a round every 200 ms while holding the lease.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let me = format!("{}", Uuid::now_v7());
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_millis(
            state.settings.webhooks.timeout_ms.max(1),
        ))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for webhooks");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => {}
        }
        match crate::outbound::take_lease(&state, LEASE, &me, state.settings.webhooks.lease_secs)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "webhook lease");
                continue;
            }
        }
        // Rounds follow each other while they deliver something.
        loop {
            match round(&state, &http).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "webhook round failed");
                    break;
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }
}

/// One round: the first waiting message of each slip, if due, all at once.
/// Returns how many were delivered.
async fn round(state: &AppState, http: &reqwest::Client) -> ApiResult<usize> {
    let now = state.clock.now();
    let waiting = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq("pending"))
        .order_by_asc(webhook_delivery::Column::Id)
        .limit(500)
        .all(&state.db)
        .await?;
    let mut seen = HashSet::new();
    let due: Vec<webhook_delivery::Model> = waiting
        .into_iter()
        .filter(|d| seen.insert(d.order_id))
        .filter(|d| d.next_attempt_at <= now)
        .take(32)
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = due.iter().map(|d| d.client_id).collect();
    let clients = client::Entity::find()
        .filter(client::Column::Id.is_in(ids))
        .all(&state.db)
        .await?;
    let attempts = due.into_iter().map(|d| {
        let c = clients.iter().find(|c| c.id == d.client_id).cloned();
        attempt(state, http, d, c)
    });
    let results = futures_util::future::join_all(attempts).await;
    let mut delivered = 0;
    for r in results {
        delivered += usize::from(r?);
    }
    Ok(delivered)
}

/// Sends `d` once and records the outcome: delivered, or when to try again
/// (or given up after the retry period).
async fn attempt(
    state: &AppState,
    http: &reqwest::Client,
    d: webhook_delivery::Model,
    c: Option<client::Model>,
) -> ApiResult<bool> {
    let outcome = match &c {
        Some(c) if !c.disabled => send(state, http, &d, c).await,
        Some(_) => Err((None, "the client is disabled".to_owned())),
        None => Err((None, "the client no longer exists".to_owned())),
    };
    let now = state.clock.now();
    let attempts = d.attempts + 1;
    let mut am: webhook_delivery::ActiveModel = d.clone().into();
    am.attempts = Set(attempts);
    am.last_attempt_at = Set(Some(now));
    let ok = match outcome {
        Ok(status) => {
            am.status = Set("delivered".to_owned());
            am.last_status = Set(Some(status));
            am.last_error = Set(None);
            am.delivered_at = Set(Some(now));
            metrics::counter!("webhooks_delivered_total").increment(1);
            true
        }
        Err((status, error)) => {
            let w = &state.settings.webhooks;
            let backoff_ms = w
                .backoff_ms
                .saturating_mul(1u64 << attempts.clamp(0, 20))
                .min(w.max_backoff_secs.saturating_mul(1000));
            let next = now
                + chrono::Duration::milliseconds(i64::try_from(backoff_ms).unwrap_or(i64::MAX / 2));
            let give_up = now - d.created_at > chrono::Duration::hours(w.retry_for_hours);
            am.status = Set(if give_up { "failed" } else { "pending" }.to_owned());
            am.last_status = Set(status);
            am.last_error = Set(Some(error.chars().take(500).collect()));
            am.next_attempt_at = Set(next);
            metrics::counter!("webhooks_failed_attempts_total").increment(1);
            tracing::info!(delivery = d.id, kind = %d.kind, attempts, status = ?status, error = %error, "webhook not delivered");
            false
        }
    };
    am.update(&state.db).await?;
    Ok(ok)
}

/// One POST of `d` to `c`'s webhook URL, signed. Ok: the 2xx status; Err:
/// the status (if any) and why.
async fn send(
    state: &AppState,
    http: &reqwest::Client,
    d: &webhook_delivery::Model,
    c: &client::Model,
) -> Result<i32, (Option<i32>, String)> {
    let url = c
        .webhook_url
        .as_deref()
        .ok_or((None, "the client has no webhook URL".to_owned()))?;
    crate::outbound::allowed_target(url, state.settings.net.allow_private_targets)
        .await
        .map_err(|e| (None, e))?;
    let secret = state
        .sealer
        .open(&c.webhook_secret)
        .map_err(|e| (None, e.to_string()))?;
    let ts = crate::clock::wall().timestamp();
    let signature = crate::services::webhooks::signature(&secret, &d.message_id, ts, &d.payload)
        .map_err(|e| (None, e.to_string()))?;
    let res = http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.message_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(d.payload.clone())
        .send()
        .await
        .map_err(|e| {
            let why = if e.is_timeout() {
                "timed out"
            } else {
                "could not connect"
            };
            (None, format!("{why}: {}", e.without_url()))
        })?;
    let status = i32::from(res.status().as_u16());
    if res.status().is_success() {
        Ok(status)
    } else {
        Err((Some(status), format!("answered {status}")))
    }
}
