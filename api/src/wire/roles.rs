//! The rule of a joint incident's roles (`roles: [{skill, count}]`): up to
//! ten roles, each a skill of the catalogue named once with 1–20
//! volunteers, at most 20 in all (a check and its schema, like the rest of
//! `wire`). A fault names its item and part, e.g. `roles[1].count`.
use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Type;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType};
use validator::ValidationError;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{MAX_HEADCOUNT, MAX_ROLES, RoleSlot, RoleSlots, Skill};

use super::{error, one_of};

/// One role of a joint incident.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct RoleIn {
    /// The skill every volunteer in the role holds (a skill code).
    pub skill: String,
    /// Volunteers needed in the role, 1–20.
    #[serde(deserialize_with = "super::integer")]
    pub count: i64,
}

fn at(mut e: ValidationError, index: usize, part: &'static str) -> ValidationError {
    e.add_param(Cow::Borrowed("index"), &index);
    e.add_param(Cow::Borrowed("part"), &part);
    e
}

/// Roles: 1 to 10, each skill known and named once, each count 1–20, the
/// sum at most 20.
pub fn roles(v: &[RoleIn]) -> Result<(), ValidationError> {
    if v.is_empty() || v.len() > MAX_ROLES {
        return Err(error(p::ROLES_COUNT.with("max", MAX_ROLES)));
    }
    for (i, r) in v.iter().enumerate() {
        let skill: Skill = r
            .skill
            .parse()
            .map_err(|e: zhongdui_domain::DomainError| at(error(e.message), i, "skill"))?;
        if v[..i].iter().any(|o| o.skill.trim() == skill.code()) {
            return Err(at(
                error(p::ROLE_TWICE.with("role", skill.code())),
                i,
                "skill",
            ));
        }
        if !(1..=i64::from(MAX_HEADCOUNT)).contains(&r.count) {
            return Err(at(
                error(p::RANGE.with("min", 1).with("max", MAX_HEADCOUNT)),
                i,
                "count",
            ));
        }
    }
    let sum: i64 = v.iter().map(|r| r.count).sum();
    if sum > i64::from(MAX_HEADCOUNT) {
        return Err(error(
            p::HEADCOUNT_MAX
                .with("count", sum)
                .with("max", MAX_HEADCOUNT),
        ));
    }
    Ok(())
}

/// The roles of a body that passed [`roles`] (none when absent).
pub fn role_slots(v: Option<&[RoleIn]>) -> Result<RoleSlots, zhongdui_domain::DomainError> {
    let slots = v
        .unwrap_or_default()
        .iter()
        .map(|r| {
            Ok(RoleSlot {
                skill: r.skill.parse()?,
                count: i32::try_from(r.count).unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, zhongdui_domain::DomainError>>()?;
    RoleSlots::new(slots)
}

/// The OpenAPI schema of optional [`roles`].
pub fn optional_roles_schema() -> Schema {
    let count = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Integer))
        .minimum(Some(1))
        .maximum(Some(MAX_HEADCOUNT));
    let item = ObjectBuilder::new()
        .property("skill", one_of(Skill::ALL.map(Skill::code), false))
        .property("count", count)
        .required("skill")
        .required("count");
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(item)
        .min_items(Some(1))
        .max_items(Some(MAX_ROLES))
        .into()
}
