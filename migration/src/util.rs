//! Helpers shared by the migrations.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// Makes `table` append-only: any UPDATE or DELETE fails in the database
/// itself, whatever code issues it.
pub async fn forbid_update_and_delete(
    manager: &SchemaManager<'_>,
    table: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            ))
            .await?;
        }
        DatabaseBackend::Sqlite => {
            for op in ["UPDATE", "DELETE"] {
                let lower = op.to_lowercase();
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {table}_no_{lower} BEFORE {op} ON {table} \
                     BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                ))
                .await?;
            }
        }
        other => {
            return Err(DbErr::Migration(format!(
                "unsupported database backend {other:?}"
            )));
        }
    }
    Ok(())
}

/// Undoes [`forbid_update_and_delete`].
pub async fn allow_update_and_delete(
    manager: &SchemaManager<'_>,
    table: &str,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
            ))
            .await?;
            db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS {table}_append_only()"))
                .await?;
        }
        _ => {
            for lower in ["update", "delete"] {
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_no_{lower}"))
                    .await?;
            }
        }
    }
    Ok(())
}
