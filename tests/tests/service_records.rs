//! Service records (hand-driven clock, both backends): a rota shift puts
//! its members on duty for its span in every process's index, across a
//! restart, with the source recorded; a weekly series repeats; leaving a
//! shift ahead of time tells the desk and keeps the volunteer off; a patrol
//! shift's time on duty becomes hours awaiting review, corrected with a
//! reason (audited); an order's hours run from check-in to completion; the
//! CSV export is formula-safe; the PDF certificate's text (read back by
//! poppler's pdftotext) carries the name and hours, and its code verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends};

fn now(app: &TestApp) -> DateTime<Utc> {
    app.state.clock.now()
}

async fn volunteer(app: &TestApp, admin: &str, id: &str) -> Value {
    app.get(&format!("/api/v1/volunteers/{id}"), Some(admin))
        .await
        .expect(200)
        .json
}

fn patrol_order(address: &str) -> Value {
    json!({"category": "patrol", "urgency": "low", "lat": LAT, "lon": LON,
           "address": address, "description": "巡逻时发现可疑情况"})
}

async fn rota(process_a: TestApp) {
    let app = &process_a;
    let scene = app
        .scene("新城巡防队", &["patrol"], &[at(100.0, 0.0), at(150.0, 0.0)])
        .await;
    let admin = &scene.admin;
    let (v0, v1) = (&scene.vs[0], &scene.vs[1]);
    for v in [v0, v1] {
        app.set_duty(&v.1, false).await.expect(200);
    }
    let coord = app
        .coordinator_token(admin, "13911112001", &scene.team)
        .await;
    let other_team = app.create_team(admin, "别的队").await;
    let outsider = app
        .coordinator_token(admin, "13911112002", &other_team)
        .await;
    let resident = app.resident_token("13500002001").await;
    let b = app.second_process().await;
    let mut feed = b.ws(&coord, None).await;
    let mut mine = app.ws(&v0.1, None).await;

    // A patrol shift 10 to 70 minutes from now, weekly for two weeks.
    let t0 = chrono::SubsecRound::trunc_subsecs(now(app), 0);
    let starts = t0 + chrono::Duration::minutes(10);
    let ends = t0 + chrono::Duration::minutes(70);
    let until = (app.china_today() + chrono::Duration::days(8)).to_string();
    let path = format!("/api/v1/teams/{}/shifts", scene.team);
    let body = json!({"starts_at": starts.to_rfc3339(), "ends_at": ends.to_rfc3339(),
                      "volunteer_ids": [v0.0], "kind": "patrol", "note": "白沙片区夜巡",
                      "repeat_weekly_until": until});
    app.post(&path, Some(&outsider), body.clone())
        .await
        .expect_problem(403, None);
    let mut bad = body.clone();
    bad["ends_at"] = json!(starts.to_rfc3339());
    app.post(&path, Some(&coord), bad)
        .await
        .expect_problem(422, Some("ends_at"));
    let mut stranger = body.clone();
    stranger["volunteer_ids"] = json!([uuid::Uuid::new_v4().to_string()]);
    app.post(&path, Some(&coord), stranger)
        .await
        .expect_problem(422, Some("volunteer_ids"));
    let made = app.post(&path, Some(&coord), body).await.expect(201).json;
    let shifts = made["shifts"].as_array().unwrap();
    assert_eq!(shifts.len(), 2, "two weekly occurrences: {made}");
    let second_id = shifts[1]["id"].as_str().unwrap().to_owned();
    let second_starts: DateTime<Utc> = shifts[1]["starts_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(second_starts - starts, chrono::Duration::weeks(1));

    let week = app.get(&path, Some(&coord)).await.expect(200).json;
    assert_eq!(week["shifts"].as_array().unwrap().len(), 1);
    let gaps = week["uncovered"].as_array().unwrap();
    assert!(!gaps.is_empty(), "the rest of the week is uncovered");
    let covered = |h: DateTime<Utc>| {
        !gaps.iter().any(|g| {
            let a: DateTime<Utc> = g["starts_at"].as_str().unwrap().parse().unwrap();
            let z: DateTime<Utc> = g["ends_at"].as_str().unwrap().parse().unwrap();
            a <= h && h < z
        })
    };
    assert!(covered(starts + chrono::Duration::minutes(30)));
    assert!(!covered(ends + chrono::Duration::hours(3)));
    let me = format!(
        "/api/v1/me/shifts?to={}",
        app.china_today() + chrono::Duration::days(13)
    );
    let my = app.get(&me, Some(&v0.1)).await.expect(200).json;
    assert_eq!(my["shifts"].as_array().unwrap().len(), 2);
    assert!(
        app.get(&me, Some(&v1.1)).await.expect(200).json["shifts"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Not yet: off duty, nobody offered.
    app.advance_secs(9 * 60);
    assert_eq!(app.tick().await.shifts, 0);
    assert_eq!(volunteer(app, admin, &v0.0).await["on_duty"], false);

    // At the start: on duty by the shift, in this process and the other.
    app.advance_secs(60);
    assert_eq!(app.tick().await.shifts, 1);
    assert_eq!(app.tick().await.shifts, 0, "applied once");
    assert_eq!(b.tick().await.shifts, 0, "applied once, whichever process");
    let v = volunteer(app, admin, &v0.0).await;
    assert_eq!(
        (v["on_duty"].clone(), v["duty_source"].clone()),
        (json!(true), json!("shift"))
    );
    let told = mine
        .next_of("volunteer_duty", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (told["on_duty"].clone(), told["source"].clone()),
        (json!(true), json!("shift"))
    );
    let first = b
        .place_order(&resident, patrol_order("新城大道 8 号"))
        .await;
    app.advance_secs(1);
    b.tick().await;
    let offers = b.offers_of(&v0.1).await;
    assert_eq!(
        offers.len(),
        1,
        "the other process's index has them on duty"
    );
    assert!(b.offers_of(&v1.1).await.is_empty());
    app.cancel(&resident, &first, Some("已解决"))
        .await
        .expect(200);

    // A restart in the middle changes nothing; the end takes them off.
    let app = process_a.restart().await;
    app.advance_secs(60 * 60);
    assert_eq!(app.tick().await.shifts, 1);
    let v = volunteer(&app, admin, &v0.0).await;
    assert_eq!(v["on_duty"], false);
    let second = b
        .place_order(&resident, patrol_order("新城大道 9 号"))
        .await;
    app.advance_secs(1);
    b.tick().await;
    assert!(b.offers_of(&v0.1).await.is_empty(), "off in every index");
    app.cancel(&resident, &second, Some("已解决"))
        .await
        .expect(200);

    // The patrol hour awaits review: not counted yet.
    let mine_h = app
        .get("/api/v1/me/hours", Some(&v0.1))
        .await
        .expect(200)
        .json;
    assert_eq!(mine_h["total_minutes"], 0);
    assert_eq!(mine_h["pending_minutes"], 60);
    let item = &mine_h["items"][0];
    assert_eq!(
        (item["source"].clone(), item["status"].clone()),
        (json!("shift"), json!("pending"))
    );
    let pending = app
        .get("/api/v1/hours?review=pending", Some(&coord))
        .await
        .expect(200)
        .json;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    assert!(
        app.get("/api/v1/hours?review=pending", Some(&outsider))
            .await
            .expect(200)
            .json["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let record = item["id"].as_str().unwrap();
    let review = format!("/api/v1/hours/{record}/review");
    app.post(
        &review,
        Some(&outsider),
        json!({"minutes": 50, "reason": "x"}),
    )
    .await
    .expect_problem(403, None);
    app.post(&review, Some(&coord), json!({"minutes": 50}))
        .await
        .expect_problem(422, Some("reason"));
    app.post(
        &review,
        Some(&coord),
        json!({"minutes": 5000, "reason": "x"}),
    )
    .await
    .expect_problem(422, Some("minutes"));
    let done = app
        .post(
            &review,
            Some(&coord),
            json!({"minutes": 50, "reason": "提前十分钟收队"}),
        )
        .await
        .expect(200)
        .json;
    assert_eq!(
        (done["status"].clone(), done["minutes"].clone()),
        (json!("corrected"), json!(50))
    );
    assert_eq!(done["recorded_minutes"], 60);
    let audit = app
        .get("/api/v1/audit?entity=service_hours", Some(admin))
        .await
        .expect(200)
        .json;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "corrected");
    assert_eq!(entry["data"]["before"], 60);
    assert_eq!(entry["data"]["after"], 50);
    assert_eq!(entry["data"]["reason"], "提前十分钟收队");
    let mine_h = app
        .get("/api/v1/me/hours", Some(&v0.1))
        .await
        .expect(200)
        .json;
    assert_eq!(
        (
            mine_h["total_minutes"].clone(),
            mine_h["pending_minutes"].clone()
        ),
        (json!(50), json!(0))
    );

    // Next week's occurrence: they leave it ahead of time; the desk is told
    // and its start leaves them off.
    let leave = format!("/api/v1/shifts/{second_id}/leave");
    app.post(&leave, Some(&v1.1), json!({"reason": "不是我的班"}))
        .await
        .expect_problem(404, None);
    app.post(&leave, Some(&v0.1), json!({"reason": ""}))
        .await
        .expect_problem(422, Some("reason"));
    let left = app
        .post(&leave, Some(&v0.1), json!({"reason": "家里有事"}))
        .await
        .expect(200)
        .json;
    assert!(left["members"][0]["left_at"].is_string());
    let said = feed
        .next_of("shift_left", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(said["volunteer_id"], v0.0.as_str());
    assert_eq!(said["reason"], "家里有事");
    app.post(&leave, Some(&v0.1), json!({"reason": "家里有事"}))
        .await
        .expect_problem(409, None);
    app.advance_secs(7 * 24 * 3600 - 60 * 60 + 60);
    assert_eq!(app.tick().await.shifts, 0);
    assert_eq!(volunteer(&app, admin, &v0.0).await["on_duty"], false);

    // A manual switch still works and says so.
    app.set_duty(&v0.1, true).await.expect(200);
    let v = volunteer(&app, admin, &v0.0).await;
    assert_eq!(v["duty_source"], "manual");

    // A shift running now, removed: its member goes off as at its end.
    let t = now(&app);
    let running = app
        .post(
            &path,
            Some(&coord),
            json!({"starts_at": t.to_rfc3339(), "ends_at": (t + chrono::Duration::hours(2)).to_rfc3339(),
                   "volunteer_ids": [v1.0]}),
        )
        .await
        .expect(201)
        .json;
    app.advance_secs(1);
    assert_eq!(app.tick().await.shifts, 1);
    assert_eq!(volunteer(&app, admin, &v1.0).await["on_duty"], true);
    let sid = running["shifts"][0]["id"].as_str().unwrap();
    app.send(
        reqwest::Method::DELETE,
        &format!("/api/v1/shifts/{sid}"),
        Some(&outsider),
        None,
        None,
    )
    .await
    .expect_problem(403, None);
    let gone = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/shifts/{sid}"),
            Some(&coord),
            None,
            None,
        )
        .await
        .expect(200)
        .json;
    assert_eq!(gone["removed"], 1);
    assert_eq!(volunteer(&app, admin, &v1.0).await["on_duty"], false);
    assert_eq!(
        volunteer(&app, admin, &v0.0).await["on_duty"],
        true,
        "others untouched"
    );

    // A weekly series: each occurrence switches duty on and off again.
    let t = now(&app);
    let until = (app.china_today() + chrono::Duration::days(8)).to_string();
    let series = app
        .post(
            &path,
            Some(&coord),
            json!({"starts_at": (t + chrono::Duration::seconds(60)).to_rfc3339(),
                   "ends_at": (t + chrono::Duration::minutes(31)).to_rfc3339(),
                   "volunteer_ids": [v1.0], "repeat_weekly_until": until}),
        )
        .await
        .expect(201)
        .json;
    assert_eq!(series["shifts"].as_array().unwrap().len(), 2);
    for week in 0..2 {
        app.advance_secs(if week == 0 {
            61
        } else {
            7 * 24 * 3600 - 30 * 60
        });
        assert_eq!(app.tick().await.shifts, 1, "week {week} begins");
        assert_eq!(volunteer(&app, admin, &v1.0).await["duty_source"], "shift");
        app.advance_secs(30 * 60);
        assert_eq!(app.tick().await.shifts, 1, "week {week} ends");
        assert_eq!(volunteer(&app, admin, &v1.0).await["on_duty"], false);
    }
    b.cleanup().await;
    app.cleanup().await;
}

/// Two processes share the index's changes over Redis, as in production.
async fn on_redis(backend: zhongdui_tests::Backend) -> TestApp {
    let prefix = format!("zdrota{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    TestApp::spawn_with(backend, |s| {
        s.redis_url = Some(secrecy::SecretString::from(
            std::env::var("ZD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        ));
        s.redis_prefix = prefix;
    })
    .await
}

mod rota {
    use zhongdui_tests::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::rota(super::on_redis(Backend::Sqlite).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::rota(super::on_redis(Backend::Postgres).await).await;
    }
}

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("certificate.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8", file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils; .ci/run installs it) reads the certificate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn order_hours_recorded(app: &TestApp) {
    let scene = app
        .scene("白沙救援队", &["patrol"], &[at(100.0, 0.0)])
        .await;
    let admin = &scene.admin;
    let v = &scene.vs[0];
    let coord = app
        .coordinator_token(admin, "13911113001", &scene.team)
        .await;
    let other_team = app.create_team(admin, "别的队").await;
    let outsider = app
        .coordinator_token(admin, "13911113002", &other_team)
        .await;
    // A name a spreadsheet would run as a formula.
    app.patch(
        &format!("/api/v1/volunteers/{}", v.0),
        Some(admin),
        json!({"display_name": "=王小明"}),
    )
    .await
    .expect(200);
    let resident = app.resident_token("13500003001").await;
    let id = app
        .place_order(&resident, patrol_order("白沙路 3 号"))
        .await;
    app.advance_secs(1);
    app.tick().await;
    let offer = app.offers_of(&v.1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.accept_offer(&v.1, &offer).await.expect(200);
    app.advance_secs(60);
    app.arrive(&v.1, &id, (LAT, LON)).await.expect(200);
    app.advance_secs(25 * 60 + 20);
    app.complete(&v.1, &id, Some("已处理")).await.expect(200);

    let h = app
        .get("/api/v1/me/hours", Some(&v.1))
        .await
        .expect(200)
        .json;
    assert_eq!(h["total_minutes"], 25, "{h}");
    let item = &h["items"][0];
    assert_eq!(
        (item["source"].clone(), item["status"].clone()),
        (json!("order"), json!("confirmed"))
    );
    assert_eq!(item["order_id"], id.as_str());
    assert_eq!(h["star_level"], 0);
    assert_eq!(h["next_star_hours"], 100);
    let theirs = format!("/api/v1/volunteers/{}/hours", v.0);
    assert_eq!(
        app.get(&theirs, Some(&coord)).await.expect(200).json["total_minutes"],
        25
    );
    app.get(&theirs, Some(&outsider))
        .await
        .expect_problem(403, None);
    app.get(&theirs, Some(&resident))
        .await
        .expect_problem(403, None);

    // Totals: the team's, and the city's for the admin.
    let totals = app
        .get("/api/v1/hours/totals", Some(admin))
        .await
        .expect(200)
        .json;
    assert_eq!(totals["total_minutes"], 25);
    let mine = app
        .get("/api/v1/hours/totals", Some(&outsider))
        .await
        .expect(200)
        .json;
    assert_eq!(mine["total_minutes"], 0, "an outsider's teams have none");

    // The export: a BOM, a header, the row with the name made harmless.
    let csv = app
        .get("/api/v1/hours/export", Some(&coord))
        .await
        .expect(200);
    let text = csv.text.trim_start_matches('\u{feff}').to_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("date,volunteer_id,name,phone,team"),
        "{text}"
    );
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].contains(",'=王小明,"), "{text}");
    assert!(lines[1].contains(",白沙救援队,order,"), "{text}");
    assert!(lines[1].ends_with(",25,confirmed"), "{text}");
    app.get(
        &format!("/api/v1/hours/export?team_id={}", scene.team),
        Some(&outsider),
    )
    .await
    .expect_problem(403, None);

    // The certificate: its text has the name, the hours and a code that verifies.
    let cert = format!("/api/v1/volunteers/{}/hours/certificate", v.0);
    app.get(&cert, Some(&outsider))
        .await
        .expect_problem(403, None);
    let pdf = app.get_bytes(&cert, Some(&v.1)).await;
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    assert!(
        pdf.len() < 400_000,
        "the font is subset: {} bytes",
        pdf.len()
    );
    let text = pdf_text(&pdf);
    let flat: String = text.split_whitespace().collect();
    assert!(flat.contains("志愿服务证明"), "{text}");
    assert!(flat.contains("=王小明"), "{text}");
    assert!(flat.contains("白沙救援队"), "{text}");
    assert!(flat.contains("0小时25分钟"), "{text}");
    let code = regex::Regex::new(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
        .unwrap()
        .find(&text)
        .expect("a verification code")
        .as_str()
        .to_owned();
    let ok = app
        .get(&format!("/api/v1/certificates/verify/{code}"), None)
        .await
        .expect(200)
        .json;
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["total_minutes"], 25);
    assert_eq!(ok["name"], "=***", "masked beyond the first character");
    app.get(
        &format!(
            "/api/v1/certificates/verify/{}",
            code.to_lowercase().replace('-', "")
        ),
        None,
    )
    .await
    .expect(200);
    app.get("/api/v1/certificates/verify/AAAA-BBBB-CCCC-DDDD", None)
        .await
        .expect_problem(404, None);
    app.get("/api/v1/certificates/verify/nope", None)
        .await
        .expect_problem(422, Some("code"));
}

both_backends!(order_hours, order_hours_recorded);
