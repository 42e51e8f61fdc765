//! A volunteer's work on an order in the field: grabbing it, checking in, reporting it done.
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::{GeoPoint, OrderAction, OrderStatus, Role};

use super::views::{OrderOut, View, detail};
use crate::auth::AuthUser;
use crate::entities::{assignment, order, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::extract::Valid;
use crate::lifecycle::Work;
use crate::routes::parse_id;
use crate::services::orders::{self, Actor};
use crate::state::AppState;
use crate::wire::{self, trimmed};
use zhongdui_domain::AssignmentState;
use zhongdui_domain::ClaimHow;

pub(super) fn require_volunteer(user: &AuthUser) -> ApiResult<()> {
    if user.role == Role::Volunteer {
        Ok(())
    } else {
        Err(ApiError::forbidden("only volunteers may do this"))
    }
}

/// Take an open task directly (volunteers holding the skills it needs).
#[utoipa::path(post, path = "/api/v1/orders/{id}/grab", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 409, description = "already full, or no capacity"), (status = 422, description = "missing skills")))]
pub async fn grab(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let now = state.clock.now();
    let o = orders::load(&state.db, id).await?;
    let v = volunteer::Entity::find_by_id(user.id.as_uuid())
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound("volunteer"))?;
    let distance = grab_check(&state, &v, &o, now).await?;
    let distance = Some(distance);
    let mut work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let claimed = orders::claim(
        &work.txn,
        orders::Claim {
            order_id: id,
            volunteer_id: user.id.as_uuid(),
            how: ClaimHow::Grab,
            known: None,
            distance_m: distance,
        },
        work.channels(),
        work.trail(),
    )
    .await?;
    work.claimed(&claimed);
    work.commit().await?;
    let o = claimed.order;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Assigned, user.id.as_uuid()).await?))
}

/// Whether `v` may take `o` by grabbing it, by the dispatch rules: on duty,
/// a fresh position within the grab radius, the skills (with valid
/// certificates) it needs, and room for another task. Returns the distance.
pub(super) async fn grab_check(
    state: &AppState,
    v: &volunteer::Model,
    o: &order::Model,
    now: DateTime<Utc>,
) -> ApiResult<f64> {
    let d = &state.settings.dispatch;
    if !v.on_duty {
        return Err(ApiError::invalid(
            "on_duty",
            "go on duty before taking a task",
        ));
    }
    let (Some(lat), Some(lon), Some(seen)) = (v.lat, v.lon, v.location_at) else {
        return Err(ApiError::invalid(
            "location",
            "report your position first (PUT /api/v1/me/location)",
        ));
    };
    if (now - seen).num_seconds() > d.max_location_age_secs {
        return Err(ApiError::invalid(
            "location",
            format!(
                "your last position is {} minutes old; report where you are first",
                (now - seen).num_minutes()
            ),
        ));
    }
    let held = orders::valid_skills(&state.db, v.id, now).await?;
    if !held.contains_all(o.required()?) {
        return Err(ApiError::invalid(
            "skills",
            "you do not hold (a valid certificate for) the skills this task needs",
        ));
    }
    if v.active_tasks >= v.capacity {
        return Err(ApiError::conflict_on(
            "capacity",
            format!(
                "you already have {} of {} tasks in hand",
                v.active_tasks, v.capacity
            ),
        ));
    }
    let distance = GeoPoint::parse(lat, lon)?.distance_m(&o.point()?);
    if distance > d.grab_radius_m {
        return Err(ApiError::invalid(
            "distance_m",
            format!(
                "the task is {:.1} km away; you may take tasks within {:.1} km",
                distance / 1000.0,
                d.grab_radius_m / 1000.0
            ),
        ));
    }
    Ok(distance)
}

/// A position report.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct PositionIn {
    /// Latitude.
    #[validate(range(min = -90.0, max = 90.0, message = "latitude must be a number between -90 and 90"))]
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude.
    #[validate(range(min = -180.0, max = 180.0, message = "longitude must be a number between -180 and 180"))]
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

pub(super) async fn my_assignment(
    state: &AppState,
    order_id: Uuid,
    volunteer_id: Uuid,
) -> ApiResult<assignment::Model> {
    assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(order_id))
        .filter(assignment::Column::VolunteerId.eq(volunteer_id))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound("order"))
}

/// Check in on scene; must be within the configured distance of the order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/arrive", tag = "tasks", security(("bearer" = [])), request_body = PositionIn,
    responses((status = 200, body = OrderOut), (status = 422, description = "too far from the order")))]
pub async fn arrive(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<PositionIn>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let here = GeoPoint::parse(body.0.lat, body.0.lon)?;
    let now = state.clock.now();
    let o = orders::load(&state.db, id).await?;
    let a = my_assignment(&state, id, user.id.as_uuid()).await?;
    if a.state()? != AssignmentState::Accepted {
        return Err(ApiError::Conflict(format!(
            "your part in this order is {}, not accepted",
            a.state
        )));
    }
    // The server's own knowledge decides: the position must follow from the
    // last report at a plausible speed, and is then recorded as a report.
    let v = volunteer::Entity::find_by_id(user.id.as_uuid())
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound("volunteer"))?;
    let (Some(lat), Some(lon), Some(seen)) = (v.lat, v.lon, v.location_at) else {
        return Err(ApiError::invalid(
            "location",
            "share your position on the way (PUT /api/v1/me/location) before checking in",
        ));
    };
    let moved = GeoPoint::parse(lat, lon)?.distance_m(&here);
    let secs = ((now - seen).num_milliseconds() as f64 / 1000.0).max(1.0);
    let max_speed = state.settings.dispatch.max_speed_mps;
    if moved / secs > max_speed {
        return Err(ApiError::invalid(
            "lat",
            format!(
                "this position is {:.1} km from your last report {:.0} s ago, faster than {max_speed:.0} m/s; \
                 share your position on the way first",
                moved / 1000.0,
                secs
            ),
        ));
    }
    crate::location::record(&state, user.id.as_uuid(), here).await?;
    let distance = here.distance_m(&o.point()?);
    let limit = state.settings.dispatch.arrive_radius_m;
    if distance > limit {
        return Err(ApiError::invalid(
            "lat",
            format!("you are {distance:.0} m from the order; check in within {limit:.0} m"),
        ));
    }
    let work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let mut t = work.trail();
    let arrived = orders::move_assignment(
        &work.txn,
        &a,
        AssignmentState::Arrived,
        vec![(assignment::Column::ArrivedAt, Some(now).into())],
        (
            "arrived",
            json!({"volunteer_id": user.id.to_string(), "distance_m": distance.round()}),
        ),
        &mut t,
    )
    .await?;
    if !arrived {
        return Err(ApiError::Conflict(
            "your assignment changed meanwhile".to_owned(),
        ));
    }
    let o = orders::load(&work.txn, id).await?;
    let o = if o.status()? == OrderStatus::Assigned {
        orders::transition(
            &work.txn,
            &o,
            OrderAction::Arrive,
            vec![(order::Column::ArrivedAt, Some(work.now()).into())],
            json!({}),
            work.channels(),
            t,
        )
        .await?
    } else if o.status()? == OrderStatus::InProgress {
        t.write(&work.txn).await?;
        o
    } else {
        return Err(ApiError::Conflict(format!(
            "order {} is {}; check-in is for assigned orders",
            o.code, o.status
        )));
    };
    work.commit().await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Assigned, user.id.as_uuid()).await?))
}

/// Completion note.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CompleteIn {
    /// What was done (up to 2000 characters).
    #[validate(custom(function = "wire::note"))]
    #[schema(schema_with = wire::note_schema)]
    pub note: Option<String>,
}

/// Report the task done (after checking in).
#[utoipa::path(post, path = "/api/v1/orders/{id}/complete", tag = "tasks", security(("bearer" = [])), request_body = CompleteIn,
    responses((status = 200, body = OrderOut), (status = 409, description = "not checked in")))]
pub async fn complete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<CompleteIn>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let note = trimmed(body.0.note.as_deref());
    let now = state.clock.now();
    let a = my_assignment(&state, id, user.id.as_uuid()).await?;
    if a.state()? != AssignmentState::Arrived {
        return Err(ApiError::Conflict(format!(
            "check in first (your part is {})",
            a.state
        )));
    }
    let mut work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let txn = &work.txn;
    let mut t = work.trail();
    let completed = orders::move_assignment(
        txn,
        &a,
        AssignmentState::Completed,
        vec![
            (assignment::Column::CompletedAt, Some(now).into()),
            (assignment::Column::Note, note.clone().into()),
        ],
        (
            "volunteer_completed",
            json!({"volunteer_id": user.id.to_string(), "note": note}),
        ),
        &mut t,
    )
    .await?;
    if !completed {
        return Err(ApiError::Conflict(
            "your assignment changed meanwhile".to_owned(),
        ));
    }
    orders::release_capacity(txn, user.id.as_uuid(), now).await?;
    t.write(txn).await?;
    let still_on: u64 = assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(id))
        .filter(assignment::Column::State.is_in(AssignmentState::codes(&AssignmentState::HOLDING)))
        .count(txn)
        .await?;
    let mut o = orders::load(txn, id).await?;
    if still_on == 0 && o.status()? == OrderStatus::InProgress {
        o = orders::transition(
            txn,
            &o,
            OrderAction::Complete,
            vec![(order::Column::CompletedAt, Some(now).into())],
            json!({}),
            work.channels(),
            work.trail(),
        )
        .await?;
    }
    work.changed(&[user.id.as_uuid()]);
    work.commit().await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Assigned, user.id.as_uuid()).await?))
}
