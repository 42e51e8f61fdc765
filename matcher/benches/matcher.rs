//! Criterion benchmarks of the matcher on synthetic clustered cities of 100k
//! and 1M volunteers (see `zhongdui_matcher::synth`). Not part of CI.
//!
//! `cargo bench -p zhongdui-matcher` (add `-- 1m` or `-- 100k` to filter).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::Rng;
use rstar::RTree;
use rstar::primitives::GeomWithData;
use zhongdui_domain::{GeoPoint, SkillSet};
use zhongdui_matcher::synth::{self, City, NOW};
use zhongdui_matcher::{
    BatchOrder, BatchParams, MatcherConfig, Query, VolunteerIndex, VolunteerState, assign_batch,
    assign_greedy,
};

const K: usize = 5;
const QUERIES: usize = 4096;

fn bench_city(c: &mut Criterion, n: usize, label: &str) {
    let city = City::new(1);
    let vols = city.volunteers(n, 2);
    let points = city.query_points(QUERIES, 3);
    let common: SkillSet = synth::COMMON.into();
    let rare: SkillSet = synth::RARE.into();

    let mut g = c.benchmark_group(label.to_string());
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("bulk_load", |b| {
        b.iter_batched(
            || vols.clone(),
            |v| VolunteerIndex::bulk_load(MatcherConfig::default(), v),
            BatchSize::PerIteration,
        )
    });
    drop(g);

    let index = VolunteerIndex::bulk_load(MatcherConfig::default(), vols.iter().cloned());
    eprintln!(
        "{label}: {} volunteers, {} searchable, own trees for {}",
        index.len(),
        index.searchable_len(),
        index.skills_with_own_tree()
    );
    let mut g = c.benchmark_group(label.to_string());
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    let knn = |index: &VolunteerIndex, required: SkillSet, i: &mut usize| {
        *i = (*i + 1) % QUERIES;
        index.nearest_available(&Query::new(points[*i], required, K, NOW))
    };
    let mut i = 0;
    g.bench_function("knn5_common", |b| {
        b.iter(|| black_box(knn(&index, common, &mut i)))
    });
    g.bench_function("knn5_rare", |b| {
        b.iter(|| black_box(knn(&index, rare, &mut i)))
    });
    g.bench_function("knn5_general", |b| {
        b.iter(|| black_box(knn(&index, SkillSet::EMPTY, &mut i)))
    });

    // Design alternatives on the same data.
    let no_fair = VolunteerIndex::bulk_load(
        MatcherConfig {
            fairness_epsilon_m: 0.0,
            ..MatcherConfig::default()
        },
        vols.iter().cloned(),
    );
    g.bench_function("knn5_common_no_fairness", |b| {
        b.iter(|| black_box(knn(&no_fair, common, &mut i)))
    });
    drop(no_fair);
    // Location slack of 25 m (fairness off): wider searches, cheaper steps.
    let mut slack = VolunteerIndex::bulk_load(
        MatcherConfig {
            fairness_epsilon_m: 0.0,
            location_slack_m: 25.0,
            ..MatcherConfig::default()
        },
        vols.iter().cloned(),
    );
    g.bench_function("knn5_common_no_fairness_slack25", |b| {
        b.iter(|| black_box(knn(&slack, common, &mut i)))
    });
    {
        let mut rng = synth::rng(5);
        let steps: Vec<(zhongdui_domain::VolunteerId, GeoPoint, GeoPoint)> = vols
            .iter()
            .filter(|v| v.on_duty && v.position.is_some())
            .take(QUERIES)
            .map(|v| {
                let a = v.position.unwrap().at;
                (v.id, a, synth::nudge(a, 50.0, &mut rng))
            })
            .collect();
        let mut j = 0usize;
        g.bench_function("location_update_step_slack25", |b| {
            b.iter(|| {
                j += 1;
                let (id, a, b) = steps[j % steps.len()];
                let to = if (j / steps.len()).is_multiple_of(2) {
                    b
                } else {
                    a
                };
                slack.set_location(id, to, NOW).unwrap();
            })
        });
    }
    drop(slack);
    let summaries_only = VolunteerIndex::bulk_load(
        MatcherConfig {
            rare_skill_fraction: 0.0,
            ..MatcherConfig::default()
        },
        vols.iter().cloned(),
    );
    g.bench_function("knn5_rare_skill_summaries_only", |b| {
        b.iter(|| black_box(knn(&summaries_only, rare, &mut i)))
    });
    drop(summaries_only);

    // The plain approach: one 2D tree in degrees, nearest_neighbor_iter +
    // filter (not even geodesically correct: degree distance is not metres).
    let cfg = MatcherConfig::default();
    let plain: RTree<GeomWithData<[f64; 2], u32>> = RTree::bulk_load(
        vols.iter()
            .enumerate()
            .filter(|(_, v)| v.on_duty && v.position.is_some())
            .map(|(j, v)| {
                let p = v.position.unwrap().at;
                GeomWithData::new([p.lon(), p.lat()], j as u32)
            })
            .collect(),
    );
    let plain_knn = |required: SkillSet, i: &mut usize| {
        *i = (*i + 1) % QUERIES;
        let q = points[*i];
        plain
            .nearest_neighbor_iter(&[q.lon(), q.lat()])
            .filter(|e| vols[e.data as usize].is_available(required, NOW, &cfg))
            .take(K)
            .count()
    };
    g.bench_function("plain_rstar_filter_common", |b| {
        b.iter(|| black_box(plain_knn(common, &mut i)))
    });
    g.bench_function("plain_rstar_filter_rare", |b| {
        b.iter(|| black_box(plain_knn(rare, &mut i)))
    });
    drop(plain);

    // Location updates of on-duty volunteers: a step of up to 50 m (a phone
    // walking), and a jump anywhere in the city (worst case). Moves alternate
    // between two positions so none is a no-op.
    let mut index = index;
    let mut rng = synth::rng(4);
    let movers: Vec<&VolunteerState> = vols
        .iter()
        .filter(|v| v.on_duty && v.position.is_some())
        .take(QUERIES)
        .collect();
    for (name, jump) in [
        ("location_update_step", false),
        ("location_update_jump", true),
    ] {
        let moves: Vec<(GeoPoint, GeoPoint)> = movers
            .iter()
            .map(|v| {
                let a = v.position.unwrap().at;
                let b = if jump {
                    city.sample(&mut rng)
                } else {
                    synth::nudge(a, 50.0, &mut rng)
                };
                (a, b)
            })
            .collect();
        let mut j = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                j += 1;
                let m = j % movers.len();
                let there = (j / movers.len()).is_multiple_of(2);
                let to = if there { moves[m].1 } else { moves[m].0 };
                index.set_location(movers[m].id, to, NOW).unwrap();
            })
        });
        // Put everyone back where they were.
        for (v, (a, _)) in movers.iter().zip(&moves) {
            index
                .set_location(v.id, *a, v.position.unwrap().seen_at)
                .unwrap();
        }
    }

    // A city walking: random volunteers anywhere in the index, each step up
    // to 50 m from its last position. Cold caches, and the trees wear down
    // (tombstones, R* splits) until a repack (its cost is in the figure).
    // Then the same searches as above on the walked index.
    let walk = synth::walk(&vols, 4 * n, 50.0, 6);
    let mut j = 0usize;
    g.bench_function("location_update_walk", |b| {
        b.iter(|| {
            let (id, to) = walk[j % walk.len()];
            j += 1;
            index.set_location(id, to, NOW).unwrap();
        })
    });
    eprintln!("{label}: after {j} walking moves: {index:?}");
    g.bench_function("knn5_common_after_walk", |b| {
        b.iter(|| black_box(knn(&index, common, &mut i)))
    });
    let mut no_fair = VolunteerIndex::bulk_load(
        MatcherConfig {
            fairness_epsilon_m: 0.0,
            ..MatcherConfig::default()
        },
        vols.iter().cloned(),
    );
    for &(id, to) in &walk[..j.min(walk.len())] {
        no_fair.set_location(id, to, NOW).unwrap();
    }
    g.bench_function("knn5_common_no_fairness_after_walk", |b| {
        b.iter(|| black_box(knn(&no_fair, common, &mut i)))
    });
    g.bench_function("knn5_rare_after_walk", |b| {
        b.iter(|| black_box(knn(&no_fair, rare, &mut i)))
    });
    g.finish();
}

fn bench_100k(c: &mut Criterion) {
    bench_city(c, 100_000, "100k");
}

fn bench_1m(c: &mut Criterion) {
    bench_city(c, 1_000_000, "1m");
}

/// 50 orders competing for 250 volunteers (demand ≈ 208 places, volunteers ≈
/// 1.2× demand) in one district: joint assignment vs greedy.
fn bench_batch(c: &mut Criterion) {
    let (index, orders_at, heads) = batch_instance(7);
    let orders: Vec<BatchOrder<'_>> = orders_at
        .iter()
        .zip(&heads)
        .map(|(&at, &h)| BatchOrder::new(at, h, SkillSet::EMPTY))
        .collect();
    let params = BatchParams::new(NOW);
    let best = assign_batch(&index, &orders, &params);
    let greedy = assign_greedy(&index, &orders, &params);
    eprintln!(
        "batch 50x250: demand {}, filled {} (greedy {}), distance {:.0} m vs greedy {:.0} m ({:.1}% less)",
        heads.iter().sum::<u32>(),
        best.filled(),
        greedy.filled(),
        best.total_distance_m,
        greedy.total_distance_m,
        100.0 * (1.0 - best.total_distance_m / greedy.total_distance_m)
    );
    let mut g = c.benchmark_group("batch");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    g.bench_function("assign_batch_50x250", |b| {
        b.iter(|| black_box(assign_batch(&index, &orders, &params)))
    });
    let exact = BatchParams::exact(NOW);
    let best_exact = assign_batch(&index, &orders, &exact);
    eprintln!(
        "batch 50x250 exact over the index: filled {}, distance {:.0} m ({:.1}% less than greedy)",
        best_exact.filled(),
        best_exact.total_distance_m,
        100.0 * (1.0 - best_exact.total_distance_m / greedy.total_distance_m)
    );
    g.bench_function("assign_batch_exact_50x250", |b| {
        b.iter(|| black_box(assign_batch(&index, &orders, &exact)))
    });
    g.bench_function("assign_greedy_50x250", |b| {
        b.iter(|| black_box(assign_greedy(&index, &orders, &params)))
    });
    g.finish();
}

/// The dispatcher's joint first wave in issue 19's layout: 50 single-place
/// orders and 250 volunteers along an 8 km line, a 1 km radius (the first
/// wave's), fast and exact modes.
fn bench_line(c: &mut Criterion) {
    let mut rng = synth::rng(19);
    let (lat0, lon0) = (27.56_f64, 120.56_f64);
    let mut on_line = |jitter: f64| {
        let east = rng.random_range(0.0..8_000.0);
        let north = rng.random_range(-jitter..=jitter);
        GeoPoint::parse(
            lat0 + north / 111_195.0,
            lon0 + east / (111_195.0 * lat0.to_radians().cos()),
        )
        .unwrap_or(GeoPoint::parse(lat0, lon0).expect("a valid point"))
    };
    let vols: Vec<VolunteerState> = (0..250)
        .map(|_| VolunteerState {
            position: Some(zhongdui_matcher::Position {
                at: on_line(150.0),
                seen_at: NOW,
            }),
            on_duty: true,
            ..VolunteerState::new(zhongdui_domain::VolunteerId::new())
        })
        .collect();
    let index = VolunteerIndex::bulk_load(MatcherConfig::default(), vols);
    let orders: Vec<BatchOrder<'_>> = (0..50)
        .map(|_| BatchOrder::new(on_line(50.0), 1, SkillSet::EMPTY).within_m(1_000.0))
        .collect();
    let fast = assign_batch(&index, &orders, &BatchParams::new(NOW));
    let exact = assign_batch(&index, &orders, &BatchParams::exact(NOW));
    eprintln!(
        "line 50x250: fast {:.0} m, exact {:.0} m ({:+.2}%), filled {} / {}",
        fast.total_distance_m,
        exact.total_distance_m,
        100.0 * (fast.total_distance_m / exact.total_distance_m - 1.0),
        fast.filled(),
        exact.filled()
    );
    let mut g = c.benchmark_group("batch");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    g.bench_function("line_fast_50x250", |b| {
        b.iter(|| black_box(assign_batch(&index, &orders, &BatchParams::new(NOW))))
    });
    g.bench_function("line_exact_50x250", |b| {
        b.iter(|| black_box(assign_batch(&index, &orders, &BatchParams::exact(NOW))))
    });
    g.finish();
}

/// 250 available volunteers and 50 orders (headcounts 1–7, total 208) drawn
/// from a 5 km district of the synthetic city.
fn batch_instance(seed: u64) -> (VolunteerIndex, Vec<GeoPoint>, Vec<u32>) {
    let city = City::with_extent(seed, 2_500.0);
    let mut vols = city.volunteers(250, seed + 1);
    for v in &mut vols {
        v.on_duty = true;
        v.active_tasks = 0;
        v.capacity = 1;
        if let Some(p) = v.position.as_mut() {
            p.seen_at = NOW;
        }
    }
    let index = VolunteerIndex::bulk_load(MatcherConfig::default(), vols);
    let points = city.query_points(50, seed + 2);
    let mut rng = synth::rng(seed + 3);
    let mut heads: Vec<u32> = (0..50).map(|_| rng.random_range(1..=7)).collect();
    // Adjust to exactly 208 places (250 / 1.2).
    let mut total: u32 = heads.iter().sum();
    let mut k = 0;
    while total != 208 {
        let h = &mut heads[k % 50];
        if total > 208 && *h > 1 {
            *h -= 1;
            total -= 1;
        } else if total < 208 && *h < 7 {
            *h += 1;
            total += 1;
        }
        k += 1;
    }
    (index, points, heads)
}

criterion_group!(benches, bench_batch, bench_line, bench_100k, bench_1m);
criterion_main!(benches);
