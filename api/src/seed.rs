//! The demo city: 122 teams of believable kinds spread over Longgang
//! (27.50–27.65 N, 120.45–120.65 E), 2,568 volunteers with skills,
//! certificates and positions, a coordinator per team, an admin and a few
//! residents. Deterministic and idempotent: running it twice adds nothing.
use std::collections::HashSet;

use anyhow::Context;
use chrono::Duration;
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;
use zhongdui_domain::{Role, Skill};

use crate::auth::hash_password;
use crate::entities::{
    service_hour, station, team, team_coordinator, user, volunteer, volunteer_skill,
};

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "zhongdui-demo";
/// The demo admin's phone.
pub const DEMO_ADMIN_PHONE: &str = "13800000000";
/// Number of demo teams.
pub const TEAMS: usize = 122;
/// Number of demo volunteers.
pub const VOLUNTEERS: usize = 2_568;

const NS: Uuid = Uuid::from_u128(0x5a48_4f4e_4744_5549_8000_0000_0000_0001);

fn demo_id(kind: &str, key: &str) -> Uuid {
    Uuid::new_v5(&NS, format!("zhongdui-demo:{kind}:{key}").as_bytes())
}

/// The phone of demo coordinator `n` (1-based team number).
pub fn coordinator_phone(n: usize) -> String {
    format!("139{n:08}")
}

/// The phone of demo volunteer `n` (1-based).
pub fn volunteer_phone(n: usize) -> String {
    format!("150{n:08}")
}

/// The phone of demo resident `n` (1-based).
pub fn resident_phone(n: usize) -> String {
    format!("137{n:08}")
}

struct Area {
    name: &'static str,
    station: &'static str,
    lat: f64,
    lon: f64,
}

const AREAS: [Area; 12] = [
    Area {
        name: "新城",
        station: "新城联勤警务站",
        lat: 27.560,
        lon: 120.560,
    },
    Area {
        name: "白沙",
        station: "白沙联勤警务站",
        lat: 27.575,
        lon: 120.545,
    },
    Area {
        name: "湖前",
        station: "湖前联勤警务站",
        lat: 27.545,
        lon: 120.575,
    },
    Area {
        name: "舥艚",
        station: "舥艚联勤警务站",
        lat: 27.525,
        lon: 120.625,
    },
    Area {
        name: "云岩",
        station: "云岩联勤警务站",
        lat: 27.600,
        lon: 120.480,
    },
    Area {
        name: "鲸头",
        station: "鲸头联勤警务站",
        lat: 27.530,
        lon: 120.600,
    },
    Area {
        name: "平等",
        station: "平等联勤警务站",
        lat: 27.585,
        lon: 120.520,
    },
    Area {
        name: "芦浦",
        station: "芦浦联勤警务站",
        lat: 27.620,
        lon: 120.505,
    },
    Area {
        name: "海城",
        station: "海城联勤警务站",
        lat: 27.610,
        lon: 120.585,
    },
    Area {
        name: "沿江",
        station: "沿江联勤警务站",
        lat: 27.635,
        lon: 120.560,
    },
    Area {
        name: "南湖",
        station: "南湖联勤警务站",
        lat: 27.515,
        lon: 120.545,
    },
    Area {
        name: "龙金",
        station: "龙金联勤警务站",
        lat: 27.570,
        lon: 120.610,
    },
];

struct Kind {
    code: &'static str,
    stem: &'static str,
    count: usize,
    primary: Skill,
    secondary: &'static [Skill],
}

const KINDS: [Kind; 11] = [
    Kind {
        code: "emergency_response",
        stem: "应急救援",
        count: 14,
        primary: Skill::FirstAid,
        secondary: &[Skill::FireSafety, Skill::WaterRescue, Skill::Traffic],
    },
    Kind {
        code: "village_mediators",
        stem: "乡贤调解",
        count: 16,
        primary: Skill::Mediation,
        secondary: &[Skill::Dialect, Skill::AntiFraud],
    },
    Kind {
        code: "fishermens_wives",
        stem: "渔嫂志愿",
        count: 10,
        primary: Skill::Patrol,
        secondary: &[
            Skill::Mediation,
            Skill::ElderlyCare,
            Skill::Dialect,
            Skill::AntiFraud,
        ],
    },
    Kind {
        code: "enterprise_patrol",
        stem: "企业护卫",
        count: 18,
        primary: Skill::Patrol,
        secondary: &[Skill::FireSafety, Skill::Traffic],
    },
    Kind {
        code: "delivery_riders",
        stem: "骑手志愿",
        count: 12,
        primary: Skill::Traffic,
        secondary: &[Skill::Patrol, Skill::AntiFraud],
    },
    Kind {
        code: "community_patrol",
        stem: "平安巡防",
        count: 16,
        primary: Skill::Patrol,
        secondary: &[Skill::AntiFraud, Skill::Traffic, Skill::Mediation],
    },
    Kind {
        code: "medical",
        stem: "医护志愿",
        count: 8,
        primary: Skill::FirstAid,
        secondary: &[Skill::ElderlyCare],
    },
    Kind {
        code: "fire_volunteers",
        stem: "义务消防",
        count: 8,
        primary: Skill::FireSafety,
        secondary: &[Skill::FirstAid, Skill::Repair],
    },
    Kind {
        code: "water_rescue",
        stem: "水上救援",
        count: 6,
        primary: Skill::WaterRescue,
        secondary: &[Skill::FirstAid],
    },
    Kind {
        code: "elderly_care",
        stem: "助老服务",
        count: 8,
        primary: Skill::ElderlyCare,
        secondary: &[Skill::Repair, Skill::Dialect],
    },
    Kind {
        code: "anti_fraud",
        stem: "反诈宣传",
        count: 6,
        primary: Skill::AntiFraud,
        secondary: &[Skill::Dialect, Skill::Mediation],
    },
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "陈", "林", "黄", "周", "吴", "徐", "郑", "杨", "刘", "金", "朱", "章", "叶",
    "潘", "蔡", "谢", "钱", "孙", "胡", "何", "苏", "方", "项", "杜", "温", "缪", "池",
];
const GIVEN: &[&str] = &[
    "建", "国", "海", "燕", "丽", "伟", "芳", "强", "敏", "静", "磊", "军", "洋", "勇", "艳", "杰",
    "娟", "涛", "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玲", "斌", "晓", "东", "红",
    "波", "鹏", "辉", "慧", "亮", "琴", "云", "浩",
];
const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

fn person_name(rng: &mut ChaCha8Rng) -> String {
    let mut name = SURNAMES[rng.random_range(0..SURNAMES.len())].to_owned();
    name.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
    if rng.random_bool(0.7) {
        name.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
    }
    name
}

/// A point near (lat, lon), roughly normal with `sigma_km`, kept inside the city box.
fn near(rng: &mut ChaCha8Rng, lat: f64, lon: f64, sigma_km: f64) -> (f64, f64) {
    // Box–Muller from two uniforms.
    let u1: f64 = rng.random_range(1e-9..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    let r = (-2.0 * u1.ln()).sqrt() * sigma_km;
    let (dy, dx) = (
        r * (std::f64::consts::TAU * u2).sin(),
        r * (std::f64::consts::TAU * u2).cos(),
    );
    let dlat = dy / 111.2;
    let dlon = dx / (111.2 * lat.to_radians().cos());
    (
        (lat + dlat).clamp(27.50, 27.65),
        (lon + dlon).clamp(120.45, 120.65),
    )
}

/// Seeds the demo city. Returns the number of volunteers now present from the demo.
pub async fn seed_demo(db: &DatabaseConnection, progress: bool) -> anyhow::Result<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(20261123);
    // Service history on its own stream, so the city itself stays as it was.
    let mut hrng = ChaCha8Rng::seed_from_u64(20261202);
    let now = crate::clock::wall();
    let today = now.date_naive();
    let hash = hash_password(DEMO_PASSWORD.to_owned()).await?;

    // Teams, spread over the areas.
    let mut teams = Vec::with_capacity(TEAMS);
    let mut per_area_kind = std::collections::HashMap::<(usize, usize), usize>::new();
    for (k, kind) in KINDS.iter().enumerate() {
        for i in 0..kind.count {
            let a = (i * 5 + k * 7) % AREAS.len();
            let n = per_area_kind.entry((a, k)).or_insert(0);
            *n += 1;
            let name = format!(
                "{}{}{}队",
                AREAS[a].name,
                kind.stem,
                NUMERALS[(*n - 1) % NUMERALS.len()]
            );
            teams.push((name, k, a));
        }
    }

    // Team sizes: around 21, summing exactly to VOLUNTEERS.
    let mut sizes: Vec<usize> = (0..TEAMS).map(|_| rng.random_range(12..=30)).collect();
    let mut total: usize = sizes.iter().sum();
    let mut i = 0;
    while total != VOLUNTEERS {
        let t = i % TEAMS;
        if total < VOLUNTEERS && sizes[t] < 40 {
            sizes[t] += 1;
            total += 1;
        } else if total > VOLUNTEERS && sizes[t] > 8 {
            sizes[t] -= 1;
            total -= 1;
        }
        i += 1;
    }

    let bar = if progress {
        ProgressBar::new((TEAMS + VOLUNTEERS) as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:12} [{bar:40}] {pos}/{len}")
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .progress_chars("=> "),
    );
    bar.set_message("teams");

    let txn = crate::db::begin_write(db)
        .await
        .context("starting the seed transaction")?;
    let do_nothing = || OnConflict::new().do_nothing().to_owned();

    // Admin and residents.
    let mut people = vec![user::ActiveModel {
        id: Set(demo_id("user", DEMO_ADMIN_PHONE)),
        phone: Set(DEMO_ADMIN_PHONE.to_owned()),
        password_hash: Set(hash.clone()),
        display_name: Set("市联勤指挥中心管理员".to_owned()),
        role: Set(Role::Admin.code().to_owned()),
        disabled: Set(false),
        token_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }];
    for n in 1..=5 {
        let phone = resident_phone(n);
        people.push(user::ActiveModel {
            id: Set(demo_id("user", &phone)),
            phone: Set(phone),
            password_hash: Set(hash.clone()),
            display_name: Set(format!("居民{}", person_name(&mut rng))),
            role: Set(Role::Resident.code().to_owned()),
            disabled: Set(false),
            token_version: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    user::Entity::insert_many(people)
        .on_conflict(do_nothing())
        .exec_without_returning(&txn)
        .await
        .context("inserting the admin and residents")?;

    // Teams and their coordinators.
    // Each team is based near its area's station, on a 5 × 5 grid 300 m apart.
    let team_rows = teams.iter().enumerate().map(|(i, (name, k, a))| {
        let step = |n: usize| (n % 5) as f64 - 2.0;
        team::ActiveModel {
            id: Set(demo_id("team", name)),
            name: Set(name.clone()),
            kind: Set(KINDS[*k].code.to_owned()),
            area: Set(Some(format!("{}片区", AREAS[*a].name))),
            station: Set(Some(AREAS[*a].station.to_owned())),
            base_lat: Set(Some(AREAS[*a].lat + step(i) * 0.0027)),
            base_lon: Set(Some(AREAS[*a].lon + step(i / 5) * 0.003)),
            created_at: Set(now),
            updated_at: Set(now),
        }
    });
    team::Entity::insert_many(team_rows)
        .on_conflict(do_nothing())
        .exec_without_returning(&txn)
        .await
        .context("inserting teams")?;
    // The police stations, where the areas' coordinates are.
    let stations = AREAS.iter().map(|a| station::ActiveModel {
        id: Set(demo_id("station", a.station)),
        name: Set(a.station.to_owned()),
        lat: Set(a.lat),
        lon: Set(a.lon),
        created_at: Set(now),
        updated_at: Set(now),
    });
    station::Entity::insert_many(stations)
        .on_conflict(do_nothing())
        .exec_without_returning(&txn)
        .await
        .context("inserting stations")?;
    let coordinators: Vec<user::ActiveModel> = (1..=TEAMS)
        .map(|n| {
            let phone = coordinator_phone(n);
            user::ActiveModel {
                id: Set(demo_id("user", &phone)),
                phone: Set(phone),
                password_hash: Set(hash.clone()),
                display_name: Set(format!("{}（协调员）", person_name(&mut rng))),
                role: Set(Role::Coordinator.code().to_owned()),
                disabled: Set(false),
                token_version: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
            }
        })
        .collect();
    for chunk in coordinators.chunks(200) {
        user::Entity::insert_many(chunk.to_vec())
            .on_conflict(do_nothing())
            .exec_without_returning(&txn)
            .await
            .context("inserting coordinators")?;
    }
    let links = teams
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| team_coordinator::ActiveModel {
            team_id: Set(demo_id("team", name)),
            user_id: Set(demo_id("user", &coordinator_phone(i + 1))),
            created_at: Set(now),
        });
    let existing_coordinators: HashSet<Uuid> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Role.eq(Role::Coordinator.code()))
        .into_tuple()
        .all(&txn)
        .await
        .context("reading coordinators")?
        .into_iter()
        .collect();
    let links: Vec<_> = links
        .filter(|l| matches!(&l.user_id, sea_orm::ActiveValue::Set(id) if existing_coordinators.contains(id)))
        .collect();
    if !links.is_empty() {
        team_coordinator::Entity::insert_many(links)
            .on_conflict(do_nothing())
            .exec_without_returning(&txn)
            .await
            .context("linking coordinators")?;
    }
    bar.inc(TEAMS as u64);
    bar.set_message("volunteers");

    // Volunteers.
    let mut n = 0;
    for (t, (team_name, k, a)) in teams.iter().enumerate() {
        let kind = &KINDS[*k];
        let area = &AREAS[*a];
        let team_id = demo_id("team", team_name);
        let (team_lat, team_lon) = near(&mut rng, area.lat, area.lon, 1.2);
        let mut users = Vec::new();
        let mut vols = Vec::new();
        let mut skills = Vec::new();
        let mut served = Vec::new();
        for m in 0..sizes[t] {
            n += 1;
            let phone = volunteer_phone(n);
            let id = demo_id("user", &phone);
            users.push(user::ActiveModel {
                id: Set(id),
                phone: Set(phone),
                password_hash: Set(hash.clone()),
                display_name: Set(person_name(&mut rng)),
                role: Set(Role::Volunteer.code().to_owned()),
                disabled: Set(false),
                token_version: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
            });
            let (home_lat, home_lon) = near(&mut rng, team_lat, team_lon, 1.5);
            let on_duty = rng.random_bool(0.4);
            let (lat, lon) = near(&mut rng, home_lat, home_lon, 0.4);
            vols.push(volunteer::ActiveModel {
                id: Set(id),
                team_id: Set(team_id),
                is_leader: Set(m == 0),
                capacity: Set(if rng.random_bool(0.1) { 2 } else { 1 }),
                active_tasks: Set(0),
                on_duty: Set(on_duty),
                duty_source: Set(on_duty.then(|| "manual".to_owned())),
                home_lat: Set(Some(home_lat)),
                home_lon: Set(Some(home_lon)),
                lat: Set(on_duty.then_some(lat)),
                lon: Set(on_duty.then_some(lon)),
                location_at: Set(on_duty.then_some(now)),
                idle_since: Set(Some(now - Duration::minutes(rng.random_range(0..600)))),
                created_at: Set(now),
                updated_at: Set(now),
            });
            let mut held = vec![];
            if rng.random_bool(0.92) {
                held.push(kind.primary);
            }
            for s in kind.secondary {
                if rng.random_bool(0.35) {
                    held.push(*s);
                }
            }
            for s in Skill::ALL {
                if !held.contains(&s) && rng.random_bool(0.03) {
                    held.push(s);
                }
            }
            // Past patrols (4 hours, weekly): every team leader has a year or
            // more of them (one star or more), a quarter of the others a few.
            let patrols = if m == 0 {
                hrng.random_range(30..60)
            } else if hrng.random_bool(0.25) {
                hrng.random_range(1..20)
            } else {
                0
            };
            for k in 0..patrols {
                let started =
                    now - Duration::weeks(k + 1) - Duration::hours(hrng.random_range(0..72));
                served.push(service_hour::ActiveModel {
                    id: Set(demo_id("hours", &format!("{id}-{k}"))),
                    volunteer_id: Set(id),
                    team_id: Set(team_id),
                    order_id: Set(None),
                    shift_id: Set(None),
                    started_at: Set(started),
                    ended_at: Set(started + Duration::hours(4)),
                    minutes: Set(240),
                    recorded_minutes: Set(240),
                    source: Set(crate::services::hours::FROM_SHIFT.to_owned()),
                    status: Set(crate::services::hours::CONFIRMED.to_owned()),
                    reason: Set(None),
                    reviewed_by: Set(None),
                    reviewed_at: Set(None),
                    created_at: Set(started + Duration::hours(4)),
                });
            }
            for s in held {
                let until = s
                    .needs_certificate()
                    .then(|| today + Duration::days(rng.random_range(-90..730)));
                skills.push(volunteer_skill::ActiveModel {
                    volunteer_id: Set(id),
                    skill: Set(s.code().to_owned()),
                    certified_until: Set(until),
                    alerted_days: Set(None),
                });
            }
        }
        user::Entity::insert_many(users)
            .on_conflict(do_nothing())
            .exec_without_returning(&txn)
            .await
            .context("inserting volunteer accounts")?;
        // Only for accounts that are really demo volunteers (a real person may
        // have registered one of the demo phones before).
        let ids: Vec<Uuid> = vols
            .iter()
            .filter_map(|v| match &v.id {
                sea_orm::ActiveValue::Set(id) => Some(*id),
                _ => None,
            })
            .collect();
        let ours: HashSet<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Id.is_in(ids))
            .filter(user::Column::Role.eq(Role::Volunteer.code()))
            .into_tuple()
            .all(&txn)
            .await
            .context("reading volunteer accounts")?
            .into_iter()
            .collect();
        let keep = |id: &sea_orm::ActiveValue<Uuid>| matches!(id, sea_orm::ActiveValue::Set(id) if ours.contains(id));
        let vols: Vec<_> = vols.into_iter().filter(|v| keep(&v.id)).collect();
        let skills: Vec<_> = skills
            .into_iter()
            .filter(|s| keep(&s.volunteer_id))
            .collect();
        if !vols.is_empty() {
            volunteer::Entity::insert_many(vols)
                .on_conflict(do_nothing())
                .exec_without_returning(&txn)
                .await
                .context("inserting volunteers")?;
        }
        let served: Vec<_> = served
            .into_iter()
            .filter(|h| keep(&h.volunteer_id))
            .collect();
        for chunk in served.chunks(300) {
            service_hour::Entity::insert_many(chunk.to_vec())
                .on_conflict(do_nothing())
                .exec_without_returning(&txn)
                .await
                .context("inserting service history")?;
        }
        for chunk in skills.chunks(300) {
            volunteer_skill::Entity::insert_many(chunk.to_vec())
                .on_conflict(do_nothing())
                .exec_without_returning(&txn)
                .await
                .context("inserting volunteer skills")?;
        }
        bar.inc(sizes[t] as u64);
    }
    txn.commit().await.context("committing the demo data")?;
    bar.finish_with_message("done");

    if progress {
        println!("演示数据已就绪 / demo data ready: {TEAMS} teams, {VOLUNTEERS} volunteers");
        println!("  admin        {DEMO_ADMIN_PHONE}");
        println!(
            "  coordinator  {} … {} (one per team)",
            coordinator_phone(1),
            coordinator_phone(TEAMS)
        );
        println!(
            "  volunteer    {} … {}",
            volunteer_phone(1),
            volunteer_phone(VOLUNTEERS)
        );
        println!(
            "  resident     {} … {}",
            resident_phone(1),
            resident_phone(5)
        );
        println!("  password for every demo account: {DEMO_PASSWORD}");
    }
    Ok(n)
}
