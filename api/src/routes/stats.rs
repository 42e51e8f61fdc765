//! Statistics per team for coordinators.
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use zhongdui_domain::TeamId;
use zhongdui_domain::text::phrases as p;

use crate::auth::AuthUser;
use crate::entities::team;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::services::stats;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats/teams", web::get().to(team_stats));
}

/// Which period and teams.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First day, `YYYY-MM-DD` (China time, inclusive). Default: 29 days before `to`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (China time, inclusive). Default: today.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Only this team (which the caller must manage).
    pub team_id: Option<String>,
}

/// One team's figures for the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamStats {
    /// Team id.
    pub team_id: String,
    /// Team name.
    pub team_name: String,
    /// Offers made to members in the period (by `offered_at`; rows created by
    /// a dispatch wave, not grabs or manual assignments).
    pub offers: i64,
    /// Of those offers, how many the member took (accepted it, or grabbed the
    /// order while it was open), whatever happened after.
    pub accepted: i64,
    /// Of those offers, declined.
    pub declined: i64,
    /// Of those offers, left to time out.
    pub expired: i64,
    /// accepted / (accepted + declined + expired); null when that is 0.
    /// Offers still open, or withdrawn because the order filled or was
    /// cancelled, are in neither part.
    pub acceptance_rate: Option<f64>,
    /// Distinct orders a member came onto in the period (accepted an offer,
    /// grabbed or was assigned; by the time they did).
    pub orders_served: i64,
    /// Mean seconds from an order's placement to its first accept, over the
    /// orders first accepted in the period whose first accepter was a member;
    /// null when none. One decimal.
    pub avg_first_accept_secs: Option<f64>,
    /// Members' assignments completed in the period (by `completed_at`).
    pub completed: i64,
    /// Mean seconds from the member's accepting (`responded_at`) to their
    /// completing, over those; null when none. One decimal.
    pub avg_completion_secs: Option<f64>,
    /// Members who came onto an order in the period and never arrived:
    /// taken off by a coordinator (`removed`), or still on it when a
    /// coordinator cancelled the order (`cancelled` without `arrived_at`;
    /// a resident withdrawing their own request does not count), or left
    /// `accepted` on an order that was finished without them.
    pub no_shows: i64,
}

/// The statistics page.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamStatsPage {
    /// First day (inclusive).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// One row per team in scope, activity or not, by team name.
    pub items: Vec<TeamStats>,
}

/// Per-team statistics for a period of days (staff: admins see every team,
/// coordinators the teams they coordinate).
///
/// Days are China Standard Time (UTC+8), `from` and `to` inclusive; the
/// default is the 30 days up to and including today. A volunteer's activity
/// counts for the team they belong to now. Each figure is dated by its own
/// moment: offers by `offered_at` (their outcome counts with them), orders
/// served and no-shows by when the member came onto the order, first
/// accepts by the order's `first_accepted_at`, completions by
/// `completed_at`.
///
/// - `offers`: offers a dispatch wave made to members; `accepted`,
///   `declined`, `expired`: what became of them (a coordinator's manual
///   assignment over an unanswered offer is not an acceptance);
///   `acceptance_rate` = accepted / (accepted + declined + expired), null
///   when 0.
/// - `orders_served`: distinct orders a member came onto (accepting an
///   offer, grabbing or being assigned), whatever happened after.
/// - `avg_first_accept_secs`: mean of `first_accepted_at − created_at` over
///   the orders whose first accepter (the volunteer whose acceptance set
///   `first_accepted_at`) was a member.
/// - `completed`, `avg_completion_secs`: members' completed assignments and
///   the mean of `completed_at − responded_at` (the moment they accepted,
///   grabbed or were assigned).
/// - `no_shows`: members who came onto an order and never arrived: taken off
///   it by a coordinator (`removed`), or still on it (`accepted`, not
///   `arrived`) when a coordinator cancelled the order or when it was
///   finished without them. A resident cancelling their own request (allowed
///   only before anyone arrives) is not a no-show.
#[utoipa::path(get, path = "/api/v1/stats/teams", tag = "stats", security(("bearer" = [])), params(StatsQuery),
    responses((status = 200, body = TeamStatsPage),
        (status = 403, description = "not staff, or not a team you coordinate"),
        (status = 404, description = "no such team"),
        (status = 422, description = "bad date or team id, or from after to (names the field)")))]
pub async fn team_stats(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<StatsQuery>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let (from, to, team_id) = read_query(&query, &state)?;
    let scope = team_scope(&state, &user, team_id).await?;
    let mut select = team::Entity::find();
    if let Some(ids) = &scope {
        select = select.filter(team::Column::Id.is_in(ids.clone()));
    }
    let teams = select
        .order_by_asc(team::Column::Name)
        .all(&state.db)
        .await?;
    let (start, end) = crate::clock::local_days(from, to)?;
    let mut figures = stats::team_figures(&state.db, start, end, scope.as_deref()).await?;
    let items = teams
        .into_iter()
        .map(|t| {
            let f = figures.remove(&t.id).unwrap_or_default();
            team_row(t, f)
        })
        .collect();
    Ok(HttpResponse::Ok().json(TeamStatsPage { from, to, items }))
}

/// The period (`to` defaults to today in China, `from` to 29 days before)
/// and the team asked for.
fn read_query(
    query: &StatsQuery,
    state: &AppState,
) -> ApiResult<(NaiveDate, NaiveDate, Option<Uuid>)> {
    crate::routes::period_and_team(
        state,
        query.from.as_deref(),
        query.to.as_deref(),
        query.team_id.as_deref(),
        29,
    )
}

/// The teams the figures cover: the one asked for (which the caller must
/// manage), else every team for admins and their own for coordinators.
async fn team_scope(
    state: &AppState,
    user: &AuthUser,
    team_id: Option<Uuid>,
) -> ApiResult<Option<Vec<Uuid>>> {
    Ok(match (team_id, user.role) {
        (Some(t), _) => {
            team::Entity::find_by_id(t)
                .one(&state.db)
                .await?
                .ok_or(ApiError::NotFound(&p::NOUN_TEAM))?;
            user.ensure_manages_team(state, TeamId(t)).await?;
            Some(vec![t])
        }
        (None, _) => user
            .team_scope(state)
            .await?
            .map(|ts| ts.into_iter().map(|t| t.0).collect()),
    })
}

fn team_row(t: team::Model, f: stats::TeamFigures) -> TeamStats {
    let answered = f.accepted + f.declined + f.expired;
    TeamStats {
        team_id: t.id.to_string(),
        team_name: t.name,
        offers: f.offers,
        accepted: f.accepted,
        declined: f.declined,
        expired: f.expired,
        #[allow(clippy::cast_precision_loss)]
        acceptance_rate: (answered > 0).then(|| f.accepted as f64 / answered as f64),
        orders_served: f.orders_served,
        avg_first_accept_secs: f.avg_first_accept_secs,
        completed: f.completed,
        avg_completion_secs: f.avg_completion_secs,
        no_shows: f.no_shows,
    }
}
