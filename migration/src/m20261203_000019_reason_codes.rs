//! Points the system books itself (for a task, for a rating) say why with a
//! phrase code and its parameters (`points_ledger.reason_code`,
//! `reason_params` as a JSON object), so that the history is written in
//! the reader's language; `reason` keeps the English sentence (and, for
//! adjustments, the coordinator's own words).
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(PointsLedger::Table)
                    .add_column(string_len_null(PointsLedger::ReasonCode, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PointsLedger::Table)
                    .add_column(text_null(PointsLedger::ReasonParams))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [PointsLedger::ReasonParams, PointsLedger::ReasonCode] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PointsLedger::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PointsLedger {
    Table,
    ReasonCode,
    ReasonParams,
}
