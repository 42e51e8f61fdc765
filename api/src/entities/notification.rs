use sea_orm::entity::prelude::*;

/// Something a volunteer with no live socket must hear of (an offer, an
/// assignment, a cancellation, a broadcast), and how far it got:
/// `pending` → `pushed` (a push service took it) → `acked` (the service
/// worker showed it) or `sms`; or `live` (a socket came), `moot` (the
/// offer is no longer open), `expired`, `unreached` (no channel left).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: Uuid,
    /// The push's kind: `offer`, `assigned`, `order_cancelled`, `broadcast`.
    pub kind: String,
    pub order_id: Option<Uuid>,
    pub offer_id: Option<Uuid>,
    /// The order's urgency (`normal` for a broadcast).
    pub urgency: String,
    /// The push as the page reads it (JSON).
    pub payload: String,
    /// The secret the service worker sends back when it shows it.
    pub receipt: String,
    pub status: String,
    pub attempts: i32,
    pub next_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub pushed_at: Option<DateTimeUtc>,
    /// When a text follows an unacknowledged push (urgent and critical offers).
    pub sms_due_at: Option<DateTimeUtc>,
    pub acked_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
