use sea_orm::entity::prelude::*;

/// A volunteer on a shift: when its start and end were applied to their
/// duty (by whichever process got there first), and whether they left it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "shift_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub shift_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub volunteer_id: Uuid,
    pub began_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub left_at: Option<DateTimeUtc>,
    pub leave_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
