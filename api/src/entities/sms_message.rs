use sea_orm::entity::prelude::*;

/// A text message sent (or refused by the per-volunteer limit, or failed),
/// with the phone masked.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sms_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: Uuid,
    pub notification_id: Option<i64>,
    pub phone_masked: String,
    /// `log` or `aliyun`.
    pub provider: String,
    pub template: String,
    /// The template's parameters (JSON).
    pub params: String,
    /// `sent`, `limited` or `failed`.
    pub status: String,
    /// The provider's id for it (Alibaba's BizId).
    pub provider_ref: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
