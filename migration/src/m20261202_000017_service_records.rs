//! Service records: `shifts` (a team's rota: a span, duty or patrol, one
//! row per occurrence of a weekly series), `shift_members` (who is on a
//! shift, when the shift's start and end were applied to their duty, and
//! whether they left it, with their reason), `duty_changes` (every duty
//! switch with its source — manual or shift — the history that service
//! hours and a replay read), `volunteers.duty_source` (why a volunteer is on
//! duty now), `service_hours` (recorded service time: from check-in to
//! completion on an order, or on duty within a patrol shift; its source,
//! and a coordinator's confirmation or correction) and `hour_certificates`
//! (each 志愿服务证明 issued, by its verification code).
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + Copy + 'static,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    manager.create_index(i.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Shifts::Table)
                    .col(uuid(Shifts::Id).primary_key())
                    .col(uuid(Shifts::TeamId))
                    .col(uuid(Shifts::SeriesId))
                    .col(timestamp_with_time_zone(Shifts::StartsAt))
                    .col(timestamp_with_time_zone(Shifts::EndsAt))
                    .col(string_len(Shifts::Kind, 16))
                    .col(string_len_null(Shifts::Note, 200))
                    .col(uuid_null(Shifts::CreatedBy))
                    .col(timestamp_with_time_zone(Shifts::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_shifts_team_starts",
            Shifts::Table,
            &["team_id", "starts_at"],
        )
        .await?;
        index(manager, "idx_shifts_ends", Shifts::Table, &["ends_at"]).await?;
        index(manager, "idx_shifts_series", Shifts::Table, &["series_id"]).await?;
        manager
            .create_table(
                Table::create()
                    .table(ShiftMembers::Table)
                    .col(uuid(ShiftMembers::ShiftId))
                    .col(uuid(ShiftMembers::VolunteerId))
                    .col(timestamp_with_time_zone_null(ShiftMembers::BeganAt))
                    .col(timestamp_with_time_zone_null(ShiftMembers::EndedAt))
                    .col(timestamp_with_time_zone_null(ShiftMembers::LeftAt))
                    .col(string_len_null(ShiftMembers::LeaveReason, 500))
                    .primary_key(
                        Index::create()
                            .col(ShiftMembers::ShiftId)
                            .col(ShiftMembers::VolunteerId),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_shift_members_volunteer",
            ShiftMembers::Table,
            &["volunteer_id"],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(DutyChanges::Table)
                    .col(big_pk_auto(DutyChanges::Id))
                    .col(uuid(DutyChanges::VolunteerId))
                    .col(boolean(DutyChanges::OnDuty))
                    .col(string_len(DutyChanges::Source, 16))
                    .col(uuid_null(DutyChanges::ShiftId))
                    .col(timestamp_with_time_zone(DutyChanges::At))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_duty_changes_volunteer_at",
            DutyChanges::Table,
            &["volunteer_id", "at"],
        )
        .await?;
        index(manager, "idx_duty_changes_at", DutyChanges::Table, &["at"]).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Volunteers::Table)
                    .add_column(string_len_null(Volunteers::DutySource, 16))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ServiceHours::Table)
                    .col(uuid(ServiceHours::Id).primary_key())
                    .col(uuid(ServiceHours::VolunteerId))
                    .col(uuid(ServiceHours::TeamId))
                    .col(uuid_null(ServiceHours::OrderId))
                    .col(uuid_null(ServiceHours::ShiftId))
                    .col(timestamp_with_time_zone(ServiceHours::StartedAt))
                    .col(timestamp_with_time_zone(ServiceHours::EndedAt))
                    .col(integer(ServiceHours::Minutes))
                    .col(integer(ServiceHours::RecordedMinutes))
                    .col(string_len(ServiceHours::Source, 16))
                    .col(string_len(ServiceHours::Status, 16))
                    .col(string_len_null(ServiceHours::Reason, 500))
                    .col(uuid_null(ServiceHours::ReviewedBy))
                    .col(timestamp_with_time_zone_null(ServiceHours::ReviewedAt))
                    .col(timestamp_with_time_zone(ServiceHours::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "idx_service_hours_volunteer",
            ServiceHours::Table,
            &["volunteer_id", "started_at"],
        )
        .await?;
        index(
            manager,
            "idx_service_hours_team",
            ServiceHours::Table,
            &["team_id", "started_at"],
        )
        .await?;
        // One record per volunteer and order, and per volunteer and shift:
        // whichever process records it first decides.
        manager
            .create_index(
                Index::create()
                    .name("uniq_service_hours_order")
                    .table(ServiceHours::Table)
                    .col(ServiceHours::VolunteerId)
                    .col(ServiceHours::OrderId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uniq_service_hours_shift")
                    .table(ServiceHours::Table)
                    .col(ServiceHours::VolunteerId)
                    .col(ServiceHours::ShiftId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HourCertificates::Table)
                    .col(string_len(HourCertificates::Code, 32).primary_key())
                    .col(uuid(HourCertificates::VolunteerId))
                    .col(date(HourCertificates::FromDay))
                    .col(date(HourCertificates::ToDay))
                    .col(integer(HourCertificates::TotalMinutes))
                    .col(integer(HourCertificates::Services))
                    .col(uuid_null(HourCertificates::IssuedBy))
                    .col(timestamp_with_time_zone(HourCertificates::IssuedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            HourCertificates::Table.into_iden(),
            ServiceHours::Table.into_iden(),
            DutyChanges::Table.into_iden(),
            ShiftMembers::Table.into_iden(),
            Shifts::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Volunteers::Table)
                    .drop_column(Volunteers::DutySource)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Shifts {
    Table,
    Id,
    TeamId,
    SeriesId,
    StartsAt,
    EndsAt,
    Kind,
    Note,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ShiftMembers {
    Table,
    ShiftId,
    VolunteerId,
    BeganAt,
    EndedAt,
    LeftAt,
    LeaveReason,
}

#[derive(DeriveIden, Clone, Copy)]
enum DutyChanges {
    Table,
    Id,
    VolunteerId,
    OnDuty,
    Source,
    ShiftId,
    At,
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    DutySource,
}

#[derive(DeriveIden, Clone, Copy)]
enum ServiceHours {
    Table,
    Id,
    VolunteerId,
    TeamId,
    OrderId,
    ShiftId,
    StartedAt,
    EndedAt,
    Minutes,
    RecordedMinutes,
    Source,
    Status,
    Reason,
    ReviewedBy,
    ReviewedAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum HourCertificates {
    Table,
    Code,
    VolunteerId,
    FromDay,
    ToDay,
    TotalMinutes,
    Services,
    IssuedBy,
    IssuedAt,
}
