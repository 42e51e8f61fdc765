//! The points ledger: append-only, one row per credit or debit, with an
//! idempotency key so that earning for (order, volunteer) happens once.
use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_accounts::Users;
use super::m20261123_000002_roster::Volunteers;
use super::m20261123_000003_orders::Orders;
use super::util;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PointsLedger::Table)
                    .col(big_pk_auto(PointsLedger::Id))
                    .col(uuid(PointsLedger::VolunteerId))
                    .col(uuid_null(PointsLedger::TeamId))
                    // earn | bonus | adjustment | redemption
                    .col(string_len(PointsLedger::Kind, 16))
                    .col(integer(PointsLedger::Amount))
                    .col(uuid_null(PointsLedger::OrderId))
                    .col(text_null(PointsLedger::Reason))
                    .col(string_len_uniq(PointsLedger::IdempotencyKey, 128))
                    .col(uuid_null(PointsLedger::CreatedBy))
                    .col(timestamp_with_time_zone(PointsLedger::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PointsLedger::Table, PointsLedger::VolunteerId)
                            .to(Volunteers::Table, Volunteers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PointsLedger::Table, PointsLedger::OrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PointsLedger::Table, PointsLedger::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_points_volunteer", PointsLedger::VolunteerId),
            ("idx_points_team", PointsLedger::TeamId),
            ("idx_points_created_at", PointsLedger::CreatedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(PointsLedger::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        util::forbid_update_and_delete(manager, "points_ledger").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        util::allow_update_and_delete(manager, "points_ledger").await?;
        manager
            .drop_table(Table::drop().table(PointsLedger::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PointsLedger {
    Table,
    Id,
    VolunteerId,
    TeamId,
    Kind,
    Amount,
    OrderId,
    Reason,
    IdempotencyKey,
    CreatedBy,
    CreatedAt,
}
