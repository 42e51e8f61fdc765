//! The real binary, as a new user runs it: no configuration at all, in an
//! empty directory (so a SQLite file appears there), no network needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_zhongdui");

fn zhongdui(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("ZD_CONFIG")
        .env("RUST_LOG", "warn");
    cmd
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &std::path::Path, args: &[&str]) -> (Server, String) {
    let mut child = zhongdui(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (server, base)
}

#[test]
fn fresh_directory_to_page_docs_and_roster() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    // `zhongdui serve --demo` with nothing configured.
    let (server, base) = start(dir.path(), &["serve", "--bind", "127.0.0.1:0", "--demo"]);
    assert!(
        dir.path().join("zhongdui.db").exists(),
        "the default SQLite file is in the working directory"
    );
    let page = client.get(format!("{base}/")).send().unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("众队"));
    let docs = client.get(format!("{base}/api/docs/")).send().unwrap();
    assert_eq!(docs.status(), 200);
    let css = client
        .get(format!("{base}/api/docs/swagger-ui.css"))
        .send()
        .unwrap();
    assert_eq!(css.status(), 200, "Swagger UI assets are served locally");
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"phone": "13900000001", "password": "zhongdui-demo"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let teams: serde_json::Value = client
        .get(format!("{base}/api/v1/teams"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(teams["total"], 122);
    drop(server);

    // The other commands against the same file.
    let out = zhongdui(dir.path()).arg("migrate").output().unwrap();
    assert!(out.status.success());
    let out = zhongdui(dir.path()).arg("seed-demo").output().unwrap();
    assert!(out.status.success(), "seeding twice is fine");
    let create_admin = |password: &str| {
        zhongdui(dir.path())
            .args([
                "create-admin",
                "--phone",
                "13812345678",
                "--password",
                password,
            ])
            .output()
            .unwrap()
    };
    let out = create_admin("short");
    assert!(!out.status.success(), "a short password is refused");
    let out = create_admin("admin-password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = dir.path().join("roster.csv");
    std::fs::write(
        &csv,
        "phone,display_name,team,skills,certificates,capacity,is_leader,lat,lon\n\
         13612340001,新人,新城平安巡防一队,patrol,,1,false,27.56,120.56\n\
         13612340002,坏行,没有这个队,patrol,,1,false,27.56,120.56\n",
    )
    .unwrap();
    let out = zhongdui(dir.path())
        .arg("import-roster")
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed line makes the exit code 1: {stdout}"
    );
    assert!(stdout.contains("1 created"), "{stdout}");
    assert!(stdout.contains("line 3: team"), "{stdout}");

    // The admin created above can log in on a restarted server.
    let (_server, base) = start(dir.path(), &["serve", "--bind", "127.0.0.1:0"]);
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"phone": "13812345678", "password": "admin-password"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// SIGTERM stops the server cleanly: every background loop ends before the
/// process exits, with a zero exit code and no warning or error logged.
#[test]
fn sigterm_stops_every_loop_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = zhongdui(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    // Logs go to standard output, after the "listening" line.
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    // Some traffic first, so that the loops have work in hand.
    let client = reqwest::blocking::Client::new();
    for _ in 0..5 {
        let r = client.get(format!("{base}/api/v1/skills")).send().unwrap();
        assert_eq!(r.status(), 200);
    }
    std::thread::sleep(Duration::from_millis(500));
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still running 15 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = log.join().unwrap();
    assert!(status.success(), "exit {status:?}: {log:#?}");
    let bad: Vec<&String> = log
        .iter()
        .filter(|l| l.contains(" WARN ") || l.contains("ERROR"))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(
        log.iter().any(|l| l.contains("stopped")),
        "serve returned after its loops: {log:#?}"
    );
}
