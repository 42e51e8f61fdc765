//! Coverage: for a grid over the city, how many volunteers could take an
//! order needing `skills` at each cell's centre right now — on duty, a
//! position no older than `dispatch.max_location_age_secs`, a free place
//! in their capacity, every one of the skills held (with a valid
//! certificate where it needs one; no skills: anyone), within `radius_m`
//! of the centre. Cells with none are the gaps.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use zhongdui_domain::{GeoPoint, Skill};

use crate::entities::{shift, shift_member, team, user, volunteer, volunteer_skill};
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
    let today = crate::clock::local_today(now)?;
    let valid = qualified(db, skills, today).await?;
    let disabled = disabled(db).await?;
    Ok(vols
        .into_iter()
        .filter(|v| v.active_tasks < v.capacity)
        .filter(|v| skills.is_empty() || valid.contains(&v.id))
        .filter(|v| !disabled.contains(&v.id))
        .filter_map(|v| GeoPoint::parse(v.lat?, v.lon?).ok())
        .collect())
}

/// Volunteers holding every one of `skills` on `day` (a certificate valid
/// that day where the skill needs one); none asked: empty (anyone).
async fn qualified<C: ConnectionTrait>(
    db: &C,
    skills: &[Skill],
    day: NaiveDate,
) -> ApiResult<HashSet<Uuid>> {
    let codes: Vec<&str> = skills.iter().map(|s| s.code()).collect();
    if codes.is_empty() {
        return Ok(HashSet::new());
    }
    let held = volunteer_skill::Entity::find()
        .filter(volunteer_skill::Column::Skill.is_in(codes))
        .all(db)
        .await?;
    let mut valid: HashMap<Uuid, usize> = HashMap::new();
    for h in held {
        let Ok(skill) = h.skill.parse::<Skill>() else {
            continue;
        };
        if !skill.needs_certificate() || h.certified_until.is_some_and(|d| d >= day) {
            *valid.entry(h.volunteer_id).or_default() += 1;
        }
    }
    Ok(valid
        .into_iter()
        .filter(|(_, n)| *n == skills.len())
        .map(|(id, _)| id)
        .collect())
}

async fn disabled<C: ConnectionTrait>(db: &C) -> ApiResult<HashSet<Uuid>> {
    Ok(user::Entity::find()
        .filter(user::Column::Disabled.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect())
}

/// Where a volunteer is expected: their last position, else their home.
fn expected_at(v: &volunteer::Model) -> Option<GeoPoint> {
    let (lat, lon) = match (v.lat, v.lon, v.home_lat, v.home_lon) {
        (Some(a), Some(b), _, _) | (None, _, Some(a), Some(b)) => (a, b),
        _ => return None,
    };
    GeoPoint::parse(lat, lon).ok()
}

/// The next 24 whole hours from `now`'s hour.
pub fn slots_ahead(now: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let hour = now
        - Duration::seconds(now.timestamp().rem_euclid(3600))
        - Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()));
    (0..24)
        .map(|k| (hour + Duration::hours(k), hour + Duration::hours(k + 1)))
        .collect()
}

/// For each slot, where the qualified volunteers on a rota shift during it
/// are expected (members who have not left; positions as [`expected_at`]).
async fn on_rota<C: ConnectionTrait>(
    db: &C,
    skills: &[Skill],
    slots: &[(DateTime<Utc>, DateTime<Utc>)],
) -> ApiResult<Vec<Vec<GeoPoint>>> {
    let (Some(first), Some(last)) = (slots.first(), slots.last()) else {
        return Ok(Vec::new());
    };
    let shifts = shift::Entity::find()
        .filter(shift::Column::StartsAt.lt(last.1))
        .filter(shift::Column::EndsAt.gt(first.0))
        .all(db)
        .await?;
    let members = shift_member::Entity::find()
        .filter(
            shift_member::Column::ShiftId.is_in(shifts.iter().map(|s| s.id).collect::<Vec<_>>()),
        )
        .filter(shift_member::Column::LeftAt.is_null())
        .all(db)
        .await?;
    let people: Vec<Uuid> = members.iter().map(|m| m.volunteer_id).collect();
    let at: HashMap<Uuid, GeoPoint> = volunteer::Entity::find()
        .filter(volunteer::Column::Id.is_in(people))
        .all(db)
        .await?
        .iter()
        .filter_map(|v| Some((v.id, expected_at(v)?)))
        .collect();
    let off = disabled(db).await?;
    let mut by_day: HashMap<NaiveDate, HashSet<Uuid>> = HashMap::new();
    let mut out = Vec::with_capacity(slots.len());
    for (a, b) in slots {
        let day = crate::clock::local_today(*a)?;
        if let std::collections::hash_map::Entry::Vacant(e) = by_day.entry(day) {
            e.insert(qualified(db, skills, day).await?);
        }
        let ok = &by_day[&day];
        let mut seen = HashSet::new();
        let mut points = Vec::new();
        for s in shifts.iter().filter(|s| s.starts_at < *b && s.ends_at > *a) {
            for m in members.iter().filter(|m| m.shift_id == s.id) {
                let v = m.volunteer_id;
                if (skills.is_empty() || ok.contains(&v))
                    && !off.contains(&v)
                    && seen.insert(v)
                    && let Some(p) = at.get(&v)
                {
                    points.push(*p);
                }
            }
        }
        out.push(points);
    }
    Ok(out)
}

/// The city's named places: each team area, at the centre of its teams'
/// volunteers' expected positions.
pub async fn places<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<(String, GeoPoint)>> {
    let teams = team::Entity::find().all(db).await?;
    let area_of: HashMap<Uuid, String> = teams
        .into_iter()
        .filter_map(|t| Some((t.id, t.area?.trim().to_owned())))
        .filter(|(_, a)| !a.is_empty())
        .collect();
    let mut sums: std::collections::BTreeMap<String, (f64, f64, f64)> = Default::default();
    for v in volunteer::Entity::find().all(db).await? {
        if let (Some(area), Some(p)) = (area_of.get(&v.team_id), expected_at(&v)) {
            let e = sums.entry(area.clone()).or_insert((0.0, 0.0, 0.0));
            e.0 += p.lat();
            e.1 += p.lon();
            e.2 += 1.0;
        }
    }
    Ok(sums
        .into_iter()
        .filter_map(|(name, (lat, lon, n))| Some((name, GeoPoint::parse(lat / n, lon / n).ok()?)))
        .collect())
}

/// A place with nobody qualified on the rota within the radius for a span.
#[derive(Debug, Clone, PartialEq)]
pub struct GapAhead {
    pub place: String,
    pub lat: f64,
    pub lon: f64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The next 24 hours from the rota: per hour, the qualified volunteers on
/// a shift anywhere; per cell of `cells`, the fewest within `radius_m` in
/// any of those hours; and per named place, the spans with none.
pub struct Ahead {
    pub hours: Vec<(DateTime<Utc>, u32)>,
    pub fewest: Vec<u32>,
    pub gaps: Vec<GapAhead>,
}

/// [`Ahead`] for `skills` from `now`.
pub async fn ahead<C: ConnectionTrait>(
    db: &C,
    skills: &[Skill],
    radius_m: f64,
    cells: &[Cell],
    now: DateTime<Utc>,
) -> ApiResult<Ahead> {
    let slots = slots_ahead(now);
    let points = on_rota(db, skills, &slots).await?;
    let count = |at: &GeoPoint, k: usize| {
        points[k]
            .iter()
            .filter(|p| p.distance_m(at) <= radius_m)
            .count()
    };
    let mut fewest = Vec::with_capacity(cells.len());
    for c in cells {
        let centre = GeoPoint::parse(c.lat, c.lon)?;
        let least = (0..slots.len())
            .map(|k| count(&centre, k))
            .min()
            .unwrap_or(0);
        fewest.push(u32::try_from(least).unwrap_or(u32::MAX));
    }
    let mut gaps = Vec::new();
    for (name, at) in places(db).await? {
        let mut open: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
        for (k, (a, b)) in slots.iter().enumerate() {
            if count(&at, k) == 0 {
                open = Some(open.map_or((*a, *b), |(s, _)| (s, *b)));
            } else if let Some((s, e)) = open.take() {
                gaps.push(GapAhead {
                    place: name.clone(),
                    lat: at.lat(),
                    lon: at.lon(),
                    from: s,
                    to: e,
                });
            }
        }
        if let Some((s, e)) = open {
            gaps.push(GapAhead {
                place: name.clone(),
                lat: at.lat(),
                lon: at.lon(),
                from: s,
                to: e,
            });
        }
    }
    gaps.sort_by(|x, y| (x.from, &x.place).cmp(&(y.from, &y.place)));
    Ok(Ahead {
        hours: slots
            .iter()
            .zip(&points)
            .map(|((a, _), p)| (*a, u32::try_from(p.len()).unwrap_or(u32::MAX)))
            .collect(),
        fewest,
        gaps,
    })
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
