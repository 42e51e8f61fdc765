use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code: String,
    pub status: String,
    pub category: String,
    pub required_skills: String,
    pub tier: i16,
    pub urgency: String,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub description: String,
    pub headcount: i32,
    pub filled: i32,
    pub source: String,
    pub created_by: Uuid,
    pub resident_id: Option<Uuid>,
    pub contact_phone: Option<String>,
    pub target_team_id: Option<Uuid>,
    pub station: Option<String>,
    pub wave: i32,
    pub next_action_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    pub first_accepted_at: Option<DateTimeUtc>,
    pub arrived_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub cancel_reason: Option<String>,
    pub rating: Option<i16>,
    pub feedback: Option<String>,
    pub version: i32,
    pub erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
