//! Machine clients and station slips: `clients` (a station's system: its
//! OAuth client id, the SHA-256 of its secret, its webhook URL and the
//! encrypted webhook secret, scopes, a token version that disabling or
//! rotating moves on, and the admin who registered it, who answers for its
//! slips as their `created_by`) and, on `orders`, the client that sent a slip and the
//! station's own slip number, unique per client, and the teams an order is
//! offered to first when there are several.
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
                    .table(Clients::Table)
                    .col(uuid(Clients::Id).primary_key())
                    .col(string_len_uniq(Clients::ClientId, 64))
                    .col(string_len(Clients::Name, 100))
                    .col(string_len(Clients::Station, 100))
                    .col(string_len(Clients::Scopes, 200))
                    .col(string_len_null(Clients::WebhookUrl, 500))
                    .col(string_len(Clients::SecretHash, 64))
                    .col(string_len(Clients::WebhookSecret, 200))
                    .col(integer(Clients::TokenVersion).default(0))
                    .col(boolean(Clients::Disabled).default(false))
                    .col(uuid(Clients::CreatedBy))
                    .col(timestamp_with_time_zone(Clients::CreatedAt))
                    .col(timestamp_with_time_zone(Clients::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Several teams offered an order first (slips, staff): the first
        // stays in target_team_id for the readers that know one. SQLite
        // takes one change per ALTER TABLE.
        for column in [
            uuid_null(Orders::ClientId),
            string_len_null(Orders::ExternalId, 64),
            string_len_null(Orders::TargetTeamIds, 400),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Orders::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // The same slip number from the same client is one order, whatever
        // the number of processes racing to insert it.
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_client_external")
                    .table(Orders::Table)
                    .col(Orders::ClientId)
                    .col(Orders::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_orders_client_external")
                    .table(Orders::Table)
                    .to_owned(),
            )
            .await?;
        for col in [Orders::TargetTeamIds, Orders::ExternalId, Orders::ClientId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Orders::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Clients::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    ClientId,
    ExternalId,
    TargetTeamIds,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    ClientId,
    Name,
    Station,
    Scopes,
    WebhookUrl,
    SecretHash,
    WebhookSecret,
    TokenVersion,
    Disabled,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}
