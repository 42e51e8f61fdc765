use sea_orm::entity::prelude::*;

/// One message of an order's liaison thread.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "order_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: Uuid,
    /// A user's id, or a machine client's (`author_role` = `client`).
    pub author_id: Uuid,
    /// The role the author wrote in: resident, volunteer, coordinator, admin or client.
    pub author_role: String,
    pub text: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
