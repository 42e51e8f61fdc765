//! The authenticated user as an actix extractor. Every request re-reads the
//! account, so disabling it or changing its role takes effect at once.
use std::future::Future;
use std::pin::Pin;
use zhongdui_domain::text::phrases as p;

use actix_web::{FromRequest, HttpRequest, web};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;
use zhongdui_domain::{Role, TeamId, UserId};

use crate::entities::{team_coordinator, user};
use crate::error::ApiError;
use crate::services::orders::Actor;
use crate::state::AppState;

/// The caller, authenticated by a bearer token (or `?token=` for WebSockets).
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The account id.
    pub id: UserId,
    /// The current role.
    pub role: Role,
    /// Name shown to others.
    pub display_name: String,
    /// Normalised phone number.
    pub phone: String,
    /// The token version the caller's token carries (sessions opened with
    /// it close when the account's version moves on).
    pub token_version: i32,
}

impl AuthUser {
    /// The caller as the author of a change.
    pub fn actor(&self) -> Actor {
        Actor::user(self.id.as_uuid(), self.role)
    }

    /// Refuses anyone but coordinators and admins.
    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.role.is_staff() {
            Ok(())
        } else {
            Err(ApiError::forbidden(&p::ONLY_COORDINATORS_ADMINS))
        }
    }

    /// Refuses anyone but admins.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(&p::ONLY_ADMINS))
        }
    }

    /// The teams this user coordinates (empty for everyone but coordinators).
    pub async fn coordinated_teams(&self, state: &AppState) -> Result<Vec<TeamId>, ApiError> {
        if self.role != Role::Coordinator {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = team_coordinator::Entity::find()
            .select_only()
            .column(team_coordinator::Column::TeamId)
            .filter(team_coordinator::Column::UserId.eq(self.id.as_uuid()))
            .into_tuple()
            .all(&state.db)
            .await?;
        Ok(ids.into_iter().map(TeamId).collect())
    }

    /// The teams whose people the caller may act on: `None` (every team)
    /// for admins, else the teams they coordinate.
    pub async fn team_scope(&self, state: &AppState) -> Result<Option<Vec<TeamId>>, ApiError> {
        Ok(match self.role {
            Role::Admin => None,
            _ => Some(self.coordinated_teams(state).await?),
        })
    }

    /// Refuses unless the user is an admin or coordinates `team`.
    pub async fn ensure_manages_team(
        &self,
        state: &AppState,
        team: TeamId,
    ) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Coordinator if self.coordinated_teams(state).await?.contains(&team) => Ok(()),
            Role::Coordinator => Err(ApiError::forbidden(&p::NOT_COORDINATE_TEAM)),
            _ => Err(ApiError::forbidden(&p::ONLY_COORDINATORS_ADMINS)),
        }
    }
}

pub(super) fn bearer(req: &HttpRequest) -> Option<String> {
    if let Some(h) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let v = h.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    // Browsers cannot set headers on WebSocket upgrades.
    if req.path() == "/api/v1/ws" {
        return web::Query::<std::collections::HashMap<String, String>>::from_query(
            req.query_string(),
        )
        .ok()
        .and_then(|q| q.get("token").cloned());
    }
    None
}

impl AuthUser {
    /// The account a verified token names, if it is still usable.
    pub(super) async fn from_claims(
        state: &AppState,
        claims: super::Claims,
    ) -> Result<AuthUser, ApiError> {
        let id: Uuid = claims
            .sub
            .parse()
            .map_err(|_| ApiError::Unauthorized(&p::TOKEN_INVALID_EXPIRED))?;
        let row = user::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .ok_or(ApiError::Unauthorized(&p::ACCOUNT_NO_LONGER_EXISTS))?;
        if row.disabled {
            return Err(ApiError::Unauthorized(&p::ACCOUNT_DISABLED));
        }
        if row.token_version != claims.ver {
            return Err(ApiError::Unauthorized(&p::TOKEN_BEEN_REVOKED));
        }
        let role = row
            .role
            .parse::<Role>()
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored role: {e}")))?;
        Ok(AuthUser {
            id: UserId(row.id),
            role,
            display_name: row.display_name,
            phone: row.phone,
            token_version: row.token_version,
        })
    }
}

/// The app state and the verified claims of the request's bearer token.
pub(super) async fn verified(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
) -> Result<(web::Data<AppState>, super::Claims), ApiError> {
    let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))?;
    let token = token.ok_or(ApiError::Unauthorized(&p::BEARER_TOKEN_REQUIRED))?;
    let claims = state
        .tokens
        .verify(&token)
        .ok_or(ApiError::Unauthorized(&p::TOKEN_INVALID_EXPIRED))?;
    Ok((state, claims))
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let (state, claims) = verified(state, token).await?;
            AuthUser::from_claims(&state, claims).await
        })
    }
}

/// The subject of the request's bearer token when it verifies (a user id,
/// or `client:<id>`), without reading the account: for keying work by
/// caller before the handler authenticates them.
pub fn token_subject(req: &HttpRequest, state: &AppState) -> Option<String> {
    state.tokens.verify(&bearer(req)?).map(|c| c.sub)
}
