//! Routes what arrives on the bus to the WebSocket sessions that listen for
//! it. One router task per process reads the bus and hands each message only
//! to the sessions registered for its channel (a volunteer's own channel, the
//! ops feed) or, for an order's channel, to the sessions of the order's
//! resident (named by `resident_id` in the payload, written with the order's
//! state). A session therefore wakes only for its own messages, however many
//! sessions the process holds.
//!
//! Each session has a bounded queue. A session whose queue is full is too
//! slow: the hub forgets it, its queue ends, and the session closes so that
//! the client reconnects and resumes with its last event id. If the router
//! itself falls behind the bus, every session is closed the same way.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use crate::bus::BusMessage;

/// Messages a session may have waiting before it counts as too slow.
pub const QUEUE: usize = 1024;

/// What a session listens for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Listen {
    /// Every message on this channel.
    Channel(String),
    /// Messages on the channels of this resident's orders.
    Resident(Uuid),
}

type Outlet = mpsc::Sender<Arc<BusMessage>>;

#[derive(Default)]
struct Routes {
    by_key: HashMap<Listen, Vec<(u64, Outlet)>>,
    keys_of: HashMap<u64, Vec<Listen>>,
}

impl Routes {
    fn forget(&mut self, id: u64) {
        for key in self.keys_of.remove(&id).unwrap_or_default() {
            if let Some(list) = self.by_key.get_mut(&key) {
                list.retain(|(i, _)| *i != id);
                if list.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
    }
}

/// The router of one process.
pub struct Hub {
    order_prefix: String,
    routes: Mutex<Routes>,
    next_id: AtomicU64,
}

/// A session's registration; unregisters when dropped.
pub struct Subscription {
    hub: Arc<Hub>,
    id: u64,
    rx: mpsc::Receiver<Arc<BusMessage>>,
}

impl Subscription {
    /// The next message for this session; `None` once the hub dropped it
    /// (too slow) or stopped.
    pub async fn recv(&mut self) -> Option<Arc<BusMessage>> {
        self.rx.recv().await
    }

    /// Drops the messages already waiting; returns how many.
    pub fn drain(&mut self) -> usize {
        let mut n = 0;
        while self.rx.try_recv().is_ok() {
            n += 1;
        }
        n
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.lock().forget(self.id);
    }
}

impl Hub {
    /// A hub for the channels under `prefix`.
    pub fn new(prefix: &str) -> Arc<Self> {
        Arc::new(Self {
            order_prefix: format!("{prefix}:order:"),
            routes: Mutex::new(Routes::default()),
            next_id: AtomicU64::new(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Routes> {
        // Nothing panics while holding the lock; if something did, the
        // routes are still consistent (each change is one insert or retain).
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a session for `keys`.
    pub fn subscribe(self: &Arc<Self>, keys: Vec<Listen>) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut routes = self.lock();
        for key in &keys {
            routes
                .by_key
                .entry(key.clone())
                .or_default()
                .push((id, tx.clone()));
        }
        routes.keys_of.insert(id, keys);
        Subscription {
            hub: self.clone(),
            id,
            rx,
        }
    }

    /// Sessions registered now.
    pub fn sessions(&self) -> usize {
        self.lock().keys_of.len()
    }

    /// Hands `msg` to the sessions that listen for it; forgets those whose
    /// queue is full or gone.
    pub fn route(&self, msg: &Arc<BusMessage>) {
        let resident = msg
            .channel
            .starts_with(&self.order_prefix)
            .then(|| msg.data.get("resident_id")?.as_str()?.parse::<Uuid>().ok())
            .flatten();
        let mut routes = self.lock();
        let mut slow = Vec::new();
        let channel = Listen::Channel(msg.channel.clone());
        let resident = resident.map(Listen::Resident);
        let keys = std::iter::once(&channel).chain(resident.as_ref());
        for key in keys {
            for (id, tx) in routes.by_key.get(key).into_iter().flatten() {
                if tx.try_send(msg.clone()).is_err() {
                    slow.push(*id);
                }
            }
        }
        for id in slow {
            routes.forget(id);
            tracing::info!("dropping a slow WebSocket client");
            metrics::counter!("ws_slow_clients_dropped_total").increment(1);
        }
    }

    /// Forgets every session (they close, and their clients resume).
    fn forget_all(&self) {
        let mut routes = self.lock();
        routes.by_key.clear();
        routes.keys_of.clear();
    }

    /// Routes what arrives on `rx` until shutdown.
    pub async fn run(
        hub: Arc<Self>,
        mut rx: broadcast::Receiver<Arc<BusMessage>>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let msg = tokio::select! {
                _ = shutdown.changed() => break,
                m = rx.recv() => m,
            };
            match msg {
                Ok(m) => hub.route(&m),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "WebSocket router fell behind the bus; sessions resume"
                    );
                    hub.forget_all();
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
        hub.forget_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(channel: &str, data: serde_json::Value) -> Arc<BusMessage> {
        Arc::new(BusMessage {
            id: Some(1),
            channel: channel.to_owned(),
            data,
            origin: Uuid::nil(),
        })
    }

    #[tokio::test]
    async fn each_session_gets_only_its_own_messages() {
        let hub = Hub::new("zd");
        let (v1, v2, resident) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut a = hub.subscribe(vec![Listen::Channel(format!("zd:volunteer:{v1}"))]);
        let mut b = hub.subscribe(vec![Listen::Channel(format!("zd:volunteer:{v2}"))]);
        let mut ops = hub.subscribe(vec![Listen::Channel("zd:ops".into())]);
        let mut r = hub.subscribe(vec![Listen::Resident(resident)]);
        hub.route(&msg(
            &format!("zd:volunteer:{v1}"),
            json!({"type": "offer"}),
        ));
        hub.route(&msg("zd:ops", json!({"type": "order_created"})));
        let order = Uuid::new_v4();
        hub.route(&msg(
            &format!("zd:order:{order}"),
            json!({"type": "order_status", "resident_id": resident.to_string()}),
        ));
        // Another resident's order, and a resident id on a non-order channel.
        hub.route(&msg(
            &format!("zd:order:{}", Uuid::new_v4()),
            json!({"type": "order_status", "resident_id": Uuid::new_v4().to_string()}),
        ));
        hub.route(&msg(
            "zd:ops",
            json!({"type": "x", "resident_id": resident.to_string()}),
        ));
        assert_eq!(a.recv().await.unwrap().data["type"], "offer");
        assert_eq!(ops.recv().await.unwrap().data["type"], "order_created");
        assert_eq!(ops.recv().await.unwrap().data["type"], "x");
        assert_eq!(r.recv().await.unwrap().data["type"], "order_status");
        assert!(a.rx.try_recv().is_err());
        assert!(b.rx.try_recv().is_err());
        assert!(r.rx.try_recv().is_err());
        assert_eq!(hub.sessions(), 4);
        drop(b);
        assert_eq!(hub.sessions(), 3);
    }

    #[tokio::test]
    async fn a_session_that_falls_behind_is_dropped_and_its_queue_ends() {
        let hub = Hub::new("zd");
        let mut slow = hub.subscribe(vec![Listen::Channel("zd:ops".into())]);
        let mut fine = hub.subscribe(vec![Listen::Channel("zd:volunteer:x".into())]);
        for _ in 0..=QUEUE {
            hub.route(&msg("zd:ops", json!({"type": "order_created"})));
        }
        hub.route(&msg("zd:volunteer:x", json!({"type": "offer"})));
        assert_eq!(hub.sessions(), 1, "the slow one is forgotten");
        let mut got = 0;
        while slow.recv().await.is_some() {
            got += 1;
        }
        assert_eq!(
            got, QUEUE,
            "what was queued is delivered, then the queue ends"
        );
        assert_eq!(fine.recv().await.unwrap().data["type"], "offer");
    }
}
