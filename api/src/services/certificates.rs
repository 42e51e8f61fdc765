//! Certificates that run out: the list staff see (`GET
//! /certificates/expiring`, a coordinator's own teams only), and the alerts
//! 30 and 7 days before (China-time days) to the volunteer (their channel,
//! and so by Web Push when they are not on the page) and to the
//! coordinators' feed. Each alert goes once per certificate and expiry: a
//! conditional update of `volunteer_skills.alerted_days` decides, so any
//! number of processes may run the check.
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;
use zhongdui_domain::Skill;

use crate::entities::{team, user, volunteer, volunteer_skill};
use crate::error::ApiResult;
use crate::messages::{Channels, Push};
use crate::services::orders::push;

/// The alerts, in days before expiry, latest last.
pub const ALERT_DAYS: [i64; 2] = [30, 7];

/// A certificate running out.
#[derive(Debug, Clone)]
pub struct Expiring {
    /// The volunteer.
    pub volunteer_id: Uuid,
    /// Their name.
    pub display_name: String,
    /// Their team.
    pub team_id: Uuid,
    /// Its name.
    pub team_name: String,
    /// The skill the certificate is for.
    pub skill: Skill,
    /// Its last valid day.
    pub certified_until: NaiveDate,
    /// Days from today (China time) to that day.
    pub days_left: i64,
}

/// Certificates valid today that run out within `within_days`, soonest
/// first; only of volunteers in `teams` when given.
pub async fn expiring<C: ConnectionTrait>(
    db: &C,
    teams: Option<&[Uuid]>,
    within_days: i64,
    today: NaiveDate,
) -> ApiResult<Vec<Expiring>> {
    let rows = volunteer_skill::Entity::find()
        .filter(volunteer_skill::Column::CertifiedUntil.gte(today))
        .filter(volunteer_skill::Column::CertifiedUntil.lte(today + Duration::days(within_days)))
        .order_by_asc(volunteer_skill::Column::CertifiedUntil)
        .all(db)
        .await?;
    described(db, rows, teams, today).await
}

/// `rows` with their volunteers' names and teams (volunteers outside
/// `teams`, when given, and deleted accounts are left out).
async fn described<C: ConnectionTrait>(
    db: &C,
    rows: Vec<volunteer_skill::Model>,
    teams: Option<&[Uuid]>,
    today: NaiveDate,
) -> ApiResult<Vec<Expiring>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.volunteer_id).collect();
    let mut out = Vec::new();
    let mut vols = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let mut q = volunteer::Entity::find().filter(volunteer::Column::Id.is_in(chunk.to_vec()));
        if let Some(t) = teams {
            q = q.filter(volunteer::Column::TeamId.is_in(t.to_vec()));
        }
        for v in q.all(db).await? {
            vols.insert(v.id, v.team_id);
        }
    }
    let users: std::collections::HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(vols.keys().copied().collect::<Vec<_>>()))
        .filter(user::Column::Disabled.eq(false))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let team_names: std::collections::HashMap<Uuid, String> = team::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    for r in rows {
        let (Some(team_id), Some(u), Some(until), Ok(skill)) = (
            vols.get(&r.volunteer_id),
            users.get(&r.volunteer_id),
            r.certified_until,
            r.skill.parse::<Skill>(),
        ) else {
            continue;
        };
        out.push(Expiring {
            volunteer_id: r.volunteer_id,
            display_name: u.display_name.clone(),
            team_id: *team_id,
            team_name: team_names.get(team_id).cloned().unwrap_or_default(),
            skill,
            certified_until: until,
            days_left: (until - today).num_days(),
        });
    }
    Ok(out)
}

/// Sends the alerts due on `today` (China time): a certificate within 30
/// days of its end not yet alerted at 30, or within 7 not yet at 7. Returns
/// how many went out.
pub async fn alert_due<C: ConnectionTrait>(
    db: &C,
    ch: Channels<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    let first = ALERT_DAYS[0];
    let last = ALERT_DAYS[ALERT_DAYS.len() - 1];
    let rows = volunteer_skill::Entity::find()
        .filter(volunteer_skill::Column::CertifiedUntil.gte(today))
        .filter(volunteer_skill::Column::CertifiedUntil.lte(today + Duration::days(first)))
        .filter(
            Condition::any()
                .add(volunteer_skill::Column::AlertedDays.is_null())
                .add(volunteer_skill::Column::AlertedDays.gt(last)),
        )
        .all(db)
        .await?;
    let mut sent = 0;
    for e in described(db, rows, None, today).await? {
        // The nearest alert point already reached.
        let Some(stage) = ALERT_DAYS.iter().rev().copied().find(|d| e.days_left <= *d) else {
            continue;
        };
        let stage32 = i32::try_from(stage).unwrap_or(i32::MAX);
        let took = volunteer_skill::Entity::update_many()
            .col_expr(
                volunteer_skill::Column::AlertedDays,
                Expr::value(Some(stage32)),
            )
            .filter(volunteer_skill::Column::VolunteerId.eq(e.volunteer_id))
            .filter(volunteer_skill::Column::Skill.eq(e.skill.code()))
            .filter(volunteer_skill::Column::CertifiedUntil.eq(e.certified_until))
            .filter(
                Condition::any()
                    .add(volunteer_skill::Column::AlertedDays.is_null())
                    .add(volunteer_skill::Column::AlertedDays.gt(stage32)),
            )
            .exec(db)
            .await?;
        if took.rows_affected == 0 {
            continue;
        }
        let alert = Push::CertificateExpiring {
            volunteer_id: e.volunteer_id,
            volunteer_name: e.display_name.clone(),
            team_id: e.team_id,
            team_name: e.team_name.clone(),
            skill: e.skill.code().to_owned(),
            certified_until: e.certified_until.to_string(),
            days_left: e.days_left,
        };
        push(db, ch.volunteer(e.volunteer_id), alert.clone(), now).await?;
        push(db, ch.ops(), alert, now).await?;
        sent += 1;
    }
    Ok(sent)
}

/// Checks every ten minutes (and once at start), until shutdown.
pub async fn run(state: crate::state::AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = every.tick() => {}
        }
        let now = state.clock.now();
        let result = match crate::clock::local_today(now) {
            Ok(today) => alert_due(&state.db, state.channels(), today, now).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(alerts = n, "certificate expiry alerts sent"),
            Err(e) => tracing::warn!(error = %e, "certificate alerts failed; retried later"),
        }
    }
}
