//! Places on the coordinator's map: a team's base (`teams.base_lat`,
//! `teams.base_lon`, WGS-84, optional) and the police stations
//! (`stations`: 联勤警务站 by name, with their position).
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for col in [Teams::BaseLat, Teams::BaseLon] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Teams::Table)
                        .add_column(double_null(col))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Stations::Table)
                    .col(uuid(Stations::Id).primary_key())
                    .col(string_len_uniq(Stations::Name, 100))
                    .col(double(Stations::Lat))
                    .col(double(Stations::Lon))
                    .col(timestamp_with_time_zone(Stations::CreatedAt))
                    .col(timestamp_with_time_zone(Stations::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Stations::Table).to_owned())
            .await?;
        for col in [Teams::BaseLat, Teams::BaseLon] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Teams::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Teams {
    Table,
    BaseLat,
    BaseLon,
}

#[derive(DeriveIden)]
enum Stations {
    Table,
    Id,
    Name,
    Lat,
    Lon,
    CreatedAt,
    UpdatedAt,
}
