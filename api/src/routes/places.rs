//! Places on the coordinator's map: the police stations (联勤警务站) by name,
//! listed for staff and placed by admins. Teams' bases are on the teams.
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::GeoPoint;

use crate::auth::AuthUser;
use crate::entities::station;
use crate::error::{ApiError, ApiResult};
use crate::extract::Valid;
use crate::state::AppState;
use crate::wire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/stations")
            .route(web::get().to(list_stations))
            .route(web::put().to(put_station)),
    );
}

/// A police station on the map.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationOut {
    /// Id.
    pub id: String,
    /// Its name, as teams and slips name it.
    pub name: String,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Longitude (WGS-84).
    pub lon: f64,
    /// Last placed.
    pub updated_at: DateTime<Utc>,
}

/// The stations.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationsOut {
    /// Every station, by name.
    pub items: Vec<StationOut>,
}

fn station_out(s: station::Model) -> StationOut {
    StationOut {
        id: s.id.to_string(),
        name: s.name,
        lat: s.lat,
        lon: s.lon,
        updated_at: s.updated_at,
    }
}

/// Every police station with its position (staff).
#[utoipa::path(get, path = "/api/v1/stations", tag = "roster", security(("bearer" = [])),
    responses((status = 200, body = StationsOut), (status = 403, description = "not staff")))]
pub async fn list_stations(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let rows = station::Entity::find()
        .order_by_asc(station::Column::Name)
        .all(&state.db)
        .await?;
    Ok(HttpResponse::Ok().json(StationsOut {
        items: rows.into_iter().map(station_out).collect(),
    }))
}

/// A station placed on the map.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct StationIn {
    /// Its name, 1–100 characters (a station of that name is moved).
    #[validate(custom(function = "wire::label"))]
    #[schema(schema_with = wire::label_schema)]
    pub name: String,
    /// Latitude (WGS-84).
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude (WGS-84).
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

/// Place a station, or move the one of that name (admins).
#[utoipa::path(put, path = "/api/v1/stations", tag = "roster", security(("bearer" = [])), request_body = StationIn,
    responses((status = 200, body = StationOut), (status = 403, description = "not an admin"), (status = 422, description = "invalid field")))]
pub async fn put_station(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Valid<StationIn>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let body = body.0;
    let at =
        GeoPoint::parse(body.lat, body.lon).map_err(|e| ApiError::invalid(e.field, e.message))?;
    let name = body.name.trim().to_owned();
    let now = crate::clock::wall();
    let existing = station::Entity::find()
        .filter(station::Column::Name.eq(name.as_str()))
        .one(&state.db)
        .await?;
    let saved = match existing {
        Some(s) => {
            let mut am: station::ActiveModel = s.into();
            am.lat = Set(at.lat());
            am.lon = Set(at.lon());
            am.updated_at = Set(now);
            am.update(&state.db).await?
        }
        None => {
            station::ActiveModel {
                id: Set(Uuid::now_v7()),
                name: Set(name),
                lat: Set(at.lat()),
                lon: Set(at.lon()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&state.db)
            .await?
        }
    };
    crate::services::privacy::audit(
        &state.db,
        user.actor(),
        "station",
        saved.id,
        "placed",
        serde_json::json!({"name": saved.name, "lat": saved.lat, "lon": saved.lon}),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(station_out(saved)))
}
