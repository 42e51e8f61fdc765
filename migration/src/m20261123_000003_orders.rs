//! Orders (help requests and station dispatch slips), offers/assignments of
//! volunteers to them, and the append-only log of everything that happened.
use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_accounts::Users;
use super::m20261123_000002_roster::{Teams, Volunteers};
use super::util;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(pk_uuid(Orders::Id))
                    .col(string_len_uniq(Orders::Code, 32))
                    .col(string_len(Orders::Status, 16))
                    .col(string_len(Orders::Category, 32))
                    .col(string_len(Orders::RequiredSkills, 200))
                    .col(small_integer(Orders::Tier))
                    .col(string_len(Orders::Urgency, 16))
                    .col(double(Orders::Lat))
                    .col(double(Orders::Lon))
                    .col(string_len(Orders::Address, 200))
                    .col(text(Orders::Description))
                    .col(integer(Orders::Headcount).default(1))
                    .col(integer(Orders::Filled).default(0))
                    // resident | coordinator | station
                    .col(string_len(Orders::Source, 16))
                    .col(uuid(Orders::CreatedBy))
                    .col(uuid_null(Orders::ResidentId))
                    .col(string_len_null(Orders::ContactPhone, 20))
                    .col(uuid_null(Orders::TargetTeamId))
                    .col(string_len_null(Orders::Station, 100))
                    .col(integer(Orders::Wave).default(0))
                    // When the dispatcher must look at the order again (wave
                    // deadline, team spill-over, auto-close); durable across restarts.
                    .col(timestamp_with_time_zone_null(Orders::NextActionAt))
                    .col(timestamp_with_time_zone_null(Orders::EscalatedAt))
                    .col(timestamp_with_time_zone_null(Orders::FirstAcceptedAt))
                    .col(timestamp_with_time_zone_null(Orders::ArrivedAt))
                    .col(timestamp_with_time_zone_null(Orders::CompletedAt))
                    .col(timestamp_with_time_zone_null(Orders::ClosedAt))
                    .col(timestamp_with_time_zone_null(Orders::CancelledAt))
                    .col(text_null(Orders::CancelReason))
                    .col(small_integer_null(Orders::Rating))
                    .col(text_null(Orders::Feedback))
                    .col(integer(Orders::Version).default(0))
                    .col(timestamp_with_time_zone(Orders::CreatedAt))
                    .col(timestamp_with_time_zone(Orders::UpdatedAt))
                    .check(Expr::col(Orders::Filled).gte(0))
                    .check(Expr::col(Orders::Filled).lte(Expr::col(Orders::Headcount)))
                    .check(Expr::col(Orders::Headcount).gte(1))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orders::Table, Orders::CreatedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orders::Table, Orders::ResidentId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orders::Table, Orders::TargetTeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_status_next")
                    .table(Orders::Table)
                    .col(Orders::Status)
                    .col(Orders::NextActionAt)
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_orders_resident", Orders::ResidentId),
            ("idx_orders_created_by", Orders::CreatedBy),
            ("idx_orders_created_at", Orders::CreatedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Orders::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        // Sequence per day for human-readable codes (ZD-20261123-0042).
        manager
            .create_table(
                Table::create()
                    .table(OrderCodeCounters::Table)
                    .col(string_len(OrderCodeCounters::Day, 8).primary_key())
                    .col(integer(OrderCodeCounters::Last).default(0))
                    .to_owned(),
            )
            .await?;

        // An offer to, or assignment of, one volunteer on one order.
        // state: offered | accepted | declined | expired | withdrawn | arrived
        //        | completed | cancelled | removed
        // how:   offer | grab | manual | batch
        manager
            .create_table(
                Table::create()
                    .table(Assignments::Table)
                    .col(pk_uuid(Assignments::Id))
                    .col(uuid(Assignments::OrderId))
                    .col(uuid(Assignments::VolunteerId))
                    .col(string_len(Assignments::State, 16))
                    .col(string_len(Assignments::How, 16))
                    .col(integer(Assignments::Wave).default(0))
                    .col(double_null(Assignments::DistanceM))
                    .col(timestamp_with_time_zone(Assignments::OfferedAt))
                    .col(timestamp_with_time_zone_null(Assignments::Deadline))
                    .col(timestamp_with_time_zone_null(Assignments::RespondedAt))
                    .col(timestamp_with_time_zone_null(Assignments::ArrivedAt))
                    .col(timestamp_with_time_zone_null(Assignments::CompletedAt))
                    .col(text_null(Assignments::Note))
                    .col(uuid_null(Assignments::AssignedBy))
                    .col(timestamp_with_time_zone(Assignments::CreatedAt))
                    .col(timestamp_with_time_zone(Assignments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignments::Table, Assignments::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignments::Table, Assignments::VolunteerId)
                            .to(Volunteers::Table, Volunteers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_assignments_order_volunteer")
                    .table(Assignments::Table)
                    .col(Assignments::OrderId)
                    .col(Assignments::VolunteerId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, a, b) in [
            (
                "idx_assignments_volunteer_state",
                Assignments::VolunteerId,
                Assignments::State,
            ),
            (
                "idx_assignments_state_deadline",
                Assignments::State,
                Assignments::Deadline,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Assignments::Table)
                        .col(a)
                        .col(b)
                        .to_owned(),
                )
                .await?;
        }

        // Append-only: who did what to which order, when.
        manager
            .create_table(
                Table::create()
                    .table(OrderEvents::Table)
                    .col(big_pk_auto(OrderEvents::Id))
                    .col(uuid(OrderEvents::OrderId))
                    .col(uuid_null(OrderEvents::ActorId))
                    .col(string_len_null(OrderEvents::ActorRole, 16))
                    .col(string_len(OrderEvents::Kind, 32))
                    .col(string_len_null(OrderEvents::FromStatus, 16))
                    .col(string_len_null(OrderEvents::ToStatus, 16))
                    .col(json_null(OrderEvents::Data))
                    .col(timestamp_with_time_zone(OrderEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderEvents::Table, OrderEvents::OrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_order_events_order")
                    .table(OrderEvents::Table)
                    .col(OrderEvents::OrderId)
                    .col(OrderEvents::Id)
                    .to_owned(),
            )
            .await?;
        util::forbid_update_and_delete(manager, "order_events").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        util::allow_update_and_delete(manager, "order_events").await?;
        manager
            .drop_table(Table::drop().table(OrderEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Assignments::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OrderCodeCounters::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Orders::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Orders {
    Table,
    Id,
    Code,
    Status,
    Category,
    RequiredSkills,
    Tier,
    Urgency,
    Lat,
    Lon,
    Address,
    Description,
    Headcount,
    Filled,
    Source,
    CreatedBy,
    ResidentId,
    ContactPhone,
    TargetTeamId,
    Station,
    Wave,
    NextActionAt,
    EscalatedAt,
    FirstAcceptedAt,
    ArrivedAt,
    CompletedAt,
    ClosedAt,
    CancelledAt,
    CancelReason,
    Rating,
    Feedback,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderCodeCounters {
    Table,
    Day,
    Last,
}

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
    OrderId,
    VolunteerId,
    State,
    How,
    Wave,
    DistanceM,
    OfferedAt,
    Deadline,
    RespondedAt,
    ArrivedAt,
    CompletedAt,
    Note,
    AssignedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    Id,
    OrderId,
    ActorId,
    ActorRole,
    Kind,
    FromStatus,
    ToStatus,
    Data,
    CreatedAt,
}
