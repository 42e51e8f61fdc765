use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub volunteer_id: Uuid,
    pub state: String,
    pub how: String,
    pub wave: i32,
    pub distance_m: Option<f64>,
    pub offered_at: DateTimeUtc,
    pub deadline: Option<DateTimeUtc>,
    pub responded_at: Option<DateTimeUtc>,
    pub arrived_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub note: Option<String>,
    pub assigned_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
