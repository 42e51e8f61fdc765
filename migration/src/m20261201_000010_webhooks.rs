//! Webhooks to station systems, through the database: `webhook_deliveries`
//! (one row per message to a client: its Standard Webhooks message id, the
//! JSON body, when it is next due, how many attempts, the last answer), and
//! `leases` (a named, expiring lease, so that one process at a time
//! delivers, on SQLite and PostgreSQL alike).
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
                    .table(WebhookDeliveries::Table)
                    .col(big_pk_auto(WebhookDeliveries::Id))
                    .col(uuid(WebhookDeliveries::ClientId))
                    .col(uuid(WebhookDeliveries::OrderId))
                    .col(string_len_uniq(WebhookDeliveries::MessageId, 64))
                    .col(string_len(WebhookDeliveries::Kind, 32))
                    .col(text(WebhookDeliveries::Payload))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(integer_null(WebhookDeliveries::LastStatus))
                    .col(string_len_null(WebhookDeliveries::LastError, 500))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LastAttemptAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::DeliveredAt,
                    ))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_webhook_deliveries_due",
                vec![WebhookDeliveries::Status, WebhookDeliveries::Id],
            ),
            (
                "idx_webhook_deliveries_client",
                vec![WebhookDeliveries::ClientId, WebhookDeliveries::Id],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(WebhookDeliveries::Table);
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .col(string_len(Leases::Name, 32).primary_key())
                    .col(string_len(Leases::Holder, 64))
                    .col(timestamp_with_time_zone(Leases::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Leases::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    ClientId,
    OrderId,
    MessageId,
    Kind,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LastStatus,
    LastError,
    LastAttemptAt,
    DeliveredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}
