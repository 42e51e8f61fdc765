//! Services: the queries and rules behind the routes. They return domain
//! values or database models, never HTTP responses.
pub mod accounts;
pub mod certificates;
pub mod clients;
pub mod coverage;
pub mod csv_roster;
pub mod hours;
pub mod hours_certificate;
pub mod liaison;
pub mod orders;
pub mod points;
pub mod privacy;
pub mod push_subscriptions;
pub mod roster;
pub mod rota;
pub mod stats;
pub mod webhooks;
