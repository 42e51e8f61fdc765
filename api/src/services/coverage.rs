//! Coverage: for a grid over the city, how many volunteers could take an
//! order needing `skills` at each cell's centre right now — on duty, a
//! position no older than `dispatch.max_location_age_secs`, a free place
//! in their capacity, every one of the skills held (with a valid
//! certificate where it needs one; no skills: anyone), within `radius_m`
//! of the centre. Cells with none are the gaps.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use zhongdui_domain::{GeoPoint, Skill};

use crate::entities::{user, volunteer, volunteer_skill};
use crate::error::ApiResult;

/// At most this many cells (the cell grows past the radius to keep to it).
pub const MAX_CELLS: usize = 2_500;

/// One cell of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Its centre.
    pub lat: f64,
    /// Its centre.
    pub lon: f64,
    /// Available qualified volunteers within the radius of the centre.
    pub available: u32,
}

/// The grid.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// The cell's side, in metres.
    pub cell_m: f64,
    /// South-west corner of the grid.
    pub south: f64,
    /// South-west corner of the grid.
    pub west: f64,
    /// Rows (south to north) × columns (west to east).
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Cells, row by row from the south-west.
    pub cells: Vec<Cell>,
    /// Volunteers available for the skill now, anywhere.
    pub available: u32,
}

const M_PER_DEG_LAT: f64 = 111_195.0;

/// The available qualified volunteers' positions now.
async fn available<C: ConnectionTrait>(
    db: &C,
    skills: &[Skill],
    max_age_secs: i64,
    now: DateTime<Utc>,
) -> ApiResult<Vec<GeoPoint>> {
    let fresh = now - Duration::seconds(max_age_secs);
    let vols = volunteer::Entity::find()
        .filter(volunteer::Column::OnDuty.eq(true))
        .filter(volunteer::Column::LocationAt.gte(fresh))
        .all(db)
        .await?;
    let codes: Vec<&str> = skills.iter().map(|s| s.code()).collect();
    let held = if codes.is_empty() {
        Vec::new()
    } else {
        volunteer_skill::Entity::find()
            .filter(volunteer_skill::Column::Skill.is_in(codes))
            .all(db)
            .await?
    };
    let today = crate::clock::local_today(now)?;
    let mut valid: HashMap<Uuid, usize> = HashMap::new();
    for h in held {
        let Ok(skill) = h.skill.parse::<Skill>() else {
            continue;
        };
        if !skill.needs_certificate() || h.certified_until.is_some_and(|d| d >= today) {
            *valid.entry(h.volunteer_id).or_default() += 1;
        }
    }
    let disabled: HashSet<Uuid> = user::Entity::find()
        .filter(user::Column::Disabled.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    Ok(vols
        .into_iter()
        .filter(|v| v.active_tasks < v.capacity)
        .filter(|v| valid.get(&v.id).copied().unwrap_or(0) == skills.len())
        .filter(|v| !disabled.contains(&v.id))
        .filter_map(|v| GeoPoint::parse(v.lat?, v.lon?).ok())
        .collect())
}

/// The grid over every volunteer's last position (on duty or not: the
/// city as the roster covers it), padded by `radius_m`, cells of
/// `radius_m` (larger if that would exceed [`MAX_CELLS`]).
pub async fn coverage<C: ConnectionTrait>(
    db: &C,
    skills: &[Skill],
    radius_m: f64,
    max_age_secs: i64,
    now: DateTime<Utc>,
) -> ApiResult<Coverage> {
    let everyone: Vec<(f64, f64)> = volunteer::Entity::find()
        .filter(volunteer::Column::Lat.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|v| Some((v.lat?, v.lon?)))
        .collect();
    let here = available(db, skills, max_age_secs, now).await?;
    let total = u32::try_from(here.len()).unwrap_or(u32::MAX);
    if everyone.is_empty() {
        return Ok(Coverage {
            cell_m: radius_m,
            south: 0.0,
            west: 0.0,
            rows: 0,
            cols: 0,
            cells: Vec::new(),
            available: total,
        });
    }
    let (mut s, mut n, mut w, mut e) = (90.0_f64, -90.0_f64, 180.0_f64, -180.0_f64);
    for (lat, lon) in &everyone {
        s = s.min(*lat);
        n = n.max(*lat);
        w = w.min(*lon);
        e = e.max(*lon);
    }
    let mid = ((s + n) / 2.0).to_radians().cos().max(0.01);
    let pad_lat = radius_m / M_PER_DEG_LAT;
    let pad_lon = radius_m / (M_PER_DEG_LAT * mid);
    let (s, n, w, e) = (s - pad_lat, n + pad_lat, w - pad_lon, e + pad_lon);
    let height = (n - s) * M_PER_DEG_LAT;
    let width = (e - w) * M_PER_DEG_LAT * mid;
    let mut cell_m = radius_m;
    while ((height / cell_m).ceil() * (width / cell_m).ceil()) as usize > MAX_CELLS {
        cell_m *= 1.25;
    }
    let rows = (height / cell_m).ceil().max(1.0) as usize;
    let cols = (width / cell_m).ceil().max(1.0) as usize;
    let dlat = cell_m / M_PER_DEG_LAT;
    let dlon = cell_m / (M_PER_DEG_LAT * mid);
    let mut cells = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let lat = s + dlat * (r as f64 + 0.5);
            let lon = w + dlon * (c as f64 + 0.5);
            let centre = GeoPoint::parse(lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0))?;
            let count = here
                .iter()
                .filter(|p| p.distance_m(&centre) <= radius_m)
                .count();
            cells.push(Cell {
                lat: centre.lat(),
                lon: centre.lon(),
                available: u32::try_from(count).unwrap_or(u32::MAX),
            });
        }
    }
    Ok(Coverage {
        cell_m,
        south: s,
        west: w,
        rows,
        cols,
        cells,
        available: total,
    })
}
