//! The filtered k-nearest search against a brute-force linear scan, on random
//! worlds at many latitudes (poles and antimeridian included) after random
//! sequences of updates. Fixed seed: failures reproduce.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap, HashSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use zhongdui_domain::{GeoPoint, Skill, SkillSet, VolunteerId};
use zhongdui_matcher::{
    Candidate, Certificate, MatcherConfig, OFFER_WINDOW_S, Position, Query, UnixTime,
    VolunteerIndex, VolunteerState,
};

const NOW: UnixTime = 1_750_000_000;

/// Where the little worlds are: the city, the equator, high latitudes, near
/// a pole, and straddling the antimeridian.
const BASES: [(f64, f64); 6] = [
    (27.55, 120.55),
    (0.0, 10.0),
    (59.9, 10.7),
    (-45.0, 170.0),
    (89.9, 0.0),
    (10.0, 179.995),
];

#[derive(Debug, Clone)]
struct World {
    base: usize,
    cfg: MatcherConfig,
    vols: Vec<VolunteerState>,
    offers: Vec<Vec<UnixTime>>,
    ops: Vec<Op>,
    queries: Vec<Q>,
    bulk: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Move(usize, (i32, i32), i64),
    Duty(usize, bool),
    Tasks(usize, u32),
    Remove(usize),
    Offer(usize, i64),
    Skills(usize, u16, Option<i64>),
    Upsert(usize),
}

#[derive(Debug, Clone)]
struct Q {
    at: (i32, i32),
    required: u16,
    k: usize,
    radius: Option<f64>,
    exclude: Vec<usize>,
}

/// Positions on a coarse grid (steps of ~1e-4°, about 11 m) so that exact
/// distance ties happen often.
fn grid_point(base: usize, (a, b): (i32, i32)) -> GeoPoint {
    let (lat, lon) = BASES[base];
    let lat = (lat + f64::from(a) * 1e-4).clamp(-90.0, 90.0);
    let mut lon = lon + f64::from(b) * 1e-4;
    if lon > 180.0 {
        lon -= 360.0;
    }
    GeoPoint::parse(lat, lon).unwrap()
}

fn cell() -> impl Strategy<Value = (i32, i32)> {
    (-60i32..60, -60i32..60)
}

fn skills() -> impl Strategy<Value = u16> {
    // Mostly a few skills (first aid, mediation, patrol, water rescue), so
    // that queries match something.
    prop_oneof![Just(0u16), 0u16..32, 0u16..1024]
}

fn volunteer(base: usize) -> impl Strategy<Value = (VolunteerState, Vec<UnixTime>)> {
    (
        any::<u128>(),
        prop::option::weighted(0.9, cell()),
        0i64..2500,
        prop::bool::weighted(0.8),
        0u32..3,
        1u32..3,
        skills(),
        prop::collection::vec((0usize..10, -500i64..500), 0..3),
        prop_oneof![Just(0i64), Just(100), 0i64..1000],
        prop::collection::vec(0i64..5000, 0..4),
    )
        .prop_map(
            move |(id, pos, age, on_duty, active, cap, sk, certs, idle, offers)| {
                let v = VolunteerState {
                    id: VolunteerId(uuid_from(id)),
                    position: pos.map(|c| Position {
                        at: grid_point(base, c),
                        seen_at: NOW - age,
                    }),
                    on_duty,
                    active_tasks: active,
                    capacity: cap,
                    skills: SkillSet::from_bits(sk),
                    certificates: certs
                        .into_iter()
                        .map(|(s, dt)| Certificate {
                            skill: Skill::ALL[s],
                            expires_at: NOW + dt,
                        })
                        .collect(),
                    idle_since: NOW - idle,
                };
                (v, offers.into_iter().map(|ago| NOW - ago).collect())
            },
        )
}

fn uuid_from(x: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(x)
}

fn config() -> impl Strategy<Value = MatcherConfig> {
    (
        prop_oneof![Just(0.0), Just(0.0), Just(15.0), 0.0f64..400.0],
        prop_oneof![
            Just(None),
            Just(Some(1u32)),
            Just(Some(2u32)),
            Just(Some(6u32))
        ],
        prop_oneof![Just(0.0), Just(0.05), Just(0.3), Just(1.0)],
        prop_oneof![Just(1800i64), 1i64..2500],
        // Location slack: none, small, and larger than a grid cell (so that
        // moves keep their old tree entry often).
        prop_oneof![Just(0.0), Just(20.0), 0.0f64..600.0],
        // Tombstones: repack at once, at the default, or let them pile up.
        prop_oneof![Just(0.01), Just(0.25), Just(1000.0)],
        // Offer penalty: off, or per offer with or without a maximum.
        prop_oneof![
            2 => Just((0.0, f64::INFINITY)),
            1 => (0.0f64..200.0).prop_map(|p| (p, f64::INFINITY)),
            1 => (0.0f64..200.0, 0.0f64..400.0),
        ],
    )
        .prop_map(
            |(eps, cap, rare, age, slack, repack, (pen, pen_max))| MatcherConfig {
                max_location_age_s: age,
                fairness_epsilon_m: eps,
                max_offers_per_hour: cap,
                rare_skill_fraction: rare,
                location_slack_m: slack,
                repack_dead_fraction: repack,
                offer_penalty_m: pen,
                offer_penalty_max_m: pen_max,
            },
        )
}

fn world() -> impl Strategy<Value = World> {
    (0..BASES.len(), 0usize..60, config(), any::<bool>()).prop_flat_map(|(base, n, cfg, bulk)| {
        let ix = if n == 0 { 0..1 } else { 0..n };
        let op = prop_oneof![
            4 => (ix.clone(), cell(), 0i64..100).prop_map(|(i, c, t)| Op::Move(i, c, t)),
            1 => (ix.clone(), any::<bool>()).prop_map(|(i, b)| Op::Duty(i, b)),
            1 => (ix.clone(), 0u32..3).prop_map(|(i, t)| Op::Tasks(i, t)),
            1 => ix.clone().prop_map(Op::Remove),
            1 => (ix.clone(), 0i64..4000).prop_map(|(i, t)| Op::Offer(i, t)),
            1 => (ix.clone(), skills(), prop::option::of(-100i64..100)).prop_map(|(i, s, c)| Op::Skills(i, s, c)),
            1 => ix.clone().prop_map(Op::Upsert),
        ];
        let q = (
            cell(),
            prop_oneof![Just(0u16), 0u16..16, 0u16..1024],
            0usize..9,
            prop::option::weighted(0.5, 0.0f64..6000.0),
            prop::collection::vec(ix.clone(), 0..4),
        )
            .prop_map(|(at, required, k, radius, exclude)| Q {
                at,
                required,
                k,
                radius,
                exclude,
            });
        (
            Just(base),
            Just(cfg),
            prop::collection::vec(volunteer(base), n),
            prop::collection::vec(op, if n == 0 { 0..1 } else { 0..25 }),
            prop::collection::vec(q, 1..6),
            Just(bulk),
        )
            .prop_map(|(base, cfg, vs, ops, queries, bulk)| {
                let (vols, offers) = vs.into_iter().unzip();
                World {
                    base,
                    cfg,
                    vols,
                    offers,
                    ops,
                    queries,
                    bulk,
                }
            })
    })
}

/// The model: plain states plus offer times, and the specification of the
/// result written as directly as possible.
struct Model {
    cfg: MatcherConfig,
    vols: HashMap<VolunteerId, (VolunteerState, Vec<UnixTime>)>,
}

impl Model {
    fn available(&self, v: &VolunteerState, offers: &[UnixTime], q: &Query<'_>) -> bool {
        let recent = offers
            .iter()
            .filter(|&&t| t > q.now - OFFER_WINDOW_S)
            .count();
        v.is_available(q.required, q.now, &self.cfg)
            && self
                .cfg
                .max_offers_per_hour
                .is_none_or(|cap| (recent as u32) < cap)
            && !q.exclude.contains(v.id)
    }

    fn answer(&self, q: &Query<'_>) -> Vec<Candidate> {
        // (ranking distance, distance, volunteer): the ranking distance adds
        // the offer penalty for each offer of the last hour, up to its maximum.
        let pen = self.cfg.offer_penalty_m;
        let mut all: Vec<(f64, f64, &VolunteerState)> = self
            .vols
            .values()
            .filter(|(v, offers)| self.available(v, offers, q))
            .map(|(v, offers)| {
                let d = q.at.distance_m(&v.position.unwrap().at);
                let recent = offers
                    .iter()
                    .filter(|&&t| t > q.now - OFFER_WINDOW_S)
                    .count();
                let r = if pen > 0.0 && recent > 0 {
                    d + (pen * recent as f64).min(self.cfg.offer_penalty_max_m)
                } else {
                    d
                };
                (r, d, v)
            })
            .filter(|(_, d, _)| *d <= q.radius_m)
            .collect();
        all.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.id.cmp(&b.2.id))
        });
        let eps = self.cfg.fairness_epsilon_m;
        let mut out = Vec::new();
        if eps == 0.0 {
            all.truncate(q.k);
            out.extend(all);
        } else {
            while out.len() < q.k && !all.is_empty() {
                let nearest = all[0].0;
                let pick = all
                    .iter()
                    .enumerate()
                    .filter(|(_, (r, _, _))| *r <= nearest + eps)
                    .min_by_key(|(i, (_, _, v))| (v.active_tasks > 0, v.idle_since, *i))
                    .map(|(i, _)| i)
                    .unwrap();
                out.push(all.remove(pick));
            }
        }
        out.into_iter()
            .map(|(_, d, v)| Candidate {
                id: v.id,
                distance_m: d,
            })
            .collect()
    }
}

fn check(w: World) -> Result<(), TestCaseError> {
    let mut model = Model {
        cfg: w.cfg.clone(),
        vols: HashMap::new(),
    };
    let mut index = if w.bulk {
        VolunteerIndex::bulk_load(w.cfg.clone(), w.vols.iter().cloned())
    } else {
        let mut ix = VolunteerIndex::new(w.cfg.clone());
        for v in &w.vols {
            ix.upsert(v.clone());
        }
        ix
    };
    for (v, offers) in w.vols.iter().zip(&w.offers) {
        // Ids are random u128s: duplicates do not happen in practice, but the
        // model follows the index's "last wins" rule all the same.
        model.vols.insert(v.id, (v.clone(), offers.clone()));
        for &t in offers {
            index.record_offer(v.id, t).unwrap();
        }
    }
    for op in &w.ops {
        let Some(v0) = w.vols.first() else { break };
        let pick = |i: usize| w.vols.get(i).unwrap_or(v0).id;
        match *op {
            Op::Move(i, c, dt) => {
                let id = pick(i);
                let at = grid_point(w.base, c);
                let r = index.set_location(id, at, NOW - dt);
                match model.vols.get_mut(&id) {
                    Some((v, _)) => {
                        r.unwrap();
                        v.position = Some(Position {
                            at,
                            seen_at: NOW - dt,
                        });
                    }
                    None => prop_assert!(r.is_err()),
                }
            }
            Op::Duty(i, on) => {
                let id = pick(i);
                let r = index.set_duty(id, on);
                match model.vols.get_mut(&id) {
                    Some((v, _)) => {
                        r.unwrap();
                        v.on_duty = on;
                    }
                    None => prop_assert!(r.is_err()),
                }
            }
            Op::Tasks(i, n) => {
                let id = pick(i);
                let r = index.set_active_tasks(id, n, NOW - 5);
                if let Some((v, _)) = model.vols.get_mut(&id) {
                    r.unwrap();
                    if n == 0 && v.active_tasks > 0 {
                        v.idle_since = NOW - 5;
                    }
                    v.active_tasks = n;
                }
            }
            Op::Remove(i) => {
                let id = pick(i);
                let got = index.remove(id);
                let want = model.vols.remove(&id).map(|(v, _)| v);
                prop_assert_eq!(got, want);
            }
            Op::Offer(i, ago) => {
                let id = pick(i);
                let r = index.record_offer(id, NOW - ago);
                if let Some((_, offers)) = model.vols.get_mut(&id) {
                    r.unwrap();
                    offers.push(NOW - ago);
                }
            }
            Op::Skills(i, bits, cert) => {
                let id = pick(i);
                let skills = SkillSet::from_bits(bits);
                let certs: Vec<Certificate> = cert
                    .into_iter()
                    .filter_map(|dt| {
                        skills.iter().next().map(|s| Certificate {
                            skill: s,
                            expires_at: NOW + dt,
                        })
                    })
                    .collect();
                let r = index.set_skills(id, skills, certs.clone());
                if let Some((v, _)) = model.vols.get_mut(&id) {
                    r.unwrap();
                    v.skills = skills;
                    v.certificates = certs;
                }
            }
            Op::Upsert(i) => {
                let v = w.vols.get(i).unwrap_or(v0).clone();
                index.upsert(v.clone());
                let offers = model
                    .vols
                    .get(&v.id)
                    .map(|(_, o)| o.clone())
                    .unwrap_or_default();
                model.vols.insert(v.id, (v, offers));
            }
        }
    }
    prop_assert_eq!(index.len(), model.vols.len());
    for q in &w.queries {
        let excluded: Vec<VolunteerId> = q
            .exclude
            .iter()
            .filter_map(|&i| w.vols.get(i).map(|v| v.id))
            .collect();
        let set: HashSet<VolunteerId> = excluded.iter().copied().collect();
        let sorted: BTreeSet<VolunteerId> = excluded.iter().copied().collect();
        let pred = |id: VolunteerId| set.contains(&id);
        let mut query = Query::new(
            grid_point(w.base, q.at),
            SkillSet::from_bits(q.required),
            q.k,
            NOW,
        );
        if let Some(r) = q.radius {
            query = query.within_m(r);
        }
        let want = model.answer(&query.excluding(&excluded));
        // Every way of excluding gives the same answer.
        for query in [
            query.excluding(&excluded),
            query.excluding(&set),
            query.excluding(&sorted),
            query.excluding(&pred),
        ] {
            let got = index.nearest_available(&query);
            prop_assert_eq!(&got, &want, "query {:?}", query);
        }
    }
    Ok(())
}

#[test]
fn filtered_knn_equals_linear_scan() {
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    runner.run(&world(), check).unwrap();
}

/// Dense ties: everybody at one of four points. The order must still be
/// distance, then id (fairness off).
#[test]
fn ties_are_broken_by_id() {
    let cfg = MatcherConfig {
        fairness_epsilon_m: 0.0,
        ..MatcherConfig::default()
    };
    let mut index = VolunteerIndex::new(cfg);
    let mut ids = Vec::new();
    for i in 0..40u128 {
        let id = VolunteerId(uuid::Uuid::from_u128(
            i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835),
        ));
        ids.push((i % 4, id));
        index.upsert(VolunteerState {
            on_duty: true,
            position: Some(Position {
                at: grid_point(0, ((i % 4) as i32, 0)),
                seen_at: NOW,
            }),
            ..VolunteerState::new(id)
        });
    }
    ids.sort();
    let want: Vec<VolunteerId> = ids.iter().map(|x| x.1).take(15).collect();
    let got: Vec<VolunteerId> = index
        .nearest_available(&Query::new(grid_point(0, (0, 0)), SkillSet::EMPTY, 15, NOW))
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(got, want);
}
