use sea_orm::entity::prelude::*;

/// A 志愿服务证明 issued, found by its verification code.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "hour_certificates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub volunteer_id: Uuid,
    pub from_day: Date,
    pub to_day: Date,
    pub total_minutes: i32,
    pub services: i32,
    pub issued_by: Option<Uuid>,
    pub issued_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
