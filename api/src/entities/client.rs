use sea_orm::entity::prelude::*;

/// A station's system, registered as an OAuth2 client.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub client_id: String,
    pub name: String,
    pub station: String,
    /// Scope codes, `;`-separated.
    pub scopes: String,
    pub webhook_url: Option<String>,
    /// SHA-256 (hex) of the client secret.
    pub secret_hash: String,
    /// The webhook secret, sealed (`auth::Sealer`).
    pub webhook_secret: String,
    pub token_version: i32,
    pub disabled: bool,
    /// The admin who registered it (its slips' `created_by`).
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Whether the client holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.split(';').any(|s| s == scope)
    }
}
