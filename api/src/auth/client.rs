//! A machine client authenticated by its bearer token (from the
//! client-credentials grant). Every request re-reads the client, so
//! disabling it or rotating its secret stops its tokens at once.
use std::future::Future;
use std::pin::Pin;
use zhongdui_domain::text::phrases as p;

use actix_web::{FromRequest, HttpRequest, web};
use sea_orm::EntityTrait;
use uuid::Uuid;

use super::AuthUser;
use crate::entities::client;
use crate::error::ApiError;
use crate::state::AppState;

/// The calling client and the scopes its token carries.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    /// The client's row.
    pub client: client::Model,
    /// Scopes of this token (a subset of the client's).
    pub scopes: Vec<String>,
}

impl ClientAuth {
    /// The client as the author of a change.
    pub fn actor(&self) -> crate::services::orders::Actor {
        crate::services::orders::Actor::client(self.client.id)
    }

    /// Refuses a token without `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| s == scope) && self.client.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(&p::TOKEN_DOES_NOT_CARRY_SCOPE))
        }
    }
}

impl ClientAuth {
    /// The client a verified token names, if it is still usable.
    pub(super) async fn from_claims(
        state: &AppState,
        claims: super::Claims,
    ) -> Result<ClientAuth, ApiError> {
        let id: Uuid = claims
            .sub
            .strip_prefix("client:")
            .and_then(|s| s.parse().ok())
            .ok_or(ApiError::Unauthorized(&p::ROUTE_STATION_SYSTEMS_USE_CLIENT))?;
        let row = client::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .ok_or(ApiError::Unauthorized(&p::CLIENT_NO_LONGER_EXISTS))?;
        if row.disabled {
            return Err(ApiError::Unauthorized(&p::CLIENT_DISABLED));
        }
        if row.token_version != claims.ver {
            return Err(ApiError::Unauthorized(&p::TOKEN_BEEN_REVOKED));
        }
        let scopes = claims
            .scope
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(ClientAuth {
            client: row,
            scopes,
        })
    }
}

impl FromRequest for ClientAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = super::extractor::bearer(req);
        Box::pin(async move {
            let (state, claims) = super::extractor::verified(state, token).await?;
            ClientAuth::from_claims(&state, claims).await
        })
    }
}

/// Whoever calls a route that both people and station systems use: a user
/// by their token, or a machine client by its client token.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A person.
    User(AuthUser),
    /// A station's system.
    Client(ClientAuth),
}

impl Caller {
    /// The caller as the author of a change.
    pub fn actor(&self) -> crate::services::orders::Actor {
        match self {
            Caller::User(u) => u.actor(),
            Caller::Client(c) => c.actor(),
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = super::extractor::bearer(req);
        Box::pin(async move {
            let (state, claims) = super::extractor::verified(state, token).await?;
            if claims.sub.starts_with("client:") {
                Ok(Caller::Client(
                    ClientAuth::from_claims(&state, claims).await?,
                ))
            } else {
                Ok(Caller::User(AuthUser::from_claims(&state, claims).await?))
            }
        })
    }
}
