//! Roster CSV: import with a report per line, export that imports back to the
//! same roster. Columns:
//! `phone,display_name,team,skills,certificates,capacity,is_leader,lat,lon[,password]`
//! where `team` is a team name or id, `skills` is `first_aid;patrol`, and
//! `certificates` is `first_aid:2027-06-30;fire_safety:2026-12-31`.
use std::collections::{BTreeMap, HashMap};
use zhongdui_domain::text::phrases as p;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, TransactionTrait};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use zhongdui_domain::{Phone, TeamId};

use crate::auth::hash_password;
use crate::entities::team;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::services::roster::{
    self, Errors, OnExisting, Outcome, VolunteerFilter, VolunteerSpec, parse_capacity,
    parse_display_name, parse_home, parse_skills,
};

/// The header an export writes and an import expects (password optional).
pub const HEADER: [&str; 9] = [
    "phone",
    "display_name",
    "team",
    "skills",
    "certificates",
    "capacity",
    "is_leader",
    "lat",
    "lon",
];

/// What happened to one line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineReport {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// The phone on the line, as written.
    pub phone: Option<String>,
    /// `created`, `updated`, `unchanged` or `error`.
    pub status: String,
    /// Why the line was refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// What is worth a look on a kept line (a skill whose certificate is
    /// missing or expired does not count for dispatch).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldError>,
}

/// The whole import's report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// Data lines read.
    pub total: usize,
    /// New volunteers.
    pub created: usize,
    /// Changed volunteers.
    pub updated: usize,
    /// Lines that matched the roster already.
    pub unchanged: usize,
    /// Lines refused.
    pub failed: usize,
    /// One entry per data line.
    pub lines: Vec<LineReport>,
}

pub use crate::services::roster::TeamScope;

/// Imports `data`. Good lines are applied (all in one transaction, each in a
/// savepoint), bad lines are reported by line and field and change nothing.
pub async fn import(
    db: &DatabaseConnection,
    data: &[u8],
    scope: &TeamScope,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<ImportReport> {
    let data = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(data);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::invalid("header", p::CSV_HEADER.with("reason", e.to_string())))?
        .clone();
    let col: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_lowercase(), i))
        .collect();
    let missing: Vec<FieldError> = ["phone", "display_name", "team"]
        .into_iter()
        .filter(|h| !col.contains_key(*h))
        .map(|h| FieldError::new("header", p::CSV_COLUMN.with("column", h.to_string())))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::Invalid(missing));
    }

    let teams = team::Entity::find().all(db).await?;
    let by_name: HashMap<String, Uuid> = teams.iter().map(|t| (t.name.clone(), t.id)).collect();
    let by_id: HashMap<String, Uuid> = teams.iter().map(|t| (t.id.to_string(), t.id)).collect();

    let mut report = ImportReport {
        total: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: 0,
        lines: Vec::new(),
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let today = crate::clock::local_today(now)?;
    let txn = crate::db::begin_write(db).await?;
    for record in reader.records() {
        report.total += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                report.failed += 1;
                report.lines.push(LineReport {
                    line,
                    phone: None,
                    status: "error".to_owned(),
                    errors: vec![FieldError::new(
                        "line",
                        p::CSV_LINE.with("reason", e.to_string()),
                    )],
                    warnings: Vec::new(),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let get = |name: &str| {
            col.get(name)
                .and_then(|&i| record.get(i))
                .unwrap_or("")
                .trim()
        };
        let phone_raw = get("phone").to_owned();
        let mut errors = Errors::default();
        let parsed = parse_line(&get, &by_name, &by_id, scope, &mut errors);
        if let Some(first) = parsed
            .as_ref()
            .and_then(|spec| seen.get(spec.phone.as_str()))
        {
            errors.push("phone", p::CSV_SAME_PHONE.with("line", *first));
        }
        let password = get("password").to_owned();
        if !password.is_empty() {
            errors.password(&password);
        }
        let warnings = parsed
            .as_ref()
            .map(|spec| certificate_warnings(spec, today))
            .unwrap_or_default();
        let outcome = match (parsed, errors.0.is_empty()) {
            (Some(spec), true) => {
                seen.insert(spec.phone.as_str().to_owned(), line);
                let hash = if password.is_empty() {
                    None
                } else {
                    Some(hash_password(password).await?)
                };
                let savepoint = txn.begin().await?;
                let upsert = roster::upsert_volunteer(
                    &savepoint,
                    &spec,
                    hash,
                    OnExisting::Update,
                    scope,
                    false,
                );
                match upsert.await {
                    Ok((_, outcome)) => {
                        savepoint.commit().await?;
                        Ok(outcome)
                    }
                    Err(
                        ApiError::Conflict(message)
                        | ApiError::ConflictOn { message, .. }
                        | ApiError::Forbidden(message),
                    ) => {
                        savepoint.rollback().await?;
                        Err(vec![FieldError::new("phone", message)])
                    }
                    Err(ApiError::Invalid(errs)) => {
                        savepoint.rollback().await?;
                        Err(errs)
                    }
                    Err(other) => return Err(other),
                }
            }
            _ => Err(errors.0),
        };
        let kept = outcome.is_ok();
        let (status, errs) = match outcome {
            Ok(Outcome::Created | Outcome::Promoted) => {
                report.created += 1;
                ("created", Vec::new())
            }
            Ok(Outcome::Updated) => {
                report.updated += 1;
                ("updated", Vec::new())
            }
            Ok(Outcome::Unchanged) => {
                report.unchanged += 1;
                ("unchanged", Vec::new())
            }
            Err(errs) => {
                report.failed += 1;
                ("error", errs)
            }
        };
        report.lines.push(LineReport {
            line,
            phone: (!phone_raw.is_empty()).then_some(phone_raw),
            status: status.to_owned(),
            errors: errs,
            warnings: if kept { warnings } else { Vec::new() },
        });
    }
    txn.commit().await?;
    Ok(report)
}

/// Skills on a line that will not count for dispatch: their certificate is
/// missing or expired on the city's day.
fn certificate_warnings(spec: &VolunteerSpec, today: NaiveDate) -> Vec<FieldError> {
    spec.skills
        .iter()
        .filter_map(|(skill, until)| {
            let message = match until {
                None if skill.needs_certificate() => p::CERT_MISSING.with("skill", skill.code()),
                Some(d) if *d < today => p::CERT_EXPIRED
                    .with("skill", skill.code())
                    .with("date", d.to_string()),
                _ => return None,
            };
            Some(FieldError::new("certificates", message))
        })
        .collect()
}

fn parse_line<'a>(
    get: &impl Fn(&str) -> &'a str,
    by_name: &HashMap<String, Uuid>,
    by_id: &HashMap<String, Uuid>,
    scope: &TeamScope,
    errors: &mut Errors,
) -> Option<VolunteerSpec> {
    let phone = Phone::parse(get("phone"))
        .map_err(|e| errors.push("phone", e.message))
        .ok();
    let display_name = parse_display_name(get("display_name"), errors);
    let team_raw = get("team");
    let team_id = match by_name.get(team_raw).or_else(|| by_id.get(team_raw)) {
        Some(id) => {
            let id = TeamId(*id);
            if scope.as_ref().is_some_and(|teams| !teams.contains(&id)) {
                errors.push("team", p::CSV_TEAM_NOT_YOURS.with("team", team_raw));
            }
            Some(id)
        }
        None => {
            errors.push("team", p::CSV_TEAM_UNKNOWN.with("team", team_raw));
            None
        }
    };
    let codes: Vec<String> = split_list(get("skills")).map(str::to_owned).collect();
    let mut certificates = BTreeMap::new();
    for item in split_list(get("certificates")) {
        match item.split_once(':') {
            Some((code, date)) => match NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") {
                Ok(d) => {
                    certificates.insert(code.trim().to_owned(), d);
                }
                Err(_) => errors.push("certificates", p::CSV_CERT_DATE.with("item", item)),
            },
            None => errors.push("certificates", p::CSV_CERT_FORMAT.with("item", item)),
        }
    }
    let mut skill_errors = Errors::default();
    let skills = parse_skills(&codes, &certificates, &mut skill_errors);
    for e in skill_errors.0 {
        let field = if e.field.starts_with("certificates") {
            "certificates"
        } else {
            "skills"
        };
        errors.push(field, e.text);
    }
    let capacity = match get("capacity") {
        "" => 1,
        raw => match raw.parse::<i64>() {
            Ok(n) => parse_capacity(n, errors),
            Err(_) => {
                errors.push("capacity", p::CSV_WHOLE_NUMBER.with("value", raw));
                1
            }
        },
    };
    let is_leader = match get("is_leader").to_lowercase().as_str() {
        "" | "false" | "0" | "no" | "n" | "否" => false,
        "true" | "1" | "yes" | "y" | "是" => true,
        other => {
            errors.push("is_leader", p::CSV_YES_NO.with("value", other));
            false
        }
    };
    let number = |field: &'static str, errors: &mut Errors| -> Option<f64> {
        match get(field) {
            "" => None,
            raw => match raw.parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    errors.push(field, p::CSV_NUMBER.with("value", raw));
                    None
                }
            },
        }
    };
    let lat = number("lat", errors);
    let lon = number("lon", errors);
    let home = parse_home(lat, lon, ("lat", "lon"), errors);
    Some(VolunteerSpec {
        phone: phone?,
        display_name,
        team_id: team_id?,
        skills,
        capacity,
        is_leader,
        home,
    })
}

fn split_list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split([';', '|', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Writes the roster (optionally one team) as CSV, sorted by team and phone,
/// with a UTF-8 byte-order mark so that spreadsheet programs read Chinese.
/// `teams` limits the export to those teams (a coordinator's).
pub async fn export<C: ConnectionTrait>(
    db: &C,
    team: Option<TeamId>,
    teams: &TeamScope,
) -> ApiResult<Vec<u8>> {
    let filter = VolunteerFilter {
        team,
        ..Default::default()
    };
    let (mut views, _) = roster::list_volunteers(db, &filter, 1, u64::MAX / 2).await?;
    if let Some(only) = teams {
        views.retain(|v| only.contains(&TeamId(v.volunteer.team_id)));
    }
    views.sort_by(|a, b| (&a.team_name, &a.user.phone).cmp(&(&b.team_name, &b.user.phone)));
    let teams: HashMap<Uuid, String> = team::Entity::find()
        .order_by_asc(team::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(HEADER).map_err(csv_err)?;
        for v in &views {
            let skills: Vec<&str> = v.skills.iter().map(|s| s.skill.as_str()).collect();
            let certs: Vec<String> = v
                .skills
                .iter()
                .filter_map(|s| {
                    s.certified_until
                        .map(|d| format!("{}:{}", s.skill, d.format("%Y-%m-%d")))
                })
                .collect();
            let fmt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
            w.write_record([
                safe_cell(&v.user.phone),
                safe_cell(&v.user.display_name),
                safe_cell(&teams.get(&v.volunteer.team_id).cloned().unwrap_or_default()),
                skills.join(";"),
                certs.join(";"),
                v.volunteer.capacity.to_string(),
                v.volunteer.is_leader.to_string(),
                fmt(v.volunteer.home_lat),
                fmt(v.volunteer.home_lon),
            ])
            .map_err(csv_err)?;
        }
        w.flush().map_err(|e| ApiError::Internal(e.into()))?;
    }
    Ok(out)
}

/// A text cell made safe for spreadsheets (OWASP CSV injection): a cell
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed
/// with `'`, so that it shows as text and never runs as a formula. An
/// import keeps the prefix (it never turns such a cell back into a formula).
pub fn safe_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A CSV writer's failure, as an internal error.
pub fn csv_err(e: csv::Error) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("writing CSV"))
}
