//! Geometry: positions as 3D points on a sphere of the haversine radius, and
//! the R-tree envelope that also summarises the skills below a node.
//!
//! Why 3D: the straight-line (chord) distance between two points on a sphere
//! is a strictly increasing function of their great-circle distance,
//! `chord = 2R·sin(d / 2R)`. So ordering and pruning by chord length is the
//! same as ordering by haversine metres, at any latitude, across the
//! antimeridian and near the poles, with no projection error to bound.
use geo::Haversine;
use rstar::{Envelope, Point, PointDistance, RStarInsertionStrategy, RTreeObject, RTreeParams};
use zhongdui_domain::GeoPoint;

/// The radius used by `geo`'s `Haversine`, hence by [`GeoPoint::distance_m`].
pub(crate) const EARTH_RADIUS_M: f64 = Haversine.radius();

/// A point in 3D, metres from the centre of the Earth.
pub(crate) type P3 = [f64; 3];

/// `at` on the sphere of radius [`EARTH_RADIUS_M`].
pub(crate) fn embed(at: &GeoPoint) -> P3 {
    let (lat, lon) = (at.lat().to_radians(), at.lon().to_radians());
    let (slat, clat) = lat.sin_cos();
    let (slon, clon) = lon.sin_cos();
    [
        EARTH_RADIUS_M * clat * clon,
        EARTH_RADIUS_M * clat * slon,
        EARTH_RADIUS_M * slat,
    ]
}

/// Squared chord length between two embedded points.
#[inline]
pub(crate) fn dist2(a: &P3, b: &P3) -> f64 {
    let dx = a[0] - b[0];
    let dy = a[1] - b[1];
    let dz = a[2] - b[2];
    dx * dx + dy * dy + dz * dz
}

/// The squared chord length above which every point is provably farther than
/// `metres` of haversine distance (as computed by [`GeoPoint::distance_m`]).
///
/// The chord of a great-circle distance `d` is `2R·sin(d/2R)`; a relative
/// margin of 1e-9 and an absolute one of 0.1 mm cover floating-point
/// rounding in both the embedding and the haversine formula (both are
/// accurate to about 1e-8 m at city distances). Never smaller than the true
/// bound, so pruning with it never loses a candidate; being slightly larger
/// only costs a few extra distance evaluations.
pub(crate) fn chord2_limit(metres: f64) -> f64 {
    if metres.is_nan() || metres < 0.0 {
        return -1.0;
    }
    let half_angle = metres / (2.0 * EARTH_RADIUS_M);
    if half_angle >= std::f64::consts::FRAC_PI_2 {
        return f64::INFINITY;
    }
    let chord = 2.0 * EARTH_RADIUS_M * half_angle.sin();
    let chord = chord * (1.0 + 1e-9) + 1e-4;
    chord * chord
}

/// An R-tree entry: one volunteer in one tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry {
    /// Embedded position.
    pub p: P3,
    /// The volunteer's slot in the index's slab.
    pub slot: u32,
    /// The skills held (bits of `SkillSet`), expired certificates included.
    pub mask: u16,
}

/// Axis-aligned box in 3D plus the union of the skills of everything inside.
///
/// rstar lets an `RTreeObject` choose its envelope type; this one carries a
/// skill summary so that a search can skip a whole subtree in which nobody
/// holds a required skill. The summary is maintained by rstar itself through
/// [`Envelope::merge`] on every insert, removal and bulk load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SkillBox {
    pub lo: P3,
    pub hi: P3,
    pub mask: u16,
}

impl SkillBox {
    /// Squared distance from `p` to the nearest point of the box (0 inside).
    #[inline]
    pub fn dist2_to(&self, p: &P3) -> f64 {
        let mut acc = 0.0;
        for ((&x, &lo), &hi) in p.iter().zip(&self.lo).zip(&self.hi) {
            let d = if x < lo {
                lo - x
            } else if x > hi {
                x - hi
            } else {
                0.0
            };
            acc += d * d;
        }
        acc
    }

    fn volume(&self) -> f64 {
        (0..3).fold(1.0, |acc, i| acc * (self.hi[i] - self.lo[i]).max(0.0))
    }
}

impl Envelope for SkillBox {
    type Point = P3;

    fn new_empty() -> Self {
        SkillBox {
            lo: [f64::MAX; 3],
            hi: [f64::MIN; 3],
            mask: 0,
        }
    }

    fn contains_point(&self, p: &P3) -> bool {
        (0..3).all(|i| self.lo[i] <= p[i] && p[i] <= self.hi[i])
    }

    /// Geometric containment *and* skill containment: used by rstar to find
    /// the path to an entry when removing it, so the skill test prunes too.
    fn contains_envelope(&self, other: &Self) -> bool {
        self.mask & other.mask == other.mask
            && (0..3).all(|i| self.lo[i] <= other.lo[i] && other.hi[i] <= self.hi[i])
    }

    fn merge(&mut self, other: &Self) {
        for i in 0..3 {
            self.lo[i] = self.lo[i].min(other.lo[i]);
            self.hi[i] = self.hi[i].max(other.hi[i]);
        }
        self.mask |= other.mask;
    }

    fn merged(&self, other: &Self) -> Self {
        let mut m = *self;
        m.merge(other);
        m
    }

    fn intersects(&self, other: &Self) -> bool {
        (0..3).all(|i| self.lo[i] <= other.hi[i] && other.lo[i] <= self.hi[i])
    }

    fn intersection_area(&self, other: &Self) -> f64 {
        let mut b = *self;
        for i in 0..3 {
            b.lo[i] = self.lo[i].max(other.lo[i]);
            b.hi[i] = self.hi[i].min(other.hi[i]);
        }
        b.volume()
    }

    fn area(&self) -> f64 {
        self.volume()
    }

    fn distance_2(&self, p: &P3) -> f64 {
        self.dist2_to(p)
    }

    fn min_max_dist_2(&self, p: &P3) -> f64 {
        // Same as rstar's AABB::min_max_dist_2.
        let mut result = [0.0; 3];
        let mut best = (0.0, 0.0, 0usize);
        for i in 0..3 {
            let mut min = self.lo[i] - p[i];
            let mut max = self.hi[i] - p[i];
            min *= min;
            max *= max;
            if max < min {
                std::mem::swap(&mut min, &mut max);
            }
            let diff = max - min;
            result[i] = max;
            if diff >= best.0 {
                best = (diff, min, i);
            }
        }
        result[best.2] = best.1;
        result.iter().sum()
    }

    fn center(&self) -> P3 {
        [
            (self.lo[0] + self.hi[0]) / 2.0,
            (self.lo[1] + self.hi[1]) / 2.0,
            (self.lo[2] + self.hi[2]) / 2.0,
        ]
    }

    fn perimeter_value(&self) -> f64 {
        (0..3)
            .map(|i| self.hi[i] - self.lo[i])
            .sum::<f64>()
            .max(0.0)
    }

    fn sort_envelopes<T: RTreeObject<Envelope = Self>>(axis: usize, envelopes: &mut [T]) {
        envelopes.sort_unstable_by(|l, r| l.envelope().lo[axis].total_cmp(&r.envelope().lo[axis]));
    }

    fn partition_envelopes<T: RTreeObject<Envelope = Self>>(
        axis: usize,
        envelopes: &mut [T],
        selection_size: usize,
    ) {
        if selection_size >= envelopes.len() {
            return;
        }
        envelopes.select_nth_unstable_by(selection_size, |l, r| {
            l.envelope().lo[axis].total_cmp(&r.envelope().lo[axis])
        });
    }
}

impl RTreeObject for Entry {
    type Envelope = SkillBox;

    fn envelope(&self) -> SkillBox {
        SkillBox {
            lo: self.p,
            hi: self.p,
            mask: self.mask,
        }
    }
}

impl PointDistance for Entry {
    fn distance_2(&self, point: &P3) -> f64 {
        dist2(&self.p, point)
    }
}

/// Tree parameters: rstar's defaults (6 children at most per node). Larger
/// nodes were tried (see the README) and were slower to query at 1M.
pub(crate) struct Params;

impl RTreeParams for Params {
    const MIN_SIZE: usize = 3;
    const MAX_SIZE: usize = 6;
    const REINSERTION_COUNT: usize = 2;
    type DefaultInsertionStrategy = RStarInsertionStrategy;
}

/// Keeps `P3` usable as an rstar point (it already is: `[S; N]` implements
/// [`Point`]); this assertion documents that the tree lives in 3D.
const _: () = assert!(<P3 as Point>::DIMENSIONS == 3);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn chord_limit_bounds_haversine_at_any_latitude() {
        for lat in [-89.9, -60.0, -10.0, 0.0, 27.5, 45.0, 70.0, 89.99] {
            for (dlat, dlon) in [(0.0, 0.001), (0.01, 0.0), (0.05, 0.2), (1e-7, 1e-7)] {
                let a = GeoPoint::parse(lat, 120.0).unwrap();
                let b = GeoPoint::parse((lat + dlat).min(90.0), 120.0 + dlon).unwrap();
                let h = a.distance_m(&b);
                let c2 = dist2(&embed(&a), &embed(&b));
                // The chord of any point within h metres is within the limit.
                assert!(
                    c2 <= chord2_limit(h),
                    "lat {lat}: {c2} > {}",
                    chord2_limit(h)
                );
                // And the limit is tight: 1 m farther is already out.
                assert!(chord2_limit(h - 1.0) < c2 || h < 1.0);
            }
        }
    }

    #[test]
    fn across_the_antimeridian_points_are_close() {
        let a = GeoPoint::parse(10.0, 179.9999).unwrap();
        let b = GeoPoint::parse(10.0, -179.9999).unwrap();
        let c2 = dist2(&embed(&a), &embed(&b));
        assert!(c2.sqrt() < 30.0);
        assert!(c2 <= chord2_limit(a.distance_m(&b)));
    }

    #[test]
    fn box_distance_is_a_lower_bound() {
        let e1 = Entry {
            p: [1.0, 2.0, 3.0],
            slot: 0,
            mask: 1,
        };
        let e2 = Entry {
            p: [4.0, -2.0, 3.5],
            slot: 1,
            mask: 4,
        };
        let b = e1.envelope().merged(&e2.envelope());
        assert_eq!(b.mask, 5);
        let q = [10.0, 0.0, 0.0];
        assert!(b.dist2_to(&q) <= dist2(&e1.p, &q));
        assert!(b.dist2_to(&q) <= dist2(&e2.p, &q));
        assert!(b.contains_envelope(&e1.envelope()));
        let mut other_skill = e1.envelope();
        other_skill.mask = 2;
        assert!(!b.contains_envelope(&other_skill));
    }
}
