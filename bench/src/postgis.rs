//! PostgreSQL + PostGIS: `ORDER BY geog <-> point LIMIT k` on a GiST index,
//! with the availability filter in SQL.
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
// The database name is checked to be alphanumeric before it is spliced in.
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use zhongdui_domain::{GeoPoint, Skill};
use zhongdui_matcher::synth::NOW;
use zhongdui_matcher::{MatcherConfig, VolunteerState};

use crate::{Answer, Kind, lon_lat};

/// Creates the database afresh, loads it with COPY, indexes it, times the
/// queries, then drops the database.
pub(crate) async fn run(
    server: &str,
    db: &str,
    vols: &[VolunteerState],
    points: &[GeoPoint],
    kinds: &[Kind],
    k: usize,
    radius_m: f64,
) -> Result<Vec<(&'static str, Vec<Duration>, Vec<Answer>)>> {
    anyhow::ensure!(
        db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name must be alphanumeric"
    );
    let mut admin = PgConnection::connect(&format!("{server}/test"))
        .await
        .context("connecting to PostgreSQL (database `test`)")?;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
        .execute(&mut admin)
        .await?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await?;
    let result = async {
        let mut con = PgConnection::connect(&format!("{server}/{db}"))
            .await
            .with_context(|| format!("connecting to {db}"))?;
        load(&mut con, vols).await?;
        let out = measure(&mut con, points, kinds, k, radius_m).await;
        con.close().await.ok();
        out
    }
    .await;
    let dropped = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}")))
        .execute(&mut admin)
        .await;
    eprintln!("postgis: dropped {db}: {:?}", dropped.map(|_| ()));
    result
}

async fn load(con: &mut PgConnection, vols: &[VolunteerState]) -> Result<()> {
    sqlx::raw_sql(
        "CREATE EXTENSION IF NOT EXISTS postgis;
         CREATE TABLE v (
             slot integer PRIMARY KEY,
             geog geography(Point, 4326) NOT NULL,
             skills integer NOT NULL,
             on_duty boolean NOT NULL,
             active integer NOT NULL,
             capacity integer NOT NULL,
             seen_at bigint NOT NULL,
             cert_exp bigint[] NOT NULL
         );",
    )
    .execute(&mut *con)
    .await
    .context("CREATE EXTENSION postgis / CREATE TABLE")?;
    let t = Instant::now();
    let mut copy = con
        .copy_in_raw("COPY v FROM STDIN (FORMAT csv)")
        .await
        .context("COPY")?;
    let mut buf = String::with_capacity(1 << 20);
    for (i, v) in vols.iter().enumerate() {
        let Some(p) = v.position else { continue };
        let (lon, lat) = lon_lat(&p.at);
        let exp: Vec<String> = Skill::ALL
            .iter()
            .map(|s| {
                v.certificates
                    .iter()
                    .filter(|c| c.skill == *s)
                    .map(|c| c.expires_at)
                    .max()
                    .map_or("NULL".to_owned(), |e| e.to_string())
            })
            .collect();
        let _ = writeln!(
            buf,
            "{i},SRID=4326;POINT({lon} {lat}),{},{},{},{},{},\"{{{}}}\"",
            v.skills.bits(),
            v.on_duty,
            v.active_tasks,
            v.capacity,
            p.seen_at,
            exp.join(",")
        );
        if buf.len() > (1 << 20) {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    copy.send(buf.as_bytes()).await?;
    copy.finish().await.context("COPY finish")?;
    eprintln!("postgis: COPY {} rows in {:.1?}", vols.len(), t.elapsed());
    let t = Instant::now();
    sqlx::raw_sql("CREATE INDEX v_geog ON v USING gist (geog); ANALYZE v;")
        .execute(&mut *con)
        .await
        .context("GiST index")?;
    eprintln!("postgis: GiST index + ANALYZE in {:.1?}", t.elapsed());
    Ok(())
}

async fn measure(
    con: &mut PgConnection,
    points: &[GeoPoint],
    kinds: &[Kind],
    k: usize,
    radius_m: f64,
) -> Result<Vec<(&'static str, Vec<Duration>, Vec<Answer>)>> {
    // The same rule as the matcher: on duty, under capacity, fresh, skills
    // held, certificate (if any) unexpired. The skill index is 1-based.
    let sql = "SELECT slot, ST_Distance(geog, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, false) AS d
               FROM v
               WHERE on_duty AND active < capacity AND seen_at > $3
                 AND skills & $4 = $4
                 AND (cert_exp[$5] IS NULL OR cert_exp[$5] > $6)
               ORDER BY geog <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography
               LIMIT $7";
    let stale_before = NOW - MatcherConfig::default().max_location_age_s;
    // The planner multiplies the filter selectivities, expects a handful of
    // rows, and prefers a sequential scan plus sort (slow, and not the KNN
    // query under test). Steer it to the GiST index scan in distance order.
    sqlx::raw_sql("SET enable_seqscan = off; SET enable_bitmapscan = off;")
        .execute(&mut *con)
        .await?;
    let mut out = Vec::new();
    for kind in kinds {
        let mask = i32::from(kind.required.bits());
        let skill_idx = kind.required.iter().next().map_or(1, |s| s as i32 + 1);
        // Show once that the plan is a GiST index scan in distance order.
        if let Some(p) = points.first() {
            let (lon, lat) = lon_lat(p);
            let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}")))
                .bind(lon)
                .bind(lat)
                .bind(stale_before)
                .bind(mask)
                .bind(skill_idx)
                .bind(NOW)
                .bind(k as i64)
                .fetch_all(&mut *con)
                .await
                .context("EXPLAIN")?;
            eprintln!("postgis plan ({}):\n  {}", kind.name, plan.join("\n  "));
        }
        for p in points.iter().take(100) {
            run_one(sql, *p, con, stale_before, mask, skill_idx, k)
                .await
                .context("warm-up query")?;
        }
        let mut times = Vec::with_capacity(points.len());
        let mut answers = Vec::with_capacity(points.len());
        for p in points {
            let t = Instant::now();
            let rows = run_one(sql, *p, con, stale_before, mask, skill_idx, k)
                .await
                .context("query")?;
            times.push(t.elapsed());
            let mut a: Answer = Vec::with_capacity(rows.len());
            for r in rows {
                let slot: i32 = r.try_get(0)?;
                let d: f64 = r.try_get(1)?;
                if d <= radius_m {
                    a.push((slot as u32, d));
                }
            }
            answers.push(a);
        }
        out.push((kind.name, times, answers));
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn run_one(
    sql: &'static str,
    p: GeoPoint,
    con: &mut PgConnection,
    stale_before: i64,
    mask: i32,
    skill_idx: i32,
    k: usize,
) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
    let (lon, lat) = lon_lat(&p);
    sqlx::query(sql)
        .bind(lon)
        .bind(lat)
        .bind(stale_before)
        .bind(mask)
        .bind(skill_idx)
        .bind(NOW)
        .bind(k as i64)
        .fetch_all(con)
        .await
}
