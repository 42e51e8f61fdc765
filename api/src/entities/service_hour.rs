use sea_orm::entity::prelude::*;

/// Recorded service time: an order (check-in to completion) or a patrol
/// shift (on duty within its span), with its review.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "service_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub volunteer_id: Uuid,
    pub team_id: Uuid,
    pub order_id: Option<Uuid>,
    pub shift_id: Option<Uuid>,
    pub started_at: DateTimeUtc,
    pub ended_at: DateTimeUtc,
    /// What counts (after a correction).
    pub minutes: i32,
    /// What was recorded.
    pub recorded_minutes: i32,
    /// `order` or `shift`.
    pub source: String,
    /// `confirmed`, `pending` (a shift awaiting its coordinator) or `corrected`.
    pub status: String,
    pub reason: Option<String>,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
