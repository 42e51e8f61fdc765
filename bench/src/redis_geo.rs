//! Redis `GEOSEARCH … ASC COUNT n WITHDIST` with a client-side availability
//! filter: what a user might pick instead of an in-process index.
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use zhongdui_domain::GeoPoint;
use zhongdui_matcher::VolunteerState;

use crate::{Answer, Kind, available, lon_lat};

/// Radii tried in turn (metres), capped by the query radius: a sensible
/// client widens the search instead of scanning the whole city at once.
const LADDER: [f64; 5] = [500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0];
const FIRST_COUNT: usize = 32;
const MAX_COUNT: usize = 1 << 17;

/// Loads the volunteers into a fresh key, times the queries, deletes the key.
pub(crate) async fn run(
    url: &str,
    vols: &[VolunteerState],
    points: &[GeoPoint],
    kinds: &[Kind],
    k: usize,
    radius_m: f64,
) -> Result<Vec<(&'static str, Vec<Duration>, Vec<Answer>)>> {
    let client = redis::Client::open(url).context("Redis URL")?;
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .context("connecting to Redis")?;
    let key = format!(
        "zdbench:{}:{}:geo",
        std::process::id(),
        zhongdui_domain::VolunteerId::new()
    );
    let result = measure(&mut con, &key, vols, points, kinds, k, radius_m).await;
    let deleted: Result<i64, _> = redis::cmd("DEL").arg(&key).query_async(&mut con).await;
    eprintln!("redis: deleted {key}: {deleted:?}");
    result
}

async fn measure(
    con: &mut redis::aio::MultiplexedConnection,
    key: &str,
    vols: &[VolunteerState],
    points: &[GeoPoint],
    kinds: &[Kind],
    k: usize,
    radius_m: f64,
) -> Result<Vec<(&'static str, Vec<Duration>, Vec<Answer>)>> {
    let t = Instant::now();
    for (c, chunk) in vols.chunks(5_000).enumerate() {
        let mut cmd = redis::cmd("GEOADD");
        cmd.arg(key);
        for (i, v) in chunk.iter().enumerate() {
            if let Some(p) = v.position {
                let (lon, lat) = lon_lat(&p.at);
                cmd.arg(lon).arg(lat).arg(c * 5_000 + i);
            }
        }
        let _: i64 = cmd.query_async(con).await.context("GEOADD")?;
    }
    eprintln!(
        "redis: loaded {} members in {:.1?}",
        vols.len(),
        t.elapsed()
    );

    let mut out = Vec::new();
    for kind in kinds {
        // Warm-up pass, then the measured one.
        for p in points.iter().take(100) {
            search(con, key, vols, p, *kind, k, radius_m).await?;
        }
        let mut times = Vec::with_capacity(points.len());
        let mut answers = Vec::with_capacity(points.len());
        for p in points {
            let t = Instant::now();
            let a = search(con, key, vols, p, *kind, k, radius_m).await?;
            times.push(t.elapsed());
            answers.push(a);
        }
        out.push((kind.name, times, answers));
    }
    Ok(out)
}

async fn search(
    con: &mut redis::aio::MultiplexedConnection,
    key: &str,
    vols: &[VolunteerState],
    at: &GeoPoint,
    kind: Kind,
    k: usize,
    radius_m: f64,
) -> Result<Answer> {
    let (lon, lat) = lon_lat(at);
    let ladder: Vec<f64> = LADDER
        .iter()
        .copied()
        .filter(|r| *r < radius_m)
        .chain(std::iter::once(radius_m))
        .collect();
    let (mut step, mut count) = (0, FIRST_COUNT);
    // Bounded: each turn either widens the radius or quadruples the count.
    for _ in 0..64 {
        let r = ladder[step];
        let found: Vec<(usize, f64)> = redis::cmd("GEOSEARCH")
            .arg(key)
            .arg("FROMLONLAT")
            .arg(lon)
            .arg(lat)
            .arg("BYRADIUS")
            .arg(r)
            .arg("m")
            .arg("ASC")
            .arg("COUNT")
            .arg(count)
            .arg("WITHDIST")
            .query_async(con)
            .await
            .context("GEOSEARCH")?;
        let truncated = found.len() == count;
        let hits: Answer = found
            .iter()
            .filter(|(i, _)| vols.get(*i).is_some_and(|v| available(v, kind.required)))
            .take(k)
            .map(|&(i, d)| (i as u32, d))
            .collect();
        if hits.len() >= k {
            return Ok(hits);
        }
        if truncated && count < MAX_COUNT {
            count *= 4;
        } else if step + 1 < ladder.len() {
            step += 1;
        } else {
            return Ok(hits);
        }
    }
    Ok(Vec::new())
}
