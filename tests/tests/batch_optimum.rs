//! The dispatcher's joint first waves against an exact oracle: windows of
//! 25 to 50 orders along an 8 km line (the layout where grouping orders by
//! grid cells lost up to 16.6%), 250 volunteers, low urgency (one offer
//! per order, so the offers are the joint assignment). The total distance
//! must be within 1% of the optimum that Kuhn–Munkres (`pathfinding`)
//! finds on the same distance matrix, with the first wave's radius.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use zhongdui_api::entities::{assignment, volunteer};
use zhongdui_tests::{LAT, LON, TestApp, both_backends, distance_m};

const LINE_M: f64 = 8_000.0;
const VOLUNTEERS: usize = 250;

fn on_line(rng: &mut ChaCha8Rng, jitter_m: f64) -> (f64, f64) {
    let east = rng.random_range(0.0..LINE_M);
    let north = rng.random_range(-jitter_m..=jitter_m);
    (
        LAT + north / 111_195.0,
        LON + east / (111_195.0 * LAT.to_radians().cos()),
    )
}

/// The least total distance (whole metres as the oracle counts them) of
/// one volunteer per order within `radius`; none possible is a failure.
fn optimum(orders: &[(f64, f64)], vols: &[(f64, f64)], radius: f64) -> f64 {
    let far = 1_000_000_000_i64;
    let m = Matrix::from_fn(orders.len(), vols.len(), |(i, j)| {
        let d = distance_m(orders[i], vols[j]);
        if d <= radius {
            (d * 1000.0).round() as i64
        } else {
            far
        }
    });
    let (total, _) = kuhn_munkres_min(&m);
    assert!(total < far, "every order can be reached");
    total as f64 / 1000.0
}

async fn windows(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "沿江巡防队").await;
    let mut rng = ChaCha8Rng::seed_from_u64(20261202);
    let vols: Vec<(f64, f64)> = (0..VOLUNTEERS).map(|_| on_line(&mut rng, 150.0)).collect();
    let mut csv =
        String::from("phone,display_name,team,skills,certificates,capacity,is_leader,lat,lon\n");
    for (i, (lat, lon)) in vols.iter().enumerate() {
        csv.push_str(&format!(
            "1580000{i:04},队员{i},沿江巡防队,patrol,,1,false,{lat},{lon}\n"
        ));
    }
    let report = app.import_csv(&admin, &csv).await;
    assert_eq!(report["created"], VOLUNTEERS, "{report}");
    let _ = team;
    // On duty where they live, as their phones would report.
    volunteer::Entity::update_many()
        .col_expr(volunteer::Column::OnDuty, Expr::value(true))
        .col_expr(
            volunteer::Column::Lat,
            Expr::col(volunteer::Column::HomeLat),
        )
        .col_expr(
            volunteer::Column::Lon,
            Expr::col(volunteer::Column::HomeLon),
        )
        .col_expr(
            volunteer::Column::LocationAt,
            Expr::value(app.state.clock.now()),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    app.reload_index().await;
    let radius = app.state.settings.dispatch.radii_m[0];
    let resident = app.resident_token("13500004001").await;

    for (round, n) in [25usize, 40, 50].into_iter().enumerate() {
        let orders: Vec<(f64, f64)> = (0..n).map(|_| on_line(&mut rng, 50.0)).collect();
        let mut ids = Vec::new();
        for (i, (lat, lon)) in orders.iter().enumerate() {
            ids.push(
                app.place_order(
                    &resident,
                    json!({"category": "patrol", "urgency": "low", "lat": lat, "lon": lon,
                           "address": format!("江滨路 {round}-{i} 号"), "description": "巡逻时发现可疑情况"}),
                )
                .await,
            );
        }
        app.advance_secs(2);
        let tick = app.tick().await;
        assert_eq!(tick.batched, n, "the whole window is one neighbourhood");
        let offers = assignment::Entity::find()
            .filter(assignment::Column::State.eq("offered"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(offers.len(), n, "one offer per order");
        let total: f64 = offers.iter().map(|a| a.distance_m.unwrap()).sum();
        let best = optimum(&orders, &vols, radius);
        assert!(
            total <= best * 1.01 + 1.0,
            "window of {n}: {total:.0} m against the optimum {best:.0} m ({:+.2}%)",
            (total / best - 1.0) * 100.0
        );
        eprintln!(
            "window of {n}: {total:.0} m, optimum {best:.0} m ({:+.3}%)",
            (total / best - 1.0) * 100.0
        );
        for id in &ids {
            app.cancel(&resident, id, Some("测试结束"))
                .await
                .expect(200);
        }
    }
}

both_backends!(
    joint_first_waves_are_within_one_percent_of_the_optimum,
    windows
);
