//! CSV import with good and bad rows, idempotent re-import, and an export
//! that imports back to the same roster.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use zhongdui_tests::{TestApp, both_backends};

const CSV_MIXED: &str = "\u{feff}phone,display_name,team,skills,certificates,capacity,is_leader,lat,lon
13600000001,王海燕,新城平安巡防一队,patrol;first_aid,first_aid:2027-06-30,1,true,27.56,120.56
13600000002,李建国,新城平安巡防一队,mediation,,2,false,,
abc,坏号码,新城平安巡防一队,patrol,,1,false,27.56,120.56
13600000004,张三,不存在的队,patrol,,1,false,27.56,120.56
13600000005,陈敏,白沙应急救援一队,juggling,,1,false,27.56,120.56
13600000006,林静,白沙应急救援一队,patrol,,1,false,95,120.56
+86 136-0000-0007,黄磊,白沙应急救援一队,water_rescue;first_aid,water_rescue:2026-12-31,1,no,27.53,120.60
";

fn line(report: &serde_json::Value, n: u64) -> &serde_json::Value {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["line"] == n)
        .unwrap_or_else(|| panic!("no report for line {n}: {report}"))
}

fn assert_line_error(report: &serde_json::Value, n: u64, field: &str) {
    let l = line(report, n);
    assert_eq!(l["status"], "error", "line {n}: {l}");
    assert!(
        l["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == field),
        "line {n} should name {field}: {l}"
    );
}

async fn export(app: &TestApp, token: &str) -> String {
    let r = app
        .get("/api/v1/roster/export", Some(token))
        .await
        .expect(200);
    assert!(r.content_type.starts_with("text/csv"));
    r.text
}

async fn mixed_import_and_round_trip(app: &TestApp) {
    // Arrange
    let admin = app.admin_token().await;
    app.create_team(&admin, "新城平安巡防一队").await;
    app.create_team(&admin, "白沙应急救援一队").await;
    let users_before = app.count("users").await;

    // Act
    let report = app.import_csv(&admin, CSV_MIXED).await;

    // Assert: good lines in, each bad line named by line and field.
    assert_eq!(report["total"], 7, "{report}");
    assert_eq!(report["created"], 3, "{report}");
    assert_eq!(report["failed"], 4, "{report}");
    for n in [2, 3, 8] {
        assert_eq!(line(&report, n)["status"], "created");
    }
    assert_line_error(&report, 4, "phone");
    assert_line_error(&report, 5, "team");
    assert_line_error(&report, 6, "skills");
    assert_line_error(&report, 7, "lat");
    assert_eq!(app.count("volunteers").await, 3);
    assert_eq!(app.count("users").await, users_before + 3);
    let list = app
        .get("/api/v1/volunteers?q=13600000007", Some(&admin))
        .await
        .expect(200);
    let v = &list.json["items"][0];
    assert_eq!(v["phone"], "13600000007", "phone stored normalised");
    assert_eq!(v["certificates"][0]["certified_until"], "2026-12-31");

    // Re-import: idempotent by phone.
    let again = app.import_csv(&admin, CSV_MIXED).await;
    assert_eq!(again["created"], 0);
    assert_eq!(again["updated"], 0);
    assert_eq!(again["unchanged"], 3);
    assert_eq!(app.count("volunteers").await, 3);

    // An edited line updates in place.
    let edited = CSV_MIXED.replace(
        "13600000002,李建国,新城平安巡防一队,mediation,,2",
        "13600000002,李建国,新城平安巡防一队,mediation;dialect,,2",
    );
    let r = app.import_csv(&admin, &edited).await;
    assert_eq!(r["updated"], 1, "{r}");

    // Export → import into another instance with the same teams → same export.
    let exported = export(app, &admin).await;
    assert_eq!(exported.lines().count(), 4, "{exported}");
    let other = TestApp::spawn(app.backend).await;
    let other_admin = other.admin_token().await;
    other.create_team(&other_admin, "新城平安巡防一队").await;
    other.create_team(&other_admin, "白沙应急救援一队").await;
    let r = other.import_csv(&other_admin, &exported).await;
    assert_eq!(r["created"], 3, "{r}");
    assert_eq!(r["failed"], 0, "{r}");
    assert_eq!(export(&other, &other_admin).await, exported);
    // And the export re-imported into its own instance changes nothing.
    let r = app.import_csv(&admin, &exported).await;
    assert_eq!(r["unchanged"], 3, "{r}");
    other.cleanup().await;
}

both_backends!(csv_mixed_rows, mixed_import_and_round_trip);

async fn bad_files(app: &TestApp) {
    let admin = app.admin_token().await;
    // Missing a required column: the whole file is refused, nothing changes.
    app.send(
        reqwest::Method::POST,
        "/api/v1/roster/import",
        Some(&admin),
        None,
        Some(("text/csv", b"phone,name\n13600000001,x\n".to_vec())),
    )
    .await
    .expect_problem(422, Some("header"));
    // Not CSV.
    app.post("/api/v1/roster/import", Some(&admin), json!({"a": 1}))
        .await
        .expect_problem(415, None);
    assert_eq!(app.count("volunteers").await, 0);
}

both_backends!(csv_bad_files, bad_files);

async fn coordinator_imports_only_own_teams(app: &TestApp) {
    let admin = app.admin_token().await;
    let mine = app.create_team(&admin, "新城平安巡防一队").await;
    app.create_team(&admin, "白沙应急救援一队").await;
    let coord = app.coordinator_token(&admin, "13911110000", &mine).await;
    let report = app.import_csv(&coord, CSV_MIXED).await;
    assert_eq!(line(&report, 2)["status"], "created");
    assert_line_error(&report, 8, "team");
    assert_eq!(app.count("volunteers").await, 2);
}

both_backends!(csv_coordinator_scope, coordinator_imports_only_own_teams);
