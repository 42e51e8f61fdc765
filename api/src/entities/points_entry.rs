use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "points_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub volunteer_id: Uuid,
    pub team_id: Option<Uuid>,
    pub kind: String,
    pub amount: i32,
    pub order_id: Option<Uuid>,
    pub reason: Option<String>,
    /// The phrase the system's own reason is written with (task, rating).
    pub reason_code: Option<String>,
    /// Its parameters, a JSON object.
    pub reason_params: Option<String>,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
