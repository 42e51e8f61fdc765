//! Indexes for the per-team statistics, which select assignments by when they
//! were offered, answered and completed.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, Assignments); 3] = [
    ("idx_assignments_offered_at", Assignments::OfferedAt),
    ("idx_assignments_responded_at", Assignments::RespondedAt),
    ("idx_assignments_completed_at", Assignments::CompletedAt),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, col) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Assignments::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(Assignments::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Assignments {
    Table,
    OfferedAt,
    RespondedAt,
    CompletedAt,
}
