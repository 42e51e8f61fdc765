use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteer_skills")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub volunteer_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub skill: String,
    pub certified_until: Option<Date>,
    /// The last expiry alert sent for this expiry (days before: 30 or 7).
    pub alerted_days: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
