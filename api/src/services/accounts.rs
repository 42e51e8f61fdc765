//! Accounts: registration, login, admin and coordinator creation.
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use uuid::Uuid;
use zhongdui_domain::{Phone, Role, UserId};

use crate::auth::{hash_password, verify_password};
use crate::entities::user;
use crate::error::{ApiError, ApiResult};

/// Checks a password's length (8–128 characters).
pub fn check_password(password: &str) -> ApiResult<()> {
    crate::wire::password(password).map_err(|e| {
        ApiError::invalid(
            "password",
            e.message.map(|m| m.to_string()).unwrap_or_default(),
        )
    })
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
            format!("{} is already registered", phone.masked()),
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
        _ => Err(ApiError::Unauthorized("wrong phone or password")),
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
