//! Zhongdui's database schema, one file per migration, running on SQLite and
//! PostgreSQL alike. Migrations use the schema helpers only, never the api's
//! entities, so that they stay as they were written.
#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_accounts;
mod m20261123_000002_roster;
mod m20261123_000003_orders;
mod m20261123_000004_points;
mod m20261123_000005_outbox;
mod m20261123_000006_stats_indexes;
mod m20261124_000007_outbox_seq;
mod m20261201_000008_privacy_audit;
mod m20261201_000009_clients_slips;
mod m20261201_000010_webhooks;
mod m20261201_000011_liaison;
mod m20261201_000012_role_slots;
mod m20261201_000013_idempotency;
mod m20261201_000014_field_reach;
mod m20261201_000015_no_show;
mod m20261201_000016_certificate_alerts;
mod m20261202_000017_service_records;
mod m20261202_000018_places;
mod m20261203_000019_reason_codes;
mod util;

/// Applies Zhongdui's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_accounts::Migration),
            Box::new(m20261123_000002_roster::Migration),
            Box::new(m20261123_000003_orders::Migration),
            Box::new(m20261123_000004_points::Migration),
            Box::new(m20261123_000005_outbox::Migration),
            Box::new(m20261123_000006_stats_indexes::Migration),
            Box::new(m20261124_000007_outbox_seq::Migration),
            Box::new(m20261201_000008_privacy_audit::Migration),
            Box::new(m20261201_000009_clients_slips::Migration),
            Box::new(m20261201_000010_webhooks::Migration),
            Box::new(m20261201_000011_liaison::Migration),
            Box::new(m20261201_000012_role_slots::Migration),
            Box::new(m20261201_000013_idempotency::Migration),
            Box::new(m20261201_000014_field_reach::Migration),
            Box::new(m20261201_000015_no_show::Migration),
            Box::new(m20261201_000016_certificate_alerts::Migration),
            Box::new(m20261202_000017_service_records::Migration),
            Box::new(m20261202_000018_places::Migration),
            Box::new(m20261203_000019_reason_codes::Migration),
        ]
    }
}
