//! Volunteers: the spec of one, create or update to match it (shared by the
//! JSON routes and the CSV import), and paged listings.
use std::collections::{BTreeMap, HashMap};
use zhongdui_domain::text::phrases as p;

use chrono::NaiveDate;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;
use zhongdui_domain::{GeoPoint, Phone, Role, Skill, SkillSet, TeamId, UserId};

use crate::auth::UNUSABLE_PASSWORD;
use crate::entities::{team, user, volunteer, volunteer_skill};
use crate::error::{ApiError, ApiResult};

/// A volunteer's roster data, valid by construction.
#[derive(Debug, Clone, PartialEq)]
pub struct VolunteerSpec {
    /// Login and contact number.
    pub phone: Phone,
    /// Name shown to others.
    pub display_name: String,
    /// The team.
    pub team_id: TeamId,
    /// Skills with their certificate expiry (if the skill has a certificate).
    pub skills: BTreeMap<Skill, Option<NaiveDate>>,
    /// Concurrent tasks allowed.
    pub capacity: i32,
    /// Team leader.
    pub is_leader: bool,
    /// Base position (home or station).
    pub home: Option<GeoPoint>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new volunteer account.
    Created,
    /// An existing resident account made a volunteer (by an admin).
    Promoted,
    /// An existing volunteer was changed.
    Updated,
    /// Already exactly so.
    Unchanged,
}

/// What to do when the phone is already a volunteer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Refuse with 409 (POST /volunteers).
    Conflict,
    /// Update to the spec (CSV import).
    Update,
}

/// Which teams' volunteers the caller may change: `None` means any team
/// (admins, the command line), otherwise only these teams.
pub type TeamScope = Option<Vec<TeamId>>;

/// Creates or updates a volunteer to match `spec`.
///
/// An existing account is never converted silently: a resident's phone is a
/// 409 naming `phone` unless `promote` is set (only admins may ask for it; the
/// resident keeps their password and `password_hash` is not used), and a
/// staff account is always a 409. An existing volunteer is changed only when
/// their current team is in `scope` (the destination team is the caller's
/// to check). `password_hash` is used only for a brand-new account.
pub async fn upsert_volunteer<C: ConnectionTrait>(
    db: &C,
    spec: &VolunteerSpec,
    password_hash: Option<String>,
    on_existing: OnExisting,
    scope: &TeamScope,
    promote: bool,
) -> ApiResult<(UserId, Outcome)> {
    let now = crate::clock::wall();
    ensure_team_exists(db, spec.team_id).await?;
    let existing = user::Entity::find()
        .filter(user::Column::Phone.eq(spec.phone.as_str()))
        .one(db)
        .await?;
    let masked = spec.phone.masked();
    let (uid, outcome) = match existing {
        None => {
            let uid = Uuid::now_v7();
            user::ActiveModel {
                id: Set(uid),
                phone: Set(spec.phone.as_str().to_owned()),
                password_hash: Set(password_hash.unwrap_or_else(|| UNUSABLE_PASSWORD.to_owned())),
                display_name: Set(spec.display_name.clone()),
                role: Set(Role::Volunteer.code().to_owned()),
                disabled: Set(false),
                token_version: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
            insert_volunteer_row(db, uid, spec).await?;
            (uid, Outcome::Created)
        }
        Some(u) => {
            let role: Role = u
                .role
                .parse()
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
            match role {
                Role::Coordinator | Role::Admin => {
                    return Err(ApiError::conflict_on(
                        "phone",
                        p::PHONE_OTHER_ROLE
                            .with("phone", &masked)
                            .with("role", p::word("role", role.code())),
                    ));
                }
                Role::Resident if !promote => {
                    return Err(ApiError::conflict_on(
                        "phone",
                        p::PHONE_RESIDENT.with("phone", &masked),
                    ));
                }
                Role::Resident => {
                    let mut am: user::ActiveModel = u.clone().into();
                    am.role = Set(Role::Volunteer.code().to_owned());
                    am.display_name = Set(spec.display_name.clone());
                    am.updated_at = Set(now);
                    am.update(db).await?;
                    insert_volunteer_row(db, u.id, spec).await?;
                    (u.id, Outcome::Promoted)
                }
                Role::Volunteer => {
                    if on_existing == OnExisting::Conflict {
                        return Err(ApiError::conflict_on(
                            "phone",
                            p::PHONE_VOLUNTEER.with("phone", &masked),
                        ));
                    }
                    let current = load_spec(db, u.id).await?;
                    if let (Some(teams), Some(cur)) = (scope, &current)
                        && !teams.contains(&cur.team_id)
                    {
                        return Err(ApiError::forbidden(
                            p::VOLUNTEER_OTHER_TEAM.with("phone", &masked),
                        ));
                    }
                    if current.as_ref() == Some(spec) {
                        (u.id, Outcome::Unchanged)
                    } else {
                        apply_spec(db, &u, spec).await?;
                        (u.id, Outcome::Updated)
                    }
                }
            }
        }
    };
    Ok((UserId(uid), outcome))
}

async fn ensure_team_exists<C: ConnectionTrait>(db: &C, team: TeamId) -> ApiResult<()> {
    if team::Entity::find_by_id(team.as_uuid())
        .one(db)
        .await?
        .is_none()
    {
        return Err(ApiError::invalid(
            "team_id",
            p::NO_TEAM_WITH_ID.with("id", team.to_string()),
        ));
    }
    Ok(())
}

async fn insert_volunteer_row<C: ConnectionTrait>(
    db: &C,
    uid: Uuid,
    spec: &VolunteerSpec,
) -> ApiResult<()> {
    let now = crate::clock::wall();
    volunteer::ActiveModel {
        id: Set(uid),
        team_id: Set(spec.team_id.as_uuid()),
        is_leader: Set(spec.is_leader),
        capacity: Set(spec.capacity),
        active_tasks: Set(0),
        on_duty: Set(false),
        duty_source: Set(None),
        home_lat: Set(spec.home.map(|p| p.lat())),
        home_lon: Set(spec.home.map(|p| p.lon())),
        lat: Set(None),
        lon: Set(None),
        location_at: Set(None),
        idle_since: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    replace_skills(db, uid, &spec.skills).await
}

async fn replace_skills<C: ConnectionTrait>(
    db: &C,
    uid: Uuid,
    skills: &BTreeMap<Skill, Option<NaiveDate>>,
) -> ApiResult<()> {
    // An expiry alert already sent stays sent while the expiry is the same.
    let alerted: BTreeMap<(String, Option<NaiveDate>), Option<i32>> =
        volunteer_skill::Entity::find()
            .filter(volunteer_skill::Column::VolunteerId.eq(uid))
            .all(db)
            .await?
            .into_iter()
            .map(|s| ((s.skill, s.certified_until), s.alerted_days))
            .collect();
    volunteer_skill::Entity::delete_many()
        .filter(volunteer_skill::Column::VolunteerId.eq(uid))
        .exec(db)
        .await?;
    if skills.is_empty() {
        return Ok(());
    }
    let rows = skills
        .iter()
        .map(|(s, until)| volunteer_skill::ActiveModel {
            volunteer_id: Set(uid),
            skill: Set(s.code().to_owned()),
            certified_until: Set(*until),
            alerted_days: Set(alerted
                .get(&(s.code().to_owned(), *until))
                .copied()
                .flatten()),
        });
    volunteer_skill::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

async fn apply_spec<C: ConnectionTrait>(
    db: &C,
    u: &user::Model,
    spec: &VolunteerSpec,
) -> ApiResult<()> {
    let now = crate::clock::wall();
    if u.display_name != spec.display_name {
        let mut am: user::ActiveModel = u.clone().into();
        am.display_name = Set(spec.display_name.clone());
        am.updated_at = Set(now);
        am.update(db).await?;
    }
    let v = volunteer::Entity::find_by_id(u.id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let mut am: volunteer::ActiveModel = v.into();
    am.team_id = Set(spec.team_id.as_uuid());
    am.is_leader = Set(spec.is_leader);
    am.capacity = Set(spec.capacity);
    am.home_lat = Set(spec.home.map(|p| p.lat()));
    am.home_lon = Set(spec.home.map(|p| p.lon()));
    am.updated_at = Set(now);
    am.update(db).await?;
    replace_skills(db, u.id, &spec.skills).await
}

/// The roster data of a volunteer as stored, if `uid` is a volunteer.
pub async fn load_spec<C: ConnectionTrait>(db: &C, uid: Uuid) -> ApiResult<Option<VolunteerSpec>> {
    let Some((v, Some(u))) = volunteer::Entity::find_by_id(uid)
        .find_also_related(user::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let skills = volunteer_skill::Entity::find()
        .filter(volunteer_skill::Column::VolunteerId.eq(uid))
        .all(db)
        .await?;
    Ok(Some(spec_of(&u, &v, &skills)?))
}

/// Rebuilds the roster spec from stored rows.
pub fn spec_of(
    u: &user::Model,
    v: &volunteer::Model,
    skills: &[volunteer_skill::Model],
) -> ApiResult<VolunteerSpec> {
    let internal =
        |e: zhongdui_domain::DomainError| ApiError::Internal(anyhow::anyhow!("stored data: {e}"));
    let home = match (v.home_lat, v.home_lon) {
        (Some(lat), Some(lon)) => Some(GeoPoint::parse(lat, lon).map_err(internal)?),
        _ => None,
    };
    let mut map = BTreeMap::new();
    for s in skills {
        map.insert(
            s.skill.parse::<Skill>().map_err(internal)?,
            s.certified_until,
        );
    }
    Ok(VolunteerSpec {
        phone: Phone::parse(&u.phone).map_err(internal)?,
        display_name: u.display_name.clone(),
        team_id: TeamId(v.team_id),
        skills: map,
        capacity: v.capacity,
        is_leader: v.is_leader,
        home,
    })
}

/// A volunteer with everything a listing shows.
#[derive(Debug, Clone)]
pub struct VolunteerView {
    /// Account row.
    pub user: user::Model,
    /// Volunteer row.
    pub volunteer: volunteer::Model,
    /// Skills rows.
    pub skills: Vec<volunteer_skill::Model>,
    /// Name of the team.
    pub team_name: String,
}

/// Filters for listing volunteers.
#[derive(Debug, Default, Clone)]
pub struct VolunteerFilter {
    /// Only this team.
    pub team: Option<TeamId>,
    /// Only volunteers holding these skills.
    pub skills: SkillSet,
    /// Only on (or off) duty.
    pub on_duty: Option<bool>,
    /// Name or phone contains.
    pub q: Option<String>,
    /// Only volunteers whose last position lies in this box
    /// (`[min_lon, min_lat, max_lon, max_lat]`, WGS-84).
    pub bbox: Option<[f64; 4]>,
}

/// A page of volunteers and the total matching.
pub async fn list_volunteers<C: ConnectionTrait>(
    db: &C,
    filter: &VolunteerFilter,
    page: u64,
    per_page: u64,
) -> ApiResult<(Vec<VolunteerView>, u64)> {
    // Deleted volunteers (anonymised accounts) are no longer on the roster.
    let mut query = volunteer::Entity::find()
        .find_also_related(user::Entity)
        .filter(user::Column::Phone.not_like("del-%"));
    if let Some(team) = filter.team {
        query = query.filter(volunteer::Column::TeamId.eq(team.as_uuid()));
    }
    if let Some(duty) = filter.on_duty {
        query = query.filter(volunteer::Column::OnDuty.eq(duty));
    }
    if let Some([min_lon, min_lat, max_lon, max_lat]) = filter.bbox {
        query = query
            .filter(volunteer::Column::Lon.between(min_lon, max_lon))
            .filter(volunteer::Column::Lat.between(min_lat, max_lat));
    }
    for skill in filter.skills.iter() {
        query = query.filter(
            volunteer::Column::Id.in_subquery(
                Query::select()
                    .column(volunteer_skill::Column::VolunteerId)
                    .from(volunteer_skill::Entity)
                    .and_where(volunteer_skill::Column::Skill.eq(skill.code()))
                    .to_owned(),
            ),
        );
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", q.replace(['%', '_'], ""));
        query = query.filter(
            sea_orm::Condition::any()
                .add(user::Column::DisplayName.like(pattern.clone()))
                .add(user::Column::Phone.like(pattern)),
        );
    }
    let paginator = query
        .order_by_asc(user::Column::DisplayName)
        .order_by_asc(volunteer::Column::Id)
        .paginate(db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    let views = hydrate(db, rows).await?;
    Ok((views, total))
}

/// One volunteer.
pub async fn get_volunteer<C: ConnectionTrait>(db: &C, id: Uuid) -> ApiResult<VolunteerView> {
    let row = volunteer::Entity::find_by_id(id)
        .find_also_related(user::Entity)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    hydrate(db, vec![row])
        .await?
        .pop()
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))
}

async fn hydrate<C: ConnectionTrait>(
    db: &C,
    rows: Vec<(volunteer::Model, Option<user::Model>)>,
) -> ApiResult<Vec<VolunteerView>> {
    let ids: Vec<Uuid> = rows.iter().map(|(v, _)| v.id).collect();
    let team_ids: Vec<Uuid> = rows.iter().map(|(v, _)| v.team_id).collect();
    let mut skills: HashMap<Uuid, Vec<volunteer_skill::Model>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for s in volunteer_skill::Entity::find()
            .filter(volunteer_skill::Column::VolunteerId.is_in(chunk.to_vec()))
            .order_by_asc(volunteer_skill::Column::Skill)
            .all(db)
            .await?
        {
            skills.entry(s.volunteer_id).or_default().push(s);
        }
    }
    let teams: HashMap<Uuid, String> = team::Entity::find()
        .filter(team::Column::Id.is_in(team_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    rows.into_iter()
        .map(|(v, u)| {
            let user = u.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("volunteer {} has no account", v.id))
            })?;
            Ok(VolunteerView {
                skills: skills.remove(&v.id).unwrap_or_default(),
                team_name: teams.get(&v.team_id).cloned().unwrap_or_default(),
                user,
                volunteer: v,
            })
        })
        .collect()
}
