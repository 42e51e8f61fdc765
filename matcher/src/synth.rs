//! Deterministic synthetic city data (feature `synth`): volunteers and query
//! points in a 40 km × 40 km box around Longgang, mostly in Gaussian clusters
//! (towns, villages, the port) with a uniform background. Shared by the
//! criterion benches and the peer comparison (`zhongdui-bench`) so that both
//! measure the same data. Not for production use.
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zhongdui_domain::{GeoPoint, Skill, SkillSet, VolunteerId};

use crate::state::{Certificate, Position, UnixTime, VolunteerState};

/// The `now` of the synthetic data (2025-06-15T15:06:40Z).
pub const NOW: UnixTime = 1_750_000_000;

/// The skill held by about 20% of volunteers ("common").
pub const COMMON: Skill = Skill::Patrol;
/// The skill held by about 1% of volunteers ("rare").
pub const RARE: Skill = Skill::WaterRescue;

/// Share of volunteers holding each skill, in `Skill::ALL` order.
pub const SKILL_SHARE: [f64; 10] = [
    0.08, // first_aid
    0.07, // mediation
    0.20, // patrol
    0.06, // fire_safety
    0.01, // water_rescue
    0.10, // traffic
    0.15, // elderly_care
    0.12, // anti_fraud
    0.06, // repair
    0.03, // dialect
];

/// Metres per degree of latitude on the haversine sphere.
pub(crate) const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// A population centre.
#[derive(Debug, Clone, Copy)]
pub struct Cluster {
    /// Centre latitude, degrees.
    pub lat: f64,
    /// Centre longitude, degrees.
    pub lon: f64,
    /// Standard deviation, metres.
    pub sigma_m: f64,
    /// Relative weight.
    pub weight: f64,
}

/// A synthetic city.
#[derive(Debug, Clone)]
pub struct City {
    /// Box centre latitude.
    pub center_lat: f64,
    /// Box centre longitude.
    pub center_lon: f64,
    /// Half the side of the box, metres.
    pub half_extent_m: f64,
    /// Population centres.
    pub clusters: Vec<Cluster>,
    /// Share of points drawn from the clusters (the rest is uniform).
    pub clustered_fraction: f64,
    total_weight: f64,
}

impl City {
    /// The benchmark city: 40 clusters in a 40 km box at 27.55°N 120.55°E,
    /// 75% of points clustered.
    pub fn new(seed: u64) -> Self {
        Self::with_extent(seed, 20_000.0)
    }

    /// Like [`City::new`] in a box of `2 × half_extent_m` metres (clusters
    /// scaled accordingly), e.g. one district.
    pub fn with_extent(seed: u64, half_extent_m: f64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (center_lat, center_lon) = (27.55, 120.55);
        let scale = half_extent_m / 20_000.0;
        let mut clusters = Vec::new();
        for _ in 0..40 {
            let dy = rng.random_range(-0.85..0.85) * half_extent_m;
            let dx = rng.random_range(-0.85..0.85) * half_extent_m;
            let (lat, lon) = offset(center_lat, center_lon, dy, dx);
            clusters.push(Cluster {
                lat,
                lon,
                sigma_m: rng.random_range(250.0..2500.0) * scale,
                // Heavy-tailed sizes: a few big towns, many villages.
                weight: 1.0 / rng.random_range(0.05f64..1.0).powi(2),
            });
        }
        let total_weight = clusters.iter().map(|c| c.weight).sum();
        City {
            center_lat,
            center_lon,
            half_extent_m,
            clusters,
            clustered_fraction: 0.75,
            total_weight,
        }
    }

    /// One point from the city's distribution, clamped to the box.
    pub fn sample(&self, rng: &mut impl Rng) -> GeoPoint {
        let (dy, dx) = if rng.random_bool(self.clustered_fraction) {
            let mut pick = rng.random_range(0.0..self.total_weight);
            let mut c = self.clusters[0];
            for cl in &self.clusters {
                c = *cl;
                if pick < cl.weight {
                    break;
                }
                pick -= cl.weight;
            }
            let (cy, cx) = (
                (c.lat - self.center_lat) * M_PER_DEG,
                (c.lon - self.center_lon) * M_PER_DEG * self.center_lat.to_radians().cos(),
            );
            let (gy, gx) = gaussian_pair(rng);
            (cy + gy * c.sigma_m, cx + gx * c.sigma_m)
        } else {
            (
                rng.random_range(-1.0..1.0) * self.half_extent_m,
                rng.random_range(-1.0..1.0) * self.half_extent_m,
            )
        };
        let h = self.half_extent_m;
        let (lat, lon) = offset(
            self.center_lat,
            self.center_lon,
            dy.clamp(-h, h),
            dx.clamp(-h, h),
        );
        point(lat, lon)
    }

    /// `n` volunteers, deterministic for a given `seed`.
    ///
    /// States: 85% on duty; capacity 1 (90%) or 2; 12% with tasks in hand
    /// (some at capacity); location reported 0–2000 s before [`NOW`] (so ~10%
    /// stale at the default 30 min); skills independent with
    /// [`SKILL_SHARE`]; certificates for first aid, fire safety and water
    /// rescue expiring between 60 days before and a year after `NOW` (~14%
    /// expired); idle for 0–14 days.
    pub fn volunteers(&self, n: usize, seed: u64) -> Vec<VolunteerState> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| self.volunteer(&mut rng)).collect()
    }

    fn volunteer(&self, rng: &mut impl Rng) -> VolunteerState {
        let id = VolunteerId(uuid::Uuid::from_u128(rng.random::<u128>()));
        let at = self.sample(rng);
        let capacity = if rng.random_bool(0.9) { 1 } else { 2 };
        let active_tasks = if rng.random_bool(0.88) {
            0
        } else {
            rng.random_range(1..=capacity)
        };
        let mut skills = SkillSet::EMPTY;
        let mut certificates = Vec::new();
        for (s, share) in Skill::ALL.into_iter().zip(SKILL_SHARE) {
            if rng.random_bool(share) {
                skills = skills.with(s);
                if s.needs_certificate() {
                    certificates.push(Certificate {
                        skill: s,
                        expires_at: NOW + rng.random_range(-60 * 86_400..365 * 86_400),
                    });
                }
            }
        }
        VolunteerState {
            id,
            position: Some(Position {
                at,
                seen_at: NOW - rng.random_range(0..2000),
            }),
            on_duty: rng.random_bool(0.85),
            active_tasks,
            capacity,
            skills,
            certificates,
            idle_since: NOW - rng.random_range(0..14 * 86_400),
        }
    }

    /// `n` query points from the same distribution (help is needed where
    /// people are), deterministic for `seed`.
    pub fn query_points(&self, n: usize, seed: u64) -> Vec<GeoPoint> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| self.sample(&mut rng)).collect()
    }
}

/// `p` moved by a random step of up to `max_m` metres.
pub fn nudge(p: GeoPoint, max_m: f64, rng: &mut impl Rng) -> GeoPoint {
    let r = rng.random_range(0.0..=max_m);
    let a = rng.random_range(0.0..std::f64::consts::TAU);
    let (lat, lon) = offset(p.lat(), p.lon(), r * a.sin(), r * a.cos());
    point(lat, lon)
}

/// `n` location updates of a city walking: each moves a random on-duty
/// volunteer with a location by up to `max_m` metres from where its last
/// update (or `vols`) put it. Unlike moves that alternate between two
/// points, these touch the whole index and wear its trees down as a
/// long-running server's would.
pub fn walk(
    vols: &[VolunteerState],
    n: usize,
    max_m: f64,
    seed: u64,
) -> Vec<(VolunteerId, GeoPoint)> {
    let mut at: Vec<(VolunteerId, GeoPoint)> = vols
        .iter()
        .filter(|v| v.on_duty)
        .filter_map(|v| v.position.map(|p| (v.id, p.at)))
        .collect();
    let mut rng = rng(seed);
    let mut moves = Vec::with_capacity(n);
    if at.is_empty() {
        return moves;
    }
    for _ in 0..n {
        let m = rng.random_range(0..at.len());
        at[m].1 = nudge(at[m].1, max_m, &mut rng);
        moves.push(at[m]);
    }
    moves
}

/// A seeded generator of the kind the benches use.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn offset(lat: f64, lon: f64, dy_m: f64, dx_m: f64) -> (f64, f64) {
    let lat2 = (lat + dy_m / M_PER_DEG).clamp(-89.0, 89.0);
    let lon2 = lon + dx_m / (M_PER_DEG * lat.to_radians().cos());
    (lat2, lon2)
}

#[allow(
    clippy::expect_used,
    reason = "clamped and wrapped into range just above"
)]
fn point(lat: f64, lon: f64) -> GeoPoint {
    let lon = (lon + 180.0).rem_euclid(360.0) - 180.0;
    GeoPoint::parse(lat.clamp(-90.0, 90.0), lon).expect("a valid coordinate")
}

fn gaussian_pair(rng: &mut impl Rng) -> (f64, f64) {
    // Box–Muller.
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    let r = (-2.0 * u1.ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    (r * t.cos(), r * t.sin())
}
