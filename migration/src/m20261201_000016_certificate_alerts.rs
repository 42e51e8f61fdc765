//! Certificate expiry alerts: on `volunteer_skills`, the last alert sent
//! for the certificate's current expiry (30 or 7 days before), so each goes
//! once, whichever process sends it; a changed expiry starts afresh.
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(VolunteerSkills::Table)
                    .add_column(integer_null(VolunteerSkills::AlertedDays))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_volunteer_skills_until")
                    .table(VolunteerSkills::Table)
                    .col(VolunteerSkills::CertifiedUntil)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_volunteer_skills_until")
                    .table(VolunteerSkills::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(VolunteerSkills::Table)
                    .drop_column(VolunteerSkills::AlertedDays)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum VolunteerSkills {
    Table,
    CertifiedUntil,
    AlertedDays,
}
