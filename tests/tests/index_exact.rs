//! The dispatch index is exact: reloads racing location reports and duty
//! changes lose none of them, withdrawn offers free their volunteers at
//! once, and every offer goes to the volunteer a brute-force search over the
//! database's state would choose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::json;
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends_with, distance_m};

/// (id, lat, lon, on_duty) of every volunteer, as stored.
async fn stored(app: &TestApp) -> Vec<(String, f64, f64, bool)> {
    use sea_orm::EntityTrait;
    zhongdui_api::entities::volunteer::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.id.to_string(), v.lat.unwrap(), v.lon.unwrap(), v.on_duty))
        .collect()
}

async fn reloads_race_changes(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "一队").await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let start: Vec<(f64, f64)> = (0..30)
        .map(|_| {
            at(
                rng.random_range(-4000.0..4000.0),
                rng.random_range(-4000.0..4000.0),
            )
        })
        .collect();
    let vs = app.volunteers_at(&admin, &team, &["patrol"], &start).await;

    // Reloads run back to back while every volunteer moves and some go off
    // and on duty: each change lands during some reload's database read.
    let reloading = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reloads = {
        let state = app.state.clone();
        let flag = reloading.clone();
        let clock = app.clock.clone();
        tokio::spawn(async move {
            use zhongdui_api::clock::Clock;
            let mut n = 0;
            while flag.load(std::sync::atomic::Ordering::Relaxed) {
                state
                    .dispatcher
                    .reload(&state.db, &state.settings.dispatch, clock.now())
                    .await
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    for round in 0..6 {
        let mut moves = Vec::new();
        for (i, (_, token)) in vs.iter().enumerate() {
            let p = at(
                rng.random_range(-4000.0..4000.0),
                rng.random_range(-4000.0..4000.0),
            );
            let duty = !(round % 2 == 1 && i % 5 == 0);
            let (client, base, token) = (app.client.clone(), app.base.clone(), token.clone());
            moves.push(tokio::spawn(async move {
                let r = client
                    .put(format!("{base}/api/v1/me/location"))
                    .bearer_auth(&token)
                    .json(&json!({"lat": p.0, "lon": p.1}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 204);
                let r = client
                    .put(format!("{base}/api/v1/me/duty"))
                    .bearer_auth(&token)
                    .json(&json!({"on_duty": duty}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }));
        }
        for m in moves {
            m.await.unwrap();
        }
    }
    reloading.store(false, std::sync::atomic::Ordering::Relaxed);
    let n = reloads.await.unwrap();
    assert!(n >= 1, "no reload ran");
    // And once more, for certain: every volunteer moves while a reload sits
    // between its read and its swap.
    let last = {
        let state = app.state.clone();
        let now = {
            use zhongdui_api::clock::Clock;
            app.clock.now()
        };
        tokio::spawn(async move {
            state
                .dispatcher
                .reload(&state.db, &state.settings.dispatch, now)
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    for (_, token) in &vs {
        let p = at(
            rng.random_range(-4000.0..4000.0),
            rng.random_range(-4000.0..4000.0),
        );
        app.put(
            "/api/v1/me/location",
            Some(token),
            json!({"lat": p.0, "lon": p.1}),
        )
        .await
        .expect(204);
    }
    last.await.unwrap();

    // The index holds exactly what the database holds.
    for (id, lat, lon, _) in stored(app).await {
        let idx = app
            .get(&format!("/api/v1/ops/index/{id}"), Some(&admin))
            .await
            .expect(200);
        let (ilat, ilon) = (
            idx.json["lat"].as_f64().unwrap(),
            idx.json["lon"].as_f64().unwrap(),
        );
        assert!(
            (ilat - lat).abs() < 1e-9 && (ilon - lon).abs() < 1e-9,
            "volunteer {id}: index ({ilat}, {ilon}) but stored ({lat}, {lon})"
        );
    }

    // Offers go where a brute-force search over the stored state says: the
    // nearest on-duty volunteer without an open offer or a task (each order
    // is low urgency: one offer).
    let resident = app.resident_token("13500000501").await;
    let mut busy: std::collections::HashSet<String> = Default::default();
    for k in 0..8 {
        let p = at(
            rng.random_range(-3000.0..3000.0),
            rng.random_range(-3000.0..3000.0),
        );
        let id = app
            .post(
                "/api/v1/orders",
                Some(&resident),
                json!({"category": "patrol", "lat": p.0, "lon": p.1, "address": format!("新城大道 {k} 号"),
                       "description": "需要帮助", "urgency": "low"}),
            )
            .await
            .expect(201)
            .json["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.advance_secs(2);
        app.tick().await;
        let expected = stored(app)
            .await
            .into_iter()
            .filter(|(v, _, _, duty)| *duty && !busy.contains(v))
            .map(|(v, lat, lon, _)| (distance_m((lat, lon), p), v))
            // The first wave widens to the first ring with anyone in it.
            .filter(|(d, _)| *d <= 10_000.0)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let detail = app
            .get(&format!("/api/v1/orders/{id}"), Some(&admin))
            .await
            .expect(200);
        let offered: Vec<String> = detail.json["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["volunteer_id"].as_str().unwrap().to_owned())
            .collect();
        match expected {
            Some((d, v)) => {
                // Ties within the fairness margin may go either way.
                let got = offered.first().cloned().unwrap_or_default();
                if got != v {
                    let row = stored(app).await.into_iter().find(|r| r.0 == got);
                    let gd = row.map(|r| distance_m((r.1, r.2), p)).unwrap_or(f64::MAX);
                    assert!(
                        gd - d <= 50.0,
                        "order {k}: offered {got} at {gd:.0} m, nearest {v} at {d:.0} m"
                    );
                }
                busy.insert(got);
            }
            None => assert!(
                offered.is_empty(),
                "order {k}: nobody within 10 km, offered {offered:?}"
            ),
        }
    }
}

// Each reload pauses 400 ms between its read and its swap, so that
// changes land inside that window every time.
both_backends_with!(reload_races, reloads_race_changes, |s| s
    .dispatch
    .reload_pause_ms =
    400);

/// A cancelled order's offers free their volunteers at once: with a zero
/// batch window the next order nearby goes to them, not 5 km away.
async fn withdrawn_offers_free_volunteers(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "一队").await;
    let vs = app
        .volunteers_at(
            &admin,
            &team,
            &["patrol"],
            &[at(50.0, 0.0), at(5000.0, 0.0)],
        )
        .await;
    let resident = app.resident_token("13500000601").await;
    let place = |n: u32| {
        let resident = resident.clone();
        async move {
            app.post(
                "/api/v1/orders",
                Some(&resident),
                json!({"category": "patrol", "lat": LAT, "lon": LON, "address": format!("新城大道 {n} 号"),
                       "description": "需要帮助", "urgency": "low"}),
            )
            .await
            .expect(201)
            .json["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    for n in 0..3 {
        let id = place(n).await;
        let detail = app
            .get(&format!("/api/v1/orders/{id}"), Some(&admin))
            .await
            .expect(200);
        assert_eq!(
            detail.json["assignments"][0]["volunteer_id"], vs[0].0,
            "order {n} offered to the near volunteer: {}",
            detail.text
        );
        assert!(app.state.dispatcher.is_pending(vs[0].0.parse().unwrap()));
        app.send(
            Method::POST,
            &format!("/api/v1/orders/{id}/cancel"),
            Some(&resident),
            Some(json!({})),
            None,
        )
        .await
        .expect(200);
        assert!(
            !app.state.dispatcher.is_pending(vs[0].0.parse().unwrap()),
            "released at once"
        );
    }
}

both_backends_with!(withdrawn, withdrawn_offers_free_volunteers, |s| s
    .dispatch
    .batch_window_ms =
    0);
