//! The OpenAPI document, generated from the handlers' annotations, and the
//! Swagger UI (vendored: it works with no network).
use actix_web::web;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{FieldError, Problem};
use crate::routes::{auth, me, ops, orders, points, roster, skills, stats, teams, volunteers};
use crate::services::csv_roster::{ImportReport, LineReport};
use crate::services::roster::Outcome;

#[derive(OpenApi)]
#[openapi(
    info(title = "众队 Zhongdui API", description = "Volunteer-team order-and-dispatch platform (点单+派单)."),
    paths(
        auth::register, auth::login, auth::me, auth::create_coordinator,
        teams::list_teams, teams::get_team, teams::create_team, teams::update_team,
        volunteers::list_volunteers, volunteers::get_volunteer, volunteers::create_volunteer, volunteers::update_volunteer,
        skills::list_skills, skills::catalogue,
        roster::import, roster::export,
        orders::create_order, orders::list_orders, orders::get_order, orders::grab, orders::arrive, orders::complete,
        orders::cancel, orders::confirm, orders::assign, orders::redispatch, orders::escalations, orders::index_entry,
        me::put_location, me::put_duty, me::my_offers, me::accept, me::decline, me::nearby, me::my_points,
        points::leaderboard, points::adjust, points::export, points::volunteer_points,
        stats::team_stats,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    components(schemas(Problem, FieldError, ImportReport, LineReport, Outcome)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "roster", description = "Teams, volunteers, CSV import/export"),
        (name = "catalogue", description = "Skills, categories, team kinds"),
        (name = "orders", description = "Orders (点单), dispatch (派单), escalation"),
        (name = "tasks", description = "A volunteer's work on an order"),
        (name = "volunteer", description = "Duty, position, offers, nearby tasks, points"),
        (name = "points", description = "Points ledger and leaderboards"),
        (name = "stats", description = "Statistics per team"),
        (name = "ops", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", ApiDoc::openapi()));
}
