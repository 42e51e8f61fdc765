//! Every migration goes up and down cleanly, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use zhongdui_migration::Migrator;

const TABLES: [&str; 12] = [
    "users",
    "app_secrets",
    "teams",
    "team_coordinators",
    "volunteers",
    "volunteer_skills",
    "orders",
    "order_code_counters",
    "assignments",
    "order_events",
    "points_ledger",
    "outbox",
];

async fn exercise(db: &DatabaseConnection) {
    Migrator::up(db, None).await.unwrap();
    let manager = SchemaManager::new(db);
    for t in TABLES {
        assert!(manager.has_table(t).await.unwrap(), "{t} missing after up");
    }

    // The event log is append-only in the database itself.
    let backend = db.get_database_backend();
    let uid = "11111111-1111-1111-1111-111111111111";
    let (user_id, order_id) = match backend {
        sea_orm_migration::sea_orm::DatabaseBackend::Postgres => {
            (format!("'{uid}'::uuid"), format!("'{uid}'::uuid"))
        }
        _ => (
            format!("x'{}'", uid.replace('-', "")),
            format!("x'{}'", uid.replace('-', "")),
        ),
    };
    let now = "'2026-11-23T10:00:00+00:00'";
    db.execute_unprepared(&format!(
        "INSERT INTO users (id, phone, password_hash, display_name, role, created_at, updated_at) \
         VALUES ({user_id}, '13800000000', 'x', 'T', 'resident', {now}, {now})"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO orders (id, code, status, category, required_skills, tier, urgency, lat, lon, address, \
         description, source, created_by, created_at, updated_at) VALUES ({order_id}, 'ZD-1', 'open', 'general', '', 1, \
         'normal', 27.5, 120.5, 'a', 'd', 'resident', {user_id}, {now}, {now})"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO order_events (order_id, kind, created_at) VALUES ({order_id}, 'created', {now})"
    ))
    .await
    .unwrap();
    let update = db
        .execute_unprepared("UPDATE order_events SET kind = 'tampered'")
        .await;
    assert!(update.is_err(), "order_events must refuse updates");
    let delete = db.execute_unprepared("DELETE FROM order_events").await;
    assert!(delete.is_err(), "order_events must refuse deletes");
    // A headcount below one is refused by a check constraint.
    let bad = db
        .execute_unprepared("UPDATE orders SET headcount = 0")
        .await;
    assert!(bad.is_err(), "headcount 0 must be refused");

    Migrator::down(db, None).await.unwrap();
    for t in TABLES {
        assert!(!manager.has_table(t).await.unwrap(), "{t} left after down");
    }
    // And up again from nothing.
    Migrator::up(db, None).await.unwrap();
    assert_eq!(Migrator::get_pending_migrations(db).await.unwrap().len(), 0);
}

#[tokio::test]
async fn up_and_down_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let db = Database::connect(&url).await.unwrap();
    exercise(&db).await;
}

#[tokio::test]
async fn up_and_down_on_postgres() {
    let base = std::env::var("ZD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let admin = Database::connect(&base)
        .await
        .expect("PostgreSQL must be running for the tests (see README)");
    let name = format!("zd_mig_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let db = Database::connect(&format!("{prefix}/{name}"))
        .await
        .unwrap();
    exercise(&db).await;
    db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE {name}"))
        .await
        .unwrap();
}
