//! The OpenAPI document, generated from the handlers' annotations, and the
//! Swagger UI (vendored: it works with no network).
use actix_web::web;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{FieldError, Problem};
use crate::routes::{
    auth, broadcasts, clients, coverage, hours, me, ops, orders, places, points, push, roster,
    rota, skills, slips, stats, teams, volunteers,
};
use crate::services::csv_roster::{ImportReport, LineReport};
use crate::services::roster::Outcome;

#[derive(OpenApi)]
#[openapi(
    info(title = "众队 Zhongdui API", description = "Volunteer-team order-and-dispatch platform (点单+派单)."),
    paths(
        auth::register, auth::login, auth::me, auth::delete_me, auth::audit_log, auth::create_coordinator,
        teams::list_teams, teams::get_team, teams::create_team, teams::update_team,
        places::list_stations, places::put_station,
        volunteers::list_volunteers, volunteers::get_volunteer, volunteers::create_volunteer, volunteers::update_volunteer,
        volunteers::delete_volunteer, volunteers::volunteer_reliability,
        skills::list_skills, skills::catalogue,
        roster::import, roster::export,
        orders::create_order, orders::list_orders, orders::get_order, orders::grab, orders::arrive, orders::complete, orders::withdraw,
        orders::cancel, orders::confirm, orders::assign, orders::redispatch, orders::escalations, orders::index_entry,
        orders::list_messages, orders::post_message,
        broadcasts::send_broadcast, broadcasts::team_broadcasts, broadcasts::my_broadcasts,
        coverage::expiring, coverage::coverage_now,
        rota::team_shifts, rota::create_shifts, rota::delete_shift, rota::leave_shift, rota::my_shifts,
        hours::my_hours, hours::volunteer_hours, hours::list_hours, hours::totals, hours::export, hours::review,
        hours::certificate, hours::verify,
        push::vapid_public_key, push::subscribe, push::unsubscribe, push::receipt,
        me::put_location, me::put_duty, me::my_offers, me::accept, me::decline, me::nearby, me::my_points, me::my_reliability,
        points::leaderboard, points::adjust, points::export, points::volunteer_points,
        stats::team_stats,
        clients::create_client, clients::list_clients, clients::get_client, clients::update_client,
        clients::disable_client, clients::token, clients::deliveries, clients::redeliver,
        slips::create_slip, slips::get_slip, slips::close_slip,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    components(schemas(Problem, FieldError, ImportReport, LineReport, Outcome)),
    modifiers(&BearerAuth, &ProblemResponses),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "roster", description = "Teams, volunteers, CSV import/export"),
        (name = "catalogue", description = "Skills, categories, team kinds"),
        (name = "orders", description = "Orders (点单), dispatch (派单), escalation"),
        (name = "tasks", description = "A volunteer's work on an order"),
        (name = "volunteer", description = "Duty, position, offers, nearby tasks, points"),
        (name = "points", description = "Points ledger and leaderboards"),
        (name = "stats", description = "Statistics per team"),
        (name = "clients", description = "Machine clients (station systems) and their OAuth2 tokens"),
        (name = "slips", description = "Station slips (警单) from a station system, by client token"),
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

/// Every error a route can answer, documented with the Problem schema: the
/// ones every route shares (400, 404, 422, 429; 401 and 403 behind a token;
/// 408, 409, 413 and 415 for writes with a body) are added where a route's
/// own annotation does not list them, and every 4xx listed without a body
/// gets the Problem body.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Schema, SchemaType, Type};
        use utoipa::openapi::{Content, Ref, RefOr, Response};
        let problem = || {
            let mut r = Response::new("");
            r.content.insert(
                "application/problem+json".to_owned(),
                RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
            );
            r
        };
        let describe = |code: &str| match code {
            "400" => "malformed request (bad JSON, a value of the wrong type)",
            "401" => "no token, or an invalid, expired or revoked one",
            "403" => "the caller's role or teams do not allow this",
            "404" => "no such thing, or not visible to the caller",
            "408" => "the request body did not arrive in time",
            "409" => "conflicts with the current state",
            "413" => "the request body is too large",
            "415" => "wrong content type",
            "422" => "an invalid value (the problem names the field)",
            "429" => "rate limited (see Retry-After)",
            _ => "error",
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = path.starts_with("/api/v1/auth/")
                || path == "/api/v1/skills"
                || path == "/api/v1/catalogue"
                || !path.starts_with("/api/");
            let ops = [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (true, item.put.as_mut()),
                (true, item.patch.as_mut()),
                (true, item.delete.as_mut()),
            ];
            for (write, op) in ops {
                let Some(op) = op else { continue };
                for param in op.parameters.iter_mut().flatten() {
                    let RefOr::T(param) = param else { continue };
                    if let Some(schema) = param_schema(&param.name, &param.parameter_in) {
                        param.schema = Some(schema);
                    } else if let Some(RefOr::T(Schema::Object(o))) = param.schema.as_mut()
                        && o.pattern.is_none()
                        && match &o.schema_type {
                            SchemaType::Type(t) => *t == Type::String,
                            SchemaType::Array(ts) => ts.contains(&Type::String),
                            SchemaType::AnyValue => false,
                        }
                    {
                        // Free text in a query: anything but NUL (see `extract::parse_query`).
                        o.pattern = Some("^[^\\u0000]*$".to_owned());
                    }
                }
                let body = op.request_body.is_some();
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty()) || !public;
                let mut codes = vec!["400", "404", "422", "429"];
                if secured {
                    codes.extend(["401", "403"]);
                }
                if write {
                    codes.push("409");
                }
                if body {
                    codes.extend(["408", "413", "415"]);
                }
                for code in codes {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| {
                            let mut r = problem();
                            r.description = describe(code).to_owned();
                            RefOr::T(r)
                        });
                }
                for (code, resp) in op.responses.responses.iter_mut() {
                    if let RefOr::T(r) = resp
                        && code.starts_with('4')
                        && r.content.is_empty()
                    {
                        r.content = problem().content;
                    }
                }
            }
        }
    }
}

/// The constraints the handlers apply to a path or query parameter, by
/// name, so that the document says exactly what is accepted. Query filters
/// accept an empty value as "absent".
fn param_schema(
    name: &str,
    place: &utoipa::openapi::path::ParameterIn,
) -> Option<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    const UUID: &str =
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
    const DAY: &str = "[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])";
    let text = |pattern: String| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .build()
            .into()
    };
    let one_of = |codes: &[&str]| text(format!("^({})?$", codes.join("|")));
    if matches!(place, ParameterIn::Path) {
        match name {
            // A station's own slip number.
            "external_id" => return Some(text(crate::wire::slip_number_pattern().to_owned())),
            // A delivery's row number.
            "delivery_id" => return Some(text("^[1-9][0-9]{0,17}$".to_owned())),
            _ => {}
        }
        return Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .pattern(Some(format!("^{UUID}$")))
                .build()
                .into(),
        );
    }
    if !matches!(place, ParameterIn::Query) {
        return None;
    }
    let skills: Vec<&str> = zhongdui_domain::Skill::ALL
        .iter()
        .map(|s| s.code())
        .collect();
    let categories: Vec<&str> = zhongdui_domain::Category::ALL
        .iter()
        .map(|c| c.code())
        .collect();
    Some(match name {
        "team_id" => text(format!("^({UUID})?$")),
        // A map's box: four decimal degrees, or empty.
        "bbox" => {
            text("^(-?[0-9]{1,3}(\\.[0-9]{1,12})?(,-?[0-9]{1,3}(\\.[0-9]{1,12})?){3})?$".to_owned())
        }
        // A calendar day (`format: date` holds February's length, which a
        // pattern cannot), or empty.
        "from" | "to" => utoipa::openapi::schema::Schema::AnyOf(
            utoipa::openapi::schema::AnyOfBuilder::new()
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                        .pattern(Some(format!("^{DAY}$"))),
                )
                .item(text("^$".to_owned()))
                .build(),
        )
        .into(),
        "status" => one_of(&[
            "open",
            "escalated",
            "assigned",
            "in_progress",
            "completed",
            "confirmed",
            "closed",
            "cancelled",
        ]),
        "urgency" => one_of(&["low", "normal", "urgent", "critical"]),
        "source" => one_of(&zhongdui_domain::OrderSource::ALL.map(|s| s.code())),
        "category" => one_of(&categories),
        "skill" => text(format!("^({0})?(,({0}))*$", skills.join("|"))),
        "scope" => one_of(&["volunteers", "teams"]),
        "period" => one_of(&["week", "month", "all"]),

        _ => return None,
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/openapi.json", ApiDoc::openapi()));
}
