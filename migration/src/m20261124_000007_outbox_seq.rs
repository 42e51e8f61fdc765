//! The event id clients see is the outbox row's publication number (`seq`),
//! handed out by the relay in the order rows are published. Row ids are
//! allocated when a transaction inserts, not when it commits, so with several
//! writers a higher id can be published before a lower one; a client that
//! resumes "after N" must not skip the lower one. Published rows keep their
//! id as their number, so clients holding an old id resume where they were.
//! A partial index serves the relay's look for waiting rows.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(ColumnDef::new(Outbox::Seq).big_integer().null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE outbox SET seq = id WHERE published_at IS NOT NULL")
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_outbox_seq")
                    .table(Outbox::Table)
                    .col(Outbox::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The relay's question ("what waits, oldest first") answered from an
        // index holding only the waiting rows, not from every row's
        // `published_at` (the old index kept entries of every published row
        // until vacuum, and the relay read through them on every round).
        db.execute_unprepared(
            "CREATE INDEX idx_outbox_waiting ON outbox (id) WHERE published_at IS NULL",
        )
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            // A sequence never hands a number out twice, even when the relay's
            // transaction rolls back after publishing.
            db.execute_unprepared("CREATE SEQUENCE outbox_seq").await?;
            db.execute_unprepared(
                "SELECT setval('outbox_seq', (SELECT COALESCE(MAX(id), 0) + 1 FROM outbox), false)",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_outbox_waiting")
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP SEQUENCE IF EXISTS outbox_seq")
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("uq_outbox_seq")
                    .table(Outbox::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .drop_column(Outbox::Seq)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Seq,
}
