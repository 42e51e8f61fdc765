use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code: String,
    pub status: String,
    pub category: String,
    pub required_skills: String,
    pub tier: i16,
    pub urgency: String,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub description: String,
    pub headcount: i32,
    pub filled: i32,
    pub source: String,
    pub created_by: Uuid,
    pub resident_id: Option<Uuid>,
    pub contact_phone: Option<String>,
    pub target_team_id: Option<Uuid>,
    pub station: Option<String>,
    /// The teams offered it first when several (`;`-separated ids; the first is `target_team_id`).
    pub target_team_ids: Option<String>,
    /// The machine client whose slip it is.
    pub client_id: Option<Uuid>,
    /// The station's own slip number (unique per client).
    pub external_id: Option<String>,
    /// The roles of a joint incident (`skill:count;…`), fixed when placed.
    pub roles: Option<String>,
    pub wave: i32,
    pub next_action_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    pub first_accepted_at: Option<DateTimeUtc>,
    pub arrived_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub cancel_reason: Option<String>,
    pub rating: Option<i16>,
    pub feedback: Option<String>,
    pub version: i32,
    pub erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The one reading of a stored order's coded columns. A value that does not
/// parse is a corrupt row: an internal error naming the row and column, never
/// a default (a skills column read as "none needed" would let anyone take the
/// order).
impl Model {
    /// The status.
    pub fn status(&self) -> crate::error::ApiResult<zhongdui_domain::OrderStatus> {
        super::parsed("orders.status", self.id, &self.status)
    }

    /// The urgency.
    pub fn urgency(&self) -> crate::error::ApiResult<zhongdui_domain::Urgency> {
        super::parsed("orders.urgency", self.id, &self.urgency)
    }

    /// Where help is needed.
    pub fn point(&self) -> crate::error::ApiResult<zhongdui_domain::GeoPoint> {
        zhongdui_domain::GeoPoint::parse(self.lat, self.lon)
            .map_err(|e| super::corrupt("orders.lat/lon", self.id, &e.message.to_string()))
    }

    /// The skills every volunteer on it must hold.
    pub fn required(&self) -> crate::error::ApiResult<zhongdui_domain::SkillSet> {
        zhongdui_domain::SkillSet::parse_list(&self.required_skills)
            .map_err(|e| super::corrupt("orders.required_skills", self.id, &e.message.to_string()))
    }

    /// Its roles (empty: everyone on it needs [`Model::required`]).
    pub fn roles(&self) -> crate::error::ApiResult<zhongdui_domain::RoleSlots> {
        zhongdui_domain::RoleSlots::parse(self.roles.as_deref().unwrap_or(""))
            .map_err(|e| super::corrupt("orders.roles", self.id, &e.message.to_string()))
    }

    /// The places of the order as (role, skills, count): one per role, or
    /// one without a role needing the category's skills.
    pub fn slots(
        &self,
    ) -> crate::error::ApiResult<
        Vec<(
            Option<zhongdui_domain::Skill>,
            zhongdui_domain::SkillSet,
            i32,
        )>,
    > {
        let roles = self.roles()?;
        if roles.is_empty() {
            return Ok(vec![(None, self.required()?, self.headcount)]);
        }
        Ok(roles
            .iter()
            .map(|r| {
                (
                    Some(r.skill),
                    zhongdui_domain::SkillSet::from(r.skill),
                    r.count,
                )
            })
            .collect())
    }

    /// Whether a volunteer holding `held` may be on it: every required
    /// skill, or on an order with roles the skill of one of its roles.
    pub fn takes(&self, held: zhongdui_domain::SkillSet) -> crate::error::ApiResult<bool> {
        let roles = self.roles()?;
        if roles.is_empty() {
            return Ok(held.contains_all(self.required()?));
        }
        Ok(roles.iter().any(|r| held.contains(r.skill)))
    }

    /// Who it came from.
    pub fn source(&self) -> crate::error::ApiResult<zhongdui_domain::OrderSource> {
        super::parsed("orders.source", self.id, &self.source)
    }

    /// The teams offered it first (none, one, or several together).
    pub fn target_teams(&self) -> crate::error::ApiResult<Vec<Uuid>> {
        match &self.target_team_ids {
            Some(list) => list
                .split(';')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse()
                        .map_err(|_| super::corrupt("orders.target_team_ids", self.id, s))
                })
                .collect(),
            None => Ok(self.target_team_id.into_iter().collect()),
        }
    }

    /// Every coded column parses (the dispatcher skips an order that does not).
    pub fn check(&self) -> crate::error::ApiResult<()> {
        self.status()?;
        self.target_teams()?;
        self.urgency()?;
        self.point()?;
        self.required()?;
        self.roles()?;
        self.source()?;
        Ok(())
    }
}
