//! Personal data and the audit of everything but orders: `orders.erased_at`
//! (when retention erased an order's free text, contact and exact place)
//! and the append-only `audit_log` of roster, team, account and points
//! changes (who, when, what changed).
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(timestamp_with_time_zone_null(Orders::ErasedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string_len_null(AuditLog::ActorRole, 16))
                    .col(string_len(AuditLog::Entity, 32))
                    .col(string_len(AuditLog::EntityId, 64))
                    .col(string_len(AuditLog::Action, 32))
                    .col(json_null(AuditLog::Data))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_entity")
                    .table(AuditLog::Table)
                    .col(AuditLog::Entity)
                    .col(AuditLog::EntityId)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await?;
        util::forbid_update_and_delete(manager, "audit_log").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        util::allow_update_and_delete(manager, "audit_log").await?;
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::ErasedAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    ErasedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    ActorId,
    ActorRole,
    Entity,
    EntityId,
    Action,
    Data,
    CreatedAt,
}
