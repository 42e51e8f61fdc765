//! Roster changes every process's index must hear of: a volunteer created,
//! changed or deleted. The caller has checked who may make them.
use rand::Rng;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;

use crate::auth::hash_password;
use crate::entities::user;
use crate::error::{ApiError, ApiResult};
use crate::services::orders::Actor;
use crate::services::privacy;
use crate::services::roster::{self, OnExisting, Outcome, VolunteerSpec};
use crate::state::AppState;

use super::work::Work;

/// Creates the volunteer `spec` (or, with `promote`, makes the resident
/// account with that phone a volunteer; it keeps its password). Without a
/// `password` one is generated and returned, to be shown once.
pub async fn create_volunteer(
    state: &AppState,
    actor: Actor,
    spec: &VolunteerSpec,
    password: Option<String>,
    promote: bool,
) -> ApiResult<(Uuid, Option<String>)> {
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    let hash = hash_password(password.clone()).await?;
    let mut work = Work::begin(state, actor).await?;
    // An existing account is a 409 (or promoted, when asked).
    let conflict = OnExisting::Conflict;
    let (id, outcome) =
        roster::upsert_volunteer(&work.txn, spec, Some(hash), conflict, &None, promote).await?;
    let action = match outcome {
        Outcome::Promoted => "promoted",
        _ => "created",
    };
    let skills: Vec<&str> = spec.skills.keys().map(|s| s.code()).collect();
    let data = json!({"team_id": spec.team_id.to_string(), "skills": skills});
    privacy::audit(&work.txn, actor, "volunteer", id, action, data, work.now()).await?;
    work.changed(&[id.as_uuid()]);
    work.commit().await?;
    // A promoted resident keeps the password they have.
    let shown = (generated && outcome == Outcome::Created).then_some(password);
    Ok((id.as_uuid(), shown))
}

fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A change to a volunteer: their roster data from `current` to `spec`, and
/// their account (a new password or the disabled flag, either of which
/// ends their sessions).
pub struct VolunteerChange {
    /// The volunteer.
    pub id: Uuid,
    /// Their data before.
    pub current: VolunteerSpec,
    /// Their data after.
    pub spec: VolunteerSpec,
    /// A new password.
    pub password: Option<String>,
    /// Disable or re-enable the account.
    pub disabled: Option<bool>,
    /// The names of the fields given, for the audit log.
    pub fields: Vec<&'static str>,
}

/// Applies `change` (the caller manages both the current and the new team).
pub async fn update_volunteer(
    state: &AppState,
    actor: Actor,
    change: VolunteerChange,
) -> ApiResult<()> {
    let new_hash = match change.password.clone() {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let mut work = Work::begin(state, actor).await?;
    let (txn, id) = (&work.txn, change.id);
    if change.spec != change.current {
        let update = OnExisting::Update;
        roster::upsert_volunteer(txn, &change.spec, None, update, &None, false).await?;
    }
    if new_hash.is_some() || change.disabled.is_some() {
        let u = user::Entity::find_by_id(id)
            .one(txn)
            .await?
            .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
        let version = u.token_version + 1;
        let mut am: user::ActiveModel = u.into();
        if let Some(h) = new_hash {
            am.password_hash = Set(h);
        }
        if let Some(d) = change.disabled {
            am.disabled = Set(d);
        }
        am.token_version = Set(version);
        am.updated_at = Set(crate::clock::wall());
        am.update(txn).await?;
    }
    // What changed, never the password itself.
    let data = json!({"fields": change.fields, "team_id": change.spec.team_id.to_string(),
                      "from_team_id": change.current.team_id.to_string(),
                      "password_reset": change.password.is_some(), "disabled": change.disabled});
    privacy::audit(txn, actor, "volunteer", id, "updated", data, work.now()).await?;
    work.changed(&[id]);
    work.commit().await
}

/// Deletes the volunteer account `u` (see `privacy::delete_volunteer`).
pub async fn delete_volunteer(state: &AppState, actor: Actor, u: user::Model) -> ApiResult<()> {
    let id = u.id;
    let mut work = Work::begin(state, actor).await?;
    privacy::delete_volunteer(&work.txn, u, actor, work.now()).await?;
    work.changed(&[id]);
    work.commit().await
}
