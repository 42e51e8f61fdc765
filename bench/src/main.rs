//! Peer comparison for the matcher: the same filtered k-nearest queries on the
//! same synthetic city, against the in-process index, Redis `GEOSEARCH` with
//! a client-side filter, and PostGIS (`ORDER BY geog <-> point LIMIT k` on a
//! GiST index), all in one run. Loopback only; bounded loops; it deletes its
//! Redis key and drops its database when done.
//!
//! Run it through `scripts/bench-matcher.sh`, which starts the services.
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use zhongdui_domain::{GeoPoint, SkillSet};
use zhongdui_matcher::synth::{self, City, NOW};
use zhongdui_matcher::{MatcherConfig, Query, VolunteerIndex, VolunteerState};

mod postgis;
mod redis_geo;

/// Compare the matcher with Redis and PostGIS on the same data.
#[derive(Parser, Debug, Clone)]
struct Args {
    /// Volunteers in the synthetic city.
    #[arg(long, default_value_t = 1_000_000)]
    volunteers: usize,
    /// Queries per kind (common skill, rare skill) and per implementation.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// Results per query.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Search radius in metres.
    #[arg(long, default_value_t = 10_000.0)]
    radius_m: f64,
    /// Redis URL (loopback).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// PostgreSQL server URL without a database (loopback).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg: String,
    /// Database to create (dropped first if it exists) and drop at the end.
    #[arg(long, default_value = "zd_bench")]
    pg_db: String,
    /// Skip Redis.
    #[arg(long)]
    no_redis: bool,
    /// Skip PostGIS.
    #[arg(long)]
    no_postgis: bool,
}

/// One kind of query.
#[derive(Clone, Copy)]
pub(crate) struct Kind {
    name: &'static str,
    required: SkillSet,
}

/// What a peer must answer: the ids (slot numbers in the synthetic vector)
/// and distances of the k nearest available volunteers.
pub(crate) type Answer = Vec<(u32, f64)>;

/// Latencies of one implementation for one kind.
struct Run {
    implementation: &'static str,
    kind: &'static str,
    times: Vec<Duration>,
    answers: Vec<Answer>,
}

impl Run {
    fn median(&self) -> Duration {
        percentile(&self.times, 0.5)
    }
    fn p90(&self) -> Duration {
        percentile(&self.times, 0.9)
    }
}

fn percentile(times: &[Duration], p: f64) -> Duration {
    let mut t = times.to_vec();
    t.sort_unstable();
    t.get(((t.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// The shared availability rule, as the peers' client-side filter uses it.
pub(crate) fn available(v: &VolunteerState, required: SkillSet) -> bool {
    v.is_available(required, NOW, &MatcherConfig::default())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let city = City::new(1);
    let t = Instant::now();
    let vols = city.volunteers(args.volunteers, 2);
    let points = city.query_points(args.queries, 3);
    eprintln!("generated {} volunteers in {:.1?}", vols.len(), t.elapsed());
    let kinds = [
        Kind {
            name: "common skill (~20%)",
            required: synth::COMMON.into(),
        },
        Kind {
            name: "rare skill (~1%)",
            required: synth::RARE.into(),
        },
    ];
    let mut runs = Vec::new();

    // The matcher, with fairness off so that it answers the same question as
    // the peers (pure nearest first), and with the default configuration.
    for (label, eps) in [("matcher", 0.0), ("matcher (fairness 50 m)", 50.0)] {
        let cfg = MatcherConfig {
            fairness_epsilon_m: eps,
            ..MatcherConfig::default()
        };
        let t = Instant::now();
        let index = VolunteerIndex::bulk_load(cfg, vols.iter().cloned());
        eprintln!("{label}: bulk load {:.0?}", t.elapsed());
        let slot_of: std::collections::HashMap<_, u32> = vols
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id, i as u32))
            .collect();
        for kind in kinds {
            let mut times = Vec::with_capacity(points.len());
            let mut answers = Vec::with_capacity(points.len());
            // Warm up once over the queries, then measure.
            for p in &points {
                let q = Query::new(*p, kind.required, args.k, NOW).within_m(args.radius_m);
                std::hint::black_box(index.nearest_available(&q));
            }
            for p in &points {
                let q = Query::new(*p, kind.required, args.k, NOW).within_m(args.radius_m);
                let t = Instant::now();
                let found = index.nearest_available(&q);
                times.push(t.elapsed());
                answers.push(
                    found
                        .iter()
                        .map(|c| {
                            (
                                slot_of.get(&c.id).copied().unwrap_or(u32::MAX),
                                c.distance_m,
                            )
                        })
                        .collect(),
                );
            }
            runs.push(Run {
                implementation: label,
                kind: kind.name,
                times,
                answers,
            });
        }
    }

    if !args.no_redis {
        let r = redis_geo::run(&args.redis, &vols, &points, &kinds, args.k, args.radius_m)
            .await
            .context("Redis comparison")?;
        runs.extend(r.into_iter().map(|(kind, times, answers)| Run {
            implementation: "Redis GEOSEARCH + filter",
            kind,
            times,
            answers,
        }));
    }
    if !args.no_postgis {
        let r = postgis::run(
            &args.pg,
            &args.pg_db,
            &vols,
            &points,
            &kinds,
            args.k,
            args.radius_m,
        )
        .await
        .context("PostGIS comparison")?;
        runs.extend(r.into_iter().map(|(kind, times, answers)| Run {
            implementation: "PostGIS <-> LIMIT k",
            kind,
            times,
            answers,
        }));
    }

    report(&args, &runs);
    Ok(())
}

fn report(args: &Args, runs: &[Run]) {
    println!();
    println!(
        "{} volunteers, {} queries per kind, k = {}, radius {} m",
        args.volunteers, args.queries, args.k, args.radius_m
    );
    println!(
        "| implementation | query | median | p90 | median ÷ matcher's | same ids as matcher |"
    );
    println!("|---|---|---|---|---|---|");
    for run in runs {
        let base = runs
            .iter()
            .find(|r| r.implementation == "matcher" && r.kind == run.kind);
        let (ratio, agree) = match base {
            Some(b) => {
                let ratio = run.median().as_secs_f64() / b.median().as_secs_f64().max(1e-12);
                let same = run
                    .answers
                    .iter()
                    .zip(&b.answers)
                    .filter(|(x, y)| ids(x) == ids(y))
                    .count();
                (ratio, 100.0 * same as f64 / run.answers.len().max(1) as f64)
            }
            None => (f64::NAN, f64::NAN),
        };
        println!(
            "| {} | {} | {} | {} | {:.1}× | {:.1}% |",
            run.implementation,
            run.kind,
            fmt(run.median()),
            fmt(run.p90()),
            ratio,
            agree
        );
    }
}

fn ids(a: &Answer) -> Vec<u32> {
    let mut v: Vec<u32> = a.iter().map(|x| x.0).collect();
    v.sort_unstable();
    v
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.2} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// Longitude and latitude of a point, for the peers' APIs.
pub(crate) fn lon_lat(p: &GeoPoint) -> (f64, f64) {
    (p.lon(), p.lat())
}
