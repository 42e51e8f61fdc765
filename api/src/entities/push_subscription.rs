use sea_orm::entity::prelude::*;

/// A browser's Web Push subscription (RFC 8030): where to post, and the
/// keys (RFC 8291) its payloads are encrypted to.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "push_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The push service's URL for this subscription (unique).
    pub endpoint: String,
    /// The browser's P-256 public key, base64url (65 bytes uncompressed).
    pub p256dh: String,
    /// The authentication secret, base64url (16 bytes).
    pub auth: String,
    /// The language its notifications are written in (`zh-CN`, `en`).
    pub lang: String,
    pub created_at: DateTimeUtc,
    pub last_success_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
