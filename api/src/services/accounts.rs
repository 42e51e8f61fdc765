//! Accounts: registration, login, admin and coordinator creation.
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{Phone, Role, TeamId, UserId};

use crate::auth::{hash_password, verify_password};
use crate::entities::{team, user};
use crate::error::{ApiError, ApiResult};
use crate::services::orders::Actor;

/// Checks a password's length (8–128 characters).
pub fn check_password(password: &str) -> ApiResult<()> {
    crate::wire::password(password)
        .map_err(|e| ApiError::invalid("password", crate::error::validation_text(&e)))
}

/// Creates an account; a taken phone is a 409.
pub async fn create_user<C: ConnectionTrait>(
    db: &C,
    phone: &Phone,
    password: String,
    display_name: &str,
    role: Role,
) -> ApiResult<user::Model> {
    if find_by_phone(db, phone).await?.is_some() {
        return Err(ApiError::conflict_on(
            "phone",
            p::PHONE_REGISTERED.with("phone", phone.masked()),
        ));
    }
    let hash = hash_password(password).await?;
    let now = crate::clock::wall();
    Ok(user::ActiveModel {
        id: Set(Uuid::now_v7()),
        phone: Set(phone.as_str().to_owned()),
        password_hash: Set(hash),
        display_name: Set(display_name.to_owned()),
        role: Set(role.code().to_owned()),
        disabled: Set(false),
        token_version: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// The account with this phone.
pub async fn find_by_phone<C: ConnectionTrait>(
    db: &C,
    phone: &Phone,
) -> ApiResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .one(db)
        .await?)
}

/// The account if the phone and password match and it is enabled.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    phone: &str,
    password: String,
) -> ApiResult<user::Model> {
    let found = match Phone::parse(phone) {
        Ok(p) => find_by_phone(db, &p).await?,
        Err(_) => None,
    };
    let ok = verify_password(password, found.as_ref().map(|u| u.password_hash.clone())).await?;
    match found {
        Some(u) if ok && !u.disabled => Ok(u),
        _ => Err(ApiError::Unauthorized(&p::WRONG_PHONE_PASSWORD)),
    }
}

/// Creates an admin, or resets an existing account's password and makes it
/// an admin (revoking its tokens).
pub async fn create_or_reset_admin<C: ConnectionTrait>(
    db: &C,
    phone: &Phone,
    password: String,
) -> ApiResult<(UserId, bool)> {
    check_password(&password)?;
    match find_by_phone(db, phone).await? {
        None => {
            let u = create_user(db, phone, password, "管理员", Role::Admin).await?;
            Ok((UserId(u.id), true))
        }
        Some(u) => {
            let id = u.id;
            let version = u.token_version + 1;
            let mut am: user::ActiveModel = u.into();
            am.password_hash = Set(hash_password(password).await?);
            am.role = Set(Role::Admin.code().to_owned());
            am.disabled = Set(false);
            am.token_version = Set(version);
            am.updated_at = Set(crate::clock::wall());
            am.update(db).await?;
            Ok((UserId(id), false))
        }
    }
}

/// A coordinator's appointment to teams.
pub struct Appointment {
    /// Their phone (an existing coordinator account, or a new one).
    pub phone: Phone,
    /// Their name, for a new account.
    pub name: String,
    /// Their first password, required for a new account.
    pub password: Option<String>,
    /// The teams they coordinate from now on (each must exist).
    pub teams: Vec<Uuid>,
}

/// Appoints a coordinator (creating the account when the phone has none;
/// any other role is a 409) to the teams, and audits it by `actor`.
pub async fn appoint_coordinator<C: ConnectionTrait>(
    db: &C,
    a: Appointment,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<user::Model> {
    let phone = &a.phone;
    let account = match find_by_phone(db, phone).await? {
        Some(u) if u.role == Role::Coordinator.code() => u,
        Some(u) => {
            return Err(ApiError::conflict(
                p::PHONE_OTHER_ROLE
                    .with("phone", phone.masked())
                    .with("role", p::word("role", &u.role)),
            ));
        }
        None => {
            let password = a
                .password
                .ok_or_else(|| ApiError::invalid("password", &p::REQUIRED_NEW_ACCOUNT))?;
            check_password(&password)?;
            create_user(db, phone, password, &a.name, Role::Coordinator).await?
        }
    };
    for &t in &a.teams {
        if team::Entity::find_by_id(t).one(db).await?.is_none() {
            return Err(ApiError::invalid(
                "team_ids",
                p::NO_TEAM_WITH_ID.with("id", t.to_string()),
            ));
        }
        crate::services::roster::add_coordinator(db, TeamId(t), UserId(account.id)).await?;
    }
    let teams: Vec<String> = a.teams.iter().map(Uuid::to_string).collect();
    let data = serde_json::json!({ "team_ids": teams });
    crate::services::privacy::audit(db, actor, "coordinator", account.id, "appointed", data, now)
        .await?;
    Ok(account)
}
