use sea_orm::entity::prelude::*;

/// One webhook message to a machine client, and how its delivery went.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub client_id: Uuid,
    pub order_id: Uuid,
    /// The Standard Webhooks `webhook-id` (the same on every attempt).
    #[sea_orm(unique)]
    pub message_id: String,
    /// `order.assigned`, …
    pub kind: String,
    /// The JSON body, exactly as signed and sent.
    pub payload: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
