//! No-shows: on `assignments`, when the volunteer on it is expected on
//! scene (`expected_by`, from the distance when they took it, a speed and a
//! slack), when they were found overdue (`overdue_at`: coordinators told,
//! a replacement asked for), and on a replacement offer the assignment it
//! would replace (`replaces`). Accepting such an offer swaps the two in one
//! transaction: the order's count of volunteers never moves.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for col in [
            timestamp_with_time_zone_null(Assignments::ExpectedBy),
            timestamp_with_time_zone_null(Assignments::OverdueAt),
            uuid_null(Assignments::Replaces),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Assignments::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_assignments_expected")
                    .table(Assignments::Table)
                    .col(Assignments::State)
                    .col(Assignments::ExpectedBy)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_assignments_expected")
                    .table(Assignments::Table)
                    .to_owned(),
            )
            .await?;
        for col in [
            Assignments::Replaces,
            Assignments::OverdueAt,
            Assignments::ExpectedBy,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Assignments::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Assignments {
    Table,
    State,
    ExpectedBy,
    OverdueAt,
    Replaces,
}
