//! Role slots (联勤联动): on `orders`, the roles a joint incident needs
//! (`skill:count;…`, fixed when it is placed; null for an order that needs
//! its category's skills from everyone), and on `assignments`, the role a
//! volunteer was offered or fills. How many fill a role is counted from the
//! assignments, under the order row's lock, so it can never disagree with them.
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
                    .table(Orders::Table)
                    .add_column(string_len_null(Orders::Roles, 400))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Assignments::Table)
                    .add_column(string_len_null(Assignments::Role, 32))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Assignments::Table)
                    .drop_column(Assignments::Role)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::Roles)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Roles,
}

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Role,
}
