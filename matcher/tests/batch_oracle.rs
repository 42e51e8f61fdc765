//! Batch assignment against an exhaustive search on small instances, and
//! against greedy. Fixed seed: failures reproduce.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::type_complexity,
    clippy::too_many_arguments
)]

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use zhongdui_domain::{GeoPoint, SkillSet, VolunteerId};
use zhongdui_matcher::{
    BatchOrder, BatchParams, BatchResult, MatcherConfig, Position, UnixTime, VolunteerIndex,
    VolunteerState, assign_batch, assign_greedy,
};

const NOW: UnixTime = 1_750_000_000;

fn p(a: i32, b: i32) -> GeoPoint {
    GeoPoint::parse(27.55 + f64::from(a) * 1e-3, 120.55 + f64::from(b) * 1e-3).unwrap()
}

#[derive(Debug, Clone)]
struct Instance {
    vols: Vec<VolunteerState>,
    orders: Vec<(i32, i32, u32, u16, Option<f64>, Vec<usize>)>,
}

fn instance() -> impl Strategy<Value = Instance> {
    let vol = (
        any::<u128>(),
        (-8i32..8, -8i32..8),
        prop::bool::weighted(0.9),
        0u32..2,
        1u32..4,
        prop_oneof![Just(0u16), 0u16..4],
    )
        .prop_map(
            |(id, (a, b), on_duty, active, capacity, skills)| VolunteerState {
                position: Some(Position {
                    at: p(a, b),
                    seen_at: NOW,
                }),
                on_duty,
                active_tasks: active,
                capacity,
                skills: SkillSet::from_bits(skills),
                ..VolunteerState::new(VolunteerId(uuid::Uuid::from_u128(id)))
            },
        );
    let order = (
        -8i32..8,
        -8i32..8,
        0u32..4,
        prop_oneof![3 => Just(0u16), 1 => 0u16..4],
        prop::option::weighted(0.4, 200.0f64..1500.0),
        prop::collection::vec(0usize..7, 0..2),
    );
    (
        prop::collection::vec(vol, 0..7),
        prop::collection::vec(order, 0..5),
    )
        .prop_map(|(vols, orders)| Instance { vols, orders })
}

/// Lexicographic cost: (places left empty, total millimetres).
fn cost_of(r: &BatchResult) -> (u64, i64) {
    let mm = r
        .assignments
        .iter()
        .flatten()
        .map(|c| (c.distance_m * 1000.0).round() as i64)
        .sum();
    (r.missing(), mm)
}

/// Exhaustive optimum: every way to give each order a set of eligible
/// volunteers (at most its headcount, each volunteer within its free
/// capacity), minimising (empty places, millimetres).
fn exhaustive(inst: &Instance, eligible: &[Vec<(usize, i64)>], headcounts: &[u32]) -> (u64, i64) {
    fn go(
        o: usize,
        eligible: &[Vec<(usize, i64)>],
        headcounts: &[u32],
        free: &mut [u32],
        acc: (u64, i64),
        best: &mut (u64, i64),
    ) {
        if o == eligible.len() {
            *best = (*best).min(acc);
            return;
        }
        // Choose a subset of eligible[o] of size <= headcount.
        fn pick(
            o: usize,
            from: usize,
            left: u32,
            eligible: &[Vec<(usize, i64)>],
            headcounts: &[u32],
            free: &mut [u32],
            acc: (u64, i64),
            best: &mut (u64, i64),
        ) {
            // Stop here: the rest of this order's places stay empty.
            go(
                o + 1,
                eligible,
                headcounts,
                free,
                (acc.0 + u64::from(left), acc.1),
                best,
            );
            if left == 0 {
                return;
            }
            for i in from..eligible[o].len() {
                let (v, mm) = eligible[o][i];
                if free[v] > 0 {
                    free[v] -= 1;
                    pick(
                        o,
                        i + 1,
                        left - 1,
                        eligible,
                        headcounts,
                        free,
                        (acc.0, acc.1 + mm),
                        best,
                    );
                    free[v] += 1;
                }
            }
        }
        pick(o, 0, headcounts[o], eligible, headcounts, free, acc, best);
    }
    let mut free: Vec<u32> = inst
        .vols
        .iter()
        .map(VolunteerState::free_capacity)
        .collect();
    let mut best = (u64::MAX, i64::MAX);
    go(0, eligible, headcounts, &mut free, (0, 0), &mut best);
    best
}

fn check(inst: Instance) -> Result<(), TestCaseError> {
    let cfg = MatcherConfig::default();
    // Ids are random u128s, so distinct.
    let index = VolunteerIndex::bulk_load(cfg.clone(), inst.vols.iter().cloned());
    let excluded: Vec<Vec<VolunteerId>> = inst
        .orders
        .iter()
        .map(|o| {
            o.5.iter()
                .filter_map(|&i| inst.vols.get(i).map(|v| v.id))
                .collect()
        })
        .collect();
    let orders: Vec<BatchOrder<'_>> = inst
        .orders
        .iter()
        .zip(&excluded)
        .map(|(&(a, b, h, req, radius, _), ex)| {
            let o = BatchOrder::new(p(a, b), h, SkillSet::from_bits(req)).excluding(ex);
            match radius {
                Some(r) => o.within_m(r),
                None => o,
            }
        })
        .collect();
    let params = BatchParams::new(NOW);
    let best = assign_batch(&index, &orders, &BatchParams::exact(NOW));
    let fast = assign_batch(&index, &orders, &params);
    let greedy = assign_greedy(&index, &orders, &params);

    // Eligibility per order, from first principles.
    let eligible: Vec<Vec<(usize, i64)>> = orders
        .iter()
        .map(|o| {
            inst.vols
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_available(o.required, NOW, &cfg) && !o.exclude.contains(v.id))
                .map(|(i, v)| (i, o.at.distance_m(&v.position.unwrap().at)))
                .filter(|(_, d)| *d <= o.radius_m)
                .map(|(i, d)| (i, (d * 1000.0).round() as i64))
                .collect()
        })
        .collect();
    let headcounts: Vec<u32> = orders.iter().map(|o| o.headcount).collect();

    for r in [&best, &fast, &greedy] {
        // Valid: eligible, within capacity, nobody twice on one order,
        // unfilled report consistent.
        let mut load: HashMap<VolunteerId, u32> = HashMap::new();
        for (o, got) in r.assignments.iter().enumerate() {
            prop_assert!(got.len() as u32 <= orders[o].headcount);
            let mut ids: Vec<VolunteerId> = got.iter().map(|c| c.id).collect();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), got.len());
            for c in got {
                let i = inst.vols.iter().position(|v| v.id == c.id).unwrap();
                prop_assert!(eligible[o].iter().any(|&(j, _)| j == i));
                *load.entry(c.id).or_default() += 1;
            }
            let missing = orders[o].headcount - got.len() as u32;
            prop_assert_eq!(
                missing > 0,
                r.unfilled
                    .iter()
                    .any(|u| u.order == o && u.missing == missing)
            );
        }
        for (id, n) in load {
            prop_assert!(n <= index.get(id).unwrap().free_capacity());
        }
    }
    let optimum = exhaustive(&inst, &eligible, &headcounts);
    prop_assert_eq!(cost_of(&best), optimum);
    prop_assert!(cost_of(&best) <= cost_of(&greedy));
    // The fast mode fills as many places as the optimum (its distance is
    // optimal only over its own lists, so it may be longer).
    prop_assert_eq!(cost_of(&fast).0, optimum.0);
    prop_assert!(cost_of(&fast) >= optimum);
    Ok(())
}

#[test]
fn batch_equals_exhaustive_optimum_and_never_loses_to_greedy() {
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 400,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
    );
    runner.run(&instance(), check).unwrap();
}

/// Scarce volunteers (1.2× demand), spread orders: the joint assignment fills
/// at least as much as greedy and travels less in total.
#[test]
fn scarce_city_batch_beats_greedy() {
    use zhongdui_matcher::synth::City;
    let city = City::new(3);
    let mut vols = city.volunteers(240, 4);
    for v in &mut vols {
        v.on_duty = true;
        v.active_tasks = 0;
        v.capacity = 1;
        if let Some(pos) = v.position.as_mut() {
            pos.seen_at = zhongdui_matcher::synth::NOW;
        }
    }
    let index = VolunteerIndex::bulk_load(MatcherConfig::default(), vols);
    let points = city.query_points(50, 5);
    let orders: Vec<BatchOrder<'_>> = points
        .iter()
        .enumerate()
        .map(|(i, &at)| BatchOrder::new(at, 1 + (i % 7) as u32, SkillSet::EMPTY))
        .collect();
    let params = BatchParams::new(zhongdui_matcher::synth::NOW);
    let best = assign_batch(&index, &orders, &params);
    let greedy = assign_greedy(&index, &orders, &params);
    assert_eq!(best.missing(), greedy.missing());
    assert_eq!(best.filled(), 197);
    assert!(
        best.total_distance_m < 0.95 * greedy.total_distance_m,
        "{} vs {}",
        best.total_distance_m,
        greedy.total_distance_m
    );
}

/// Medium instances (too big for the exhaustive search): the exact mode,
/// which starts from short candidate lists and widens them only when its
/// relaxation says so, must reach the same (places left empty, millimetres)
/// as the full lists of the batch's total headcount `H`, which are provably
/// enough (see `BatchParams::max_candidates_per_order`). Scarce supply makes
/// chains of displacement long, so short lists alone fail this. The fast
/// mode must fill as many places, with no less distance.
#[test]
fn short_lists_widen_to_the_full_list_optimum() {
    let vol = (
        any::<u128>(),
        (-20i32..20, -20i32..20),
        1u32..4,
        prop_oneof![Just(0u16), 0u16..4],
    )
        .prop_map(|(id, (a, b), capacity, skills)| VolunteerState {
            position: Some(Position {
                at: p(a, b),
                seen_at: NOW,
            }),
            on_duty: true,
            capacity,
            skills: SkillSet::from_bits(skills),
            ..VolunteerState::new(VolunteerId(uuid::Uuid::from_u128(id)))
        });
    let order = (
        (-20i32..20, -20i32..20),
        1u32..8,
        prop_oneof![3 => Just(0u16), 1 => 0u16..4],
        prop::option::weighted(0.3, 500.0f64..4000.0),
    );
    let strategy = (
        prop::collection::vec(vol, 10..60),
        prop::collection::vec(order, 1..16),
    );
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 120,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[12; 32]),
    );
    runner
        .run(&strategy, |(vols, raw)| {
            let index = VolunteerIndex::bulk_load(MatcherConfig::default(), vols);
            let orders: Vec<BatchOrder<'_>> = raw
                .iter()
                .map(|&((a, b), h, req, radius)| {
                    let o = BatchOrder::new(p(a, b), h, SkillSet::from_bits(req));
                    radius.map_or(o, |r| o.within_m(r))
                })
                .collect();
            let exact = assign_batch(&index, &orders, &BatchParams::exact(NOW));
            let fast = assign_batch(&index, &orders, &BatchParams::new(NOW));
            let full = assign_batch(
                &index,
                &orders,
                &BatchParams {
                    max_candidates_per_order: Some(usize::MAX),
                    ..BatchParams::new(NOW)
                },
            );
            prop_assert_eq!(cost_of(&exact), cost_of(&full));
            prop_assert_eq!(cost_of(&fast).0, cost_of(&full).0);
            prop_assert!(cost_of(&fast) >= cost_of(&full));
            let greedy = assign_greedy(&index, &orders, &BatchParams::new(NOW));
            prop_assert!(cost_of(&exact) <= cost_of(&greedy));
            Ok(())
        })
        .unwrap();
}
