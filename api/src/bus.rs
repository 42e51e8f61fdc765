//! The realtime bus. With Redis: every process publishes to Redis and holds
//! one pattern subscription (`{prefix}:*`) through a reconnecting,
//! auto-resubscribing RESP3 connection manager; what arrives is fanned out to
//! the process's WebSocket sessions through a local broadcast channel.
//! Without Redis: the local broadcast channel is the bus.
//!
//! The bus is not the source of truth: pushes come from the outbox (see
//! `relay`), so a message that could not be published is published later.
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushKind, Value as RedisValue};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// One message on the bus.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BusMessage {
    /// The outbox id (the event id clients use to drop duplicates and resume);
    /// absent for transient messages such as positions.
    pub id: Option<i64>,
    /// The channel, e.g. `zd:volunteer:{id}`.
    pub channel: String,
    /// The payload (has a `type`).
    pub data: serde_json::Value,
    /// The process that published it.
    pub origin: Uuid,
}

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
#[error("the bus is unavailable: {0}")]
pub struct BusError(String);

/// The bus of this process.
pub struct Bus {
    local: broadcast::Sender<Arc<BusMessage>>,
    redis: Option<RwLock<Option<ConnectionManager>>>,
    /// This process's id (to skip its own index updates).
    pub origin: Uuid,
    prefix: String,
}

impl Bus {
    /// An in-process bus.
    pub fn in_process(prefix: &str) -> Arc<Self> {
        let (local, _) = broadcast::channel(8192);
        Arc::new(Self {
            local,
            redis: None,
            origin: Uuid::new_v4(),
            prefix: prefix.to_owned(),
        })
    }

    /// A Redis bus. Connects in the background, and keeps reconnecting: the
    /// server starts (and commits orders) even while Redis is down.
    pub fn redis(
        url: &str,
        prefix: &str,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Arc<Self>> {
        let url = if url.contains("protocol=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&protocol=resp3")
        } else {
            format!("{url}/?protocol=resp3").replace("//?", "/?")
        };
        let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?;
        let (local, _) = broadcast::channel(8192);
        let bus = Arc::new(Self {
            local,
            redis: Some(RwLock::new(None)),
            origin: Uuid::new_v4(),
            prefix: prefix.to_owned(),
        });
        tokio::spawn(Self::maintain(bus.clone(), client, shutdown));
        Ok(bus)
    }

    /// Whether Redis carries this bus.
    pub fn is_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// A receiver of everything this process sees on the bus.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BusMessage>> {
        self.local.subscribe()
    }

    /// The Redis connection, when up (for leaderboards).
    pub fn redis_conn(&self) -> Option<ConnectionManager> {
        self.redis.as_ref()?.read().ok()?.clone()
    }

    /// Publishes a message on its channel.
    pub async fn publish(&self, msg: BusMessage) -> Result<(), BusError> {
        self.publish_all(vec![msg]).await
    }

    /// Publishes messages in order: one pipelined round trip to Redis. On
    /// error some may have gone out; the caller publishes them all again
    /// (clients drop duplicates by id).
    pub async fn publish_all(&self, msgs: Vec<BusMessage>) -> Result<(), BusError> {
        if msgs.is_empty() {
            return Ok(());
        }
        match &self.redis {
            None => {
                for m in msgs {
                    let _ = self.local.send(Arc::new(m));
                }
                Ok(())
            }
            Some(_) => {
                let mut conn = self
                    .redis_conn()
                    .ok_or_else(|| BusError("not connected to Redis".into()))?;
                let mut pipe = redis::pipe();
                for m in &msgs {
                    let body = serde_json::to_string(m).map_err(|e| BusError(e.to_string()))?;
                    pipe.publish(&m.channel, body).ignore();
                }
                let () = pipe
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| BusError(e.to_string()))?;
                metrics::counter!("bus_published_total").increment(msgs.len() as u64);
                Ok(())
            }
        }
    }

    async fn maintain(
        bus: Arc<Bus>,
        client: redis::Client,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let pattern = format!("{}:*", bus.prefix);
        let mut delay = Duration::from_millis(100);
        loop {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let config = ConnectionManagerConfig::new()
                .set_push_sender(tx)
                .set_automatic_resubscription()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_secs(2)))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_secs(2));
            let connected = async {
                let mut manager = client.get_connection_manager_with_config(config).await?;
                manager.psubscribe(&pattern).await?;
                Ok::<_, redis::RedisError>(manager)
            }
            .await;
            let mut manager = match connected {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "Redis unavailable; pushes wait in the outbox");
                    tokio::select! {
                        _ = shutdown.changed() => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            delay = Duration::from_millis(100);
            if let Some(mut s) = bus.redis.as_ref().and_then(|slot| slot.write().ok()) {
                *s = Some(manager.clone());
            }
            tracing::info!("connected to Redis; subscribed to {pattern}");
            let mut health = tokio::time::interval(Duration::from_secs(2));
            loop {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    push = rx.recv() => match push {
                        Some(info) => match info.kind {
                            PushKind::PMessage | PushKind::Message => bus.deliver(info.data),
                            PushKind::Disconnection => {
                                tracing::warn!("Redis connection lost; reconnecting");
                                // Any command makes the manager reconnect (and resubscribe).
                                let _: Result<String, _> = redis::cmd("PING").query_async(&mut manager).await;
                            }
                            _ => {}
                        },
                        None => break,
                    },
                    _ = health.tick() => {
                        let _: Result<String, _> = redis::cmd("PING").query_async(&mut manager).await;
                    }
                }
            }
        }
    }

    fn deliver(&self, data: Vec<RedisValue>) {
        // pmessage: [pattern, channel, payload]; message: [channel, payload].
        let Some(RedisValue::BulkString(payload)) = data.last() else {
            return;
        };
        match serde_json::from_slice::<BusMessage>(payload) {
            Ok(msg) => {
                let _ = self.local.send(Arc::new(msg));
            }
            Err(e) => tracing::warn!(error = %e, "unreadable bus message"),
        }
    }
}
