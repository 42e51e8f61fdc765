//! The liaison thread of an order and team broadcasts: `order_messages`
//! (one row per message: the order, who wrote it — a user or a machine
//! client, by id, with the role they wrote in — the text and when) and
//! `broadcasts` (a coordinator's announcement to a team). Names are not
//! copied in: they are read from the accounts, so a deleted account's
//! messages show it as deleted.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrderMessages::Table)
                    .col(big_pk_auto(OrderMessages::Id))
                    .col(uuid(OrderMessages::OrderId))
                    .col(uuid(OrderMessages::AuthorId))
                    .col(string_len(OrderMessages::AuthorRole, 16))
                    .col(text(OrderMessages::Text))
                    .col(timestamp_with_time_zone(OrderMessages::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_order_messages_order")
                    .table(OrderMessages::Table)
                    .col(OrderMessages::OrderId)
                    .col(OrderMessages::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Broadcasts::Table)
                    .col(uuid(Broadcasts::Id).primary_key())
                    .col(uuid(Broadcasts::TeamId))
                    .col(uuid(Broadcasts::AuthorId))
                    .col(text(Broadcasts::Text))
                    .col(integer(Broadcasts::Recipients))
                    .col(timestamp_with_time_zone(Broadcasts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_broadcasts_team")
                    .table(Broadcasts::Table)
                    .col(Broadcasts::TeamId)
                    .col(Broadcasts::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Broadcasts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OrderMessages::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OrderMessages {
    Table,
    Id,
    OrderId,
    AuthorId,
    AuthorRole,
    Text,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Broadcasts {
    Table,
    Id,
    TeamId,
    AuthorId,
    Text,
    Recipients,
    CreatedAt,
}
