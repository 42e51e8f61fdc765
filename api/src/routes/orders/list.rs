//! Finding orders: the list with its filters, one order, the escalation queue and the index view.
use actix_web::{HttpResponse, web};
use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{Category, OrderStatus, Role, Urgency};

use super::views::{OrderOut, View, detail, orders_out, view_of};
use crate::auth::AuthUser;
use crate::entities::{assignment, order, team, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::{Page, PageParams, parse_day, parse_id};
use crate::services::orders::{self};
use crate::services::roster::Errors;
use crate::state::AppState;
use zhongdui_domain::{AssignmentState, OrderSource};

/// Filters for the order list (all optional, combined with AND; empty means absent).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Code or address contains this text (case-insensitive, up to 100 characters).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Only this urgency: low, normal, urgent, critical.
    pub urgency: Option<String>,
    /// Only this source: resident, coordinator, station.
    pub source: Option<String>,
    /// Only orders of this team: a member of it is (or was, to completion) on
    /// the order (accepted, arrived or completed), or the order was sent to it
    /// first (`target_team_id`).
    pub team_id: Option<String>,
    /// Placed on or after this day, `YYYY-MM-DD` (China time).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Placed on or before this day, `YYYY-MM-DD` (China time).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

/// `%text%` for LIKE, with the wildcards in `text` escaped by `\`.
pub(super) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The list filters as conditions on orders (422 naming each bad parameter).
pub(super) async fn order_filters(state: &AppState, query: &OrderQuery) -> ApiResult<Condition> {
    let mut errors = Errors::default();
    let mut cond = Condition::all();
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(s) = given(&query.status) {
        match s.parse::<OrderStatus>() {
            Ok(status) => cond = cond.add(order::Column::Status.eq(status.code())),
            Err(e) => errors.push("status", e.message),
        }
    }
    if let Some(c) = given(&query.category) {
        match c.parse::<Category>() {
            Ok(category) => cond = cond.add(order::Column::Category.eq(category.code())),
            Err(e) => errors.push("category", e.message),
        }
    }
    if let Some(u) = given(&query.urgency) {
        match u.parse::<Urgency>() {
            Ok(urgency) => cond = cond.add(order::Column::Urgency.eq(urgency.code())),
            Err(e) => errors.push("urgency", e.message),
        }
    }
    if let Some(src) = given(&query.source) {
        match src.parse::<OrderSource>() {
            Ok(source) => cond = cond.add(order::Column::Source.eq(source.code())),
            Err(_) => errors.push(
                "source",
                p::ONE_OF.with("values", "resident, coordinator, station"),
            ),
        }
    }
    // The length as sent (the document's maxLength), the search trimmed.
    if query.q.as_deref().is_some_and(|q| q.chars().count() > 100) {
        errors.push("q", p::LENGTH_MAX.with("max", 100));
    }
    if let Some(q) = given(&query.q) {
        let pattern = contains_pattern(&q.to_lowercase());
        let lower = |c: order::Column| Expr::expr(Func::lower(Expr::col(c)));
        cond = cond.add(
            Condition::any()
                .add(lower(order::Column::Code).like(LikeExpr::new(pattern.clone()).escape('\\')))
                .add(lower(order::Column::Address).like(LikeExpr::new(pattern).escape('\\'))),
        );
    }
    let from = parse_day("from", query.from.as_deref(), &mut errors);
    let to = parse_day("to", query.to.as_deref(), &mut errors);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.push("from", &p::NOT_AFTER_TO);
    }
    let team_id = match given(&query.team_id) {
        Some(raw) => parse_id::<Uuid>("team_id", &raw)
            .map_err(|_| errors.push("team_id", p::ID_FORMAT.with("value", raw.as_str())))
            .ok(),
        None => None,
    };
    errors.finish()?;
    if let Some(f) = from {
        cond = cond.add(order::Column::CreatedAt.gte(crate::clock::local_day_start(f)?));
    }
    if let Some(t) = to {
        cond = cond.add(
            order::Column::CreatedAt.lt(crate::clock::local_day_start(t + Duration::days(1))?),
        );
    }
    if let Some(t) = team_id {
        if team::Entity::find_by_id(t).one(&state.db).await?.is_none() {
            return Err(ApiError::invalid("team_id", &p::NO_SUCH_TEAM));
        }
        let members_on = members_on(t);
        cond = cond.add(
            Condition::any()
                .add(order::Column::TargetTeamId.eq(t))
                .add(order::Column::TargetTeamIds.contains(t.to_string()))
                .add(order::Column::Id.in_subquery(members_on)),
        );
    }
    Ok(cond)
}

/// The orders that members of team `t` are on (in any state of being on an order).
fn members_on(t: Uuid) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column((assignment::Entity, assignment::Column::OrderId))
        .from(assignment::Entity)
        .inner_join(
            volunteer::Entity,
            Expr::col((volunteer::Entity, volunteer::Column::Id))
                .equals((assignment::Entity, assignment::Column::VolunteerId)),
        )
        .and_where(Expr::col((volunteer::Entity, volunteer::Column::TeamId)).eq(t))
        .and_where(
            Expr::col((assignment::Entity, assignment::Column::State))
                .is_in(AssignmentState::codes(&AssignmentState::ON_ORDER)),
        )
        .to_owned()
}

/// Orders the caller may see (residents their own, volunteers those they are
/// on, staff all), newest first, narrowed by the filters.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(PageParams, OrderQuery),
    responses((status = 200, body = Page<OrderOut>), (status = 422, description = "a bad filter value (names the parameter)")))]
pub async fn list_orders(
    state: web::Data<AppState>,
    user: AuthUser,
    paging: Query<PageParams>,
    query: Query<OrderQuery>,
) -> ApiResult<HttpResponse> {
    let (page, per_page) = paging.checked()?;
    let (mine, view) = readable(&state, &user).await?;
    let mut select = order::Entity::find().filter(mine);
    select = select.filter(order_filters(&state, &query).await?);
    let paginator = select
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .paginate(&state.db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page - 1).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: orders_out(&state.db, &rows, view).await?,
        total,
        page,
        per_page,
    }))
}

/// The orders `user` may list, and how they see them: staff all, a
/// resident their own, a volunteer those they are on.
async fn readable(state: &AppState, user: &AuthUser) -> ApiResult<(Condition, View)> {
    let me = user.id.as_uuid();
    Ok(match user.role {
        Role::Admin | Role::Coordinator => (Condition::all(), View::Staff),
        Role::Resident => (
            Condition::all().add(order::Column::ResidentId.eq(me)),
            View::Owner,
        ),
        Role::Volunteer => {
            let on_order = AssignmentState::codes(&AssignmentState::ON_ORDER);
            let mine: Vec<Uuid> = assignment::Entity::find()
                .filter(assignment::Column::VolunteerId.eq(me))
                .filter(assignment::Column::State.is_in(on_order))
                .all(&state.db)
                .await?
                .into_iter()
                .map(|a| a.order_id)
                .collect();
            let c = Condition::all().add(order::Column::Id.is_in(mine));
            (c, View::Assigned)
        }
    })
}

/// One order with its assignments and (for the resident and staff) its audit trail.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 404, description = "no such order, or not yours")))]
pub async fn get_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    let o = orders::load(&state.db, id).await?;
    let view = view_of(&state, &user, &o).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, view, user.id.as_uuid()).await?))
}

/// The escalation queue: orders nobody took, oldest first (staff).
#[utoipa::path(get, path = "/api/v1/escalations", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = [OrderOut])))]
pub async fn escalations(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let rows = order::Entity::find()
        .filter(order::Column::Status.eq(OrderStatus::Escalated.code()))
        .order_by_asc(order::Column::EscalatedAt)
        .all(&state.db)
        .await?;
    Ok(HttpResponse::Ok().json(orders_out(&state.db, &rows, View::Staff).await?))
}

/// What this process's dispatch index holds for a volunteer (admins): its
/// position, task count and capacity, and the offers it counts towards the
/// hourly cap; for checking that every process follows the same volunteers.
#[utoipa::path(get, path = "/api/v1/ops/index/{volunteer_id}", tag = "ops", security(("bearer" = [])),
    responses((status = 200, description = "indexed position, task count, capacity and offers in the last hour, if any")))]
pub async fn index_entry(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let id: Uuid = parse_id("volunteer_id", &id)?;
    let pos = crate::location::indexed_position(&state, id);
    let tasks = state.dispatcher.tasks_of(id);
    Ok(HttpResponse::Ok().json(json!({
        "volunteer_id": id.to_string(),
        "process": state.bus.origin.to_string(),
        "indexed_volunteers": state.dispatcher.indexed(),
        "lat": pos.map(|p| p.0),
        "lon": pos.map(|p| p.1),
        "active_tasks": tasks.map(|t| t.0),
        "capacity": tasks.map(|t| t.1),
        "offers_last_hour": state.dispatcher.offers_of(id, state.clock.now().timestamp()),
    })))
}
