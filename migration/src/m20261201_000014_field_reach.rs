//! Reaching volunteers who are not on the page: `push_subscriptions` (a
//! browser's Web Push subscription: its endpoint, the keys the payload is
//! encrypted to, the language its notifications are written in),
//! `live_sessions` (which account holds a WebSocket on which process, kept
//! fresh by that process, so any process can tell who is not reachable
//! live), `notifications` (an offer, assignment, cancellation or broadcast
//! that must reach a volunteer with no live socket, and how far it got),
//! `sms_messages` (every text sent, refused by the rate limit or failed,
//! with the phone masked) and `cursors` (how far the notifier has read the
//! outbox, by publication number).
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
                    .table(PushSubscriptions::Table)
                    .col(uuid(PushSubscriptions::Id).primary_key())
                    .col(uuid(PushSubscriptions::UserId))
                    .col(string_len_uniq(PushSubscriptions::Endpoint, 2048))
                    .col(string_len(PushSubscriptions::P256dh, 128))
                    .col(string_len(PushSubscriptions::Auth, 64))
                    .col(string_len(PushSubscriptions::Lang, 8))
                    .col(timestamp_with_time_zone(PushSubscriptions::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        PushSubscriptions::LastSuccessAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_push_subscriptions_user")
                    .table(PushSubscriptions::Table)
                    .col(PushSubscriptions::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LiveSessions::Table)
                    .col(uuid(LiveSessions::UserId))
                    .col(string_len(LiveSessions::Process, 64))
                    .col(timestamp_with_time_zone(LiveSessions::SeenAt))
                    .primary_key(
                        Index::create()
                            .col(LiveSessions::UserId)
                            .col(LiveSessions::Process),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_live_sessions_process")
                    .table(LiveSessions::Table)
                    .col(LiveSessions::Process)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(uuid(Notifications::UserId))
                    .col(string_len(Notifications::Kind, 32))
                    .col(uuid_null(Notifications::OrderId))
                    .col(uuid_null(Notifications::OfferId))
                    .col(string_len(Notifications::Urgency, 16))
                    .col(text(Notifications::Payload))
                    .col(string_len(Notifications::Receipt, 64))
                    .col(string_len(Notifications::Status, 16))
                    .col(integer(Notifications::Attempts))
                    .col(timestamp_with_time_zone(Notifications::NextAt))
                    .col(timestamp_with_time_zone(Notifications::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Notifications::PushedAt))
                    .col(timestamp_with_time_zone_null(Notifications::SmsDueAt))
                    .col(timestamp_with_time_zone_null(Notifications::AckedAt))
                    .col(text_null(Notifications::LastError))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_due")
                    .table(Notifications::Table)
                    .col(Notifications::Status)
                    .col(Notifications::NextAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_user")
                    .table(Notifications::Table)
                    .col(Notifications::UserId)
                    .col(Notifications::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SmsMessages::Table)
                    .col(big_pk_auto(SmsMessages::Id))
                    .col(uuid(SmsMessages::UserId))
                    .col(big_integer_null(SmsMessages::NotificationId))
                    .col(string_len(SmsMessages::PhoneMasked, 32))
                    .col(string_len(SmsMessages::Provider, 16))
                    .col(string_len(SmsMessages::Template, 64))
                    .col(text(SmsMessages::Params))
                    .col(string_len(SmsMessages::Status, 16))
                    .col(string_len_null(SmsMessages::ProviderRef, 128))
                    .col(text_null(SmsMessages::Error))
                    .col(timestamp_with_time_zone(SmsMessages::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sms_messages_user")
                    .table(SmsMessages::Table)
                    .col(SmsMessages::UserId)
                    .col(SmsMessages::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Cursors::Table)
                    .col(string_len(Cursors::Name, 64).primary_key())
                    .col(big_integer(Cursors::Position))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Cursors::Table.into_iden(),
            SmsMessages::Table.into_iden(),
            Notifications::Table.into_iden(),
            LiveSessions::Table.into_iden(),
            PushSubscriptions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum PushSubscriptions {
    Table,
    Id,
    UserId,
    Endpoint,
    P256dh,
    Auth,
    Lang,
    CreatedAt,
    LastSuccessAt,
}

#[derive(DeriveIden)]
enum LiveSessions {
    Table,
    UserId,
    Process,
    SeenAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    OrderId,
    OfferId,
    Urgency,
    Payload,
    Receipt,
    Status,
    Attempts,
    NextAt,
    ExpiresAt,
    PushedAt,
    SmsDueAt,
    AckedAt,
    LastError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SmsMessages {
    Table,
    Id,
    UserId,
    NotificationId,
    PhoneMasked,
    Provider,
    Template,
    Params,
    Status,
    ProviderRef,
    Error,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Cursors {
    Table,
    Name,
    Position,
}
