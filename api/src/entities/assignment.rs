use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub volunteer_id: Uuid,
    pub state: String,
    pub how: String,
    pub wave: i32,
    pub distance_m: Option<f64>,
    pub offered_at: DateTimeUtc,
    pub deadline: Option<DateTimeUtc>,
    pub responded_at: Option<DateTimeUtc>,
    pub arrived_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub note: Option<String>,
    pub assigned_by: Option<Uuid>,
    /// The role offered or filled (skill code), on an order with roles.
    pub role: Option<String>,
    /// When the volunteer on it is expected on scene.
    pub expected_by: Option<DateTimeUtc>,
    /// When they were found overdue (coordinators told, a replacement asked for).
    pub overdue_at: Option<DateTimeUtc>,
    /// On a replacement offer: the overdue assignment it would replace.
    pub replaces: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The one reading of a stored assignment's coded columns (a value that does
/// not parse is a corrupt row: an internal error, never a default).
impl Model {
    /// Where the volunteer's part stands.
    pub fn state(&self) -> crate::error::ApiResult<zhongdui_domain::AssignmentState> {
        super::parsed("assignments.state", self.id, &self.state)
    }

    /// The role offered or filled, on an order with roles.
    pub fn role(&self) -> crate::error::ApiResult<Option<zhongdui_domain::Skill>> {
        self.role
            .as_deref()
            .map(|r| super::parsed("assignments.role", self.id, r))
            .transpose()
    }

    /// How the volunteer came onto the order.
    pub fn how(&self) -> crate::error::ApiResult<zhongdui_domain::ClaimHow> {
        super::parsed("assignments.how", self.id, &self.how)
    }
}

/// The volunteers of `rows` whose part is in a state for which `keep` holds.
pub fn volunteers_where(
    rows: &[Model],
    keep: impl Fn(zhongdui_domain::AssignmentState) -> bool,
) -> crate::error::ApiResult<Vec<Uuid>> {
    let mut out = Vec::new();
    for a in rows {
        if keep(a.state()?) {
            out.push(a.volunteer_id);
        }
    }
    Ok(out)
}
