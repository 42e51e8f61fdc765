//! Teams, their coordinators, volunteers and their skills with certificates.
use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Teams::Table)
                    .col(pk_uuid(Teams::Id))
                    .col(string_len_uniq(Teams::Name, 100))
                    .col(string_len(Teams::Kind, 32))
                    .col(string_len_null(Teams::Area, 100))
                    .col(string_len_null(Teams::Station, 100))
                    .col(timestamp_with_time_zone(Teams::CreatedAt))
                    .col(timestamp_with_time_zone(Teams::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TeamCoordinators::Table)
                    .col(uuid(TeamCoordinators::TeamId))
                    .col(uuid(TeamCoordinators::UserId))
                    .col(timestamp_with_time_zone(TeamCoordinators::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(TeamCoordinators::TeamId)
                            .col(TeamCoordinators::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TeamCoordinators::Table, TeamCoordinators::TeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TeamCoordinators::Table, TeamCoordinators::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_team_coordinators_user")
                    .table(TeamCoordinators::Table)
                    .col(TeamCoordinators::UserId)
                    .to_owned(),
            )
            .await?;

        // A volunteer is a user (same id) who belongs to one team.
        manager
            .create_table(
                Table::create()
                    .table(Volunteers::Table)
                    .col(pk_uuid(Volunteers::Id))
                    .col(uuid(Volunteers::TeamId))
                    .col(boolean(Volunteers::IsLeader).default(false))
                    .col(integer(Volunteers::Capacity).default(1))
                    .col(integer(Volunteers::ActiveTasks).default(0))
                    .col(boolean(Volunteers::OnDuty).default(false))
                    // Base position from the roster (home or station).
                    .col(double_null(Volunteers::HomeLat))
                    .col(double_null(Volunteers::HomeLon))
                    // Last reported live position.
                    .col(double_null(Volunteers::Lat))
                    .col(double_null(Volunteers::Lon))
                    .col(timestamp_with_time_zone_null(Volunteers::LocationAt))
                    .col(timestamp_with_time_zone_null(Volunteers::IdleSince))
                    .col(timestamp_with_time_zone(Volunteers::CreatedAt))
                    .col(timestamp_with_time_zone(Volunteers::UpdatedAt))
                    .check(Expr::col(Volunteers::ActiveTasks).gte(0))
                    .check(Expr::col(Volunteers::Capacity).gte(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Volunteers::Table, Volunteers::Id)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Volunteers::Table, Volunteers::TeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_volunteers_team", Volunteers::TeamId),
            ("idx_volunteers_duty", Volunteers::OnDuty),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Volunteers::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(VolunteerSkills::Table)
                    .col(uuid(VolunteerSkills::VolunteerId))
                    .col(string_len(VolunteerSkills::Skill, 32))
                    .col(date_null(VolunteerSkills::CertifiedUntil))
                    .primary_key(
                        Index::create()
                            .col(VolunteerSkills::VolunteerId)
                            .col(VolunteerSkills::Skill),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(VolunteerSkills::Table, VolunteerSkills::VolunteerId)
                            .to(Volunteers::Table, Volunteers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_volunteer_skills_skill")
                    .table(VolunteerSkills::Table)
                    .col(VolunteerSkills::Skill)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(VolunteerSkills::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Volunteers::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TeamCoordinators::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Teams::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum Teams {
    Table,
    Id,
    Name,
    Kind,
    Area,
    Station,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TeamCoordinators {
    Table,
    TeamId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Volunteers {
    Table,
    Id,
    TeamId,
    IsLeader,
    Capacity,
    ActiveTasks,
    OnDuty,
    HomeLat,
    HomeLon,
    Lat,
    Lon,
    LocationAt,
    IdleSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum VolunteerSkills {
    Table,
    VolunteerId,
    Skill,
    CertifiedUntil,
}
