//! Role slots of a joint incident (联勤联动): an order that needs several
//! kinds of volunteer at once, e.g. 1 × first aid and 2 × traffic control.
//! Each slot is a skill and a count; the order's headcount is their sum, and
//! a volunteer fills at most one slot, holding its skill.
use crate::text::phrases as p;
use crate::{DomainError, Skill, SkillSet};

/// The most role slots an order may have.
pub const MAX_ROLES: usize = 10;
/// The most volunteers an order may need in all.
pub const MAX_HEADCOUNT: i32 = 20;

/// One role of an order: its skill and how many volunteers it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleSlot {
    /// The skill every volunteer in the role holds.
    pub skill: Skill,
    /// Volunteers needed in the role (1 or more).
    pub count: i32,
}

/// An order's roles, in the order they were given; empty for an order that
/// needs its category's skills from everyone.
///
/// ```
/// use zhongdui_domain::{RoleSlots, Skill};
/// let r = RoleSlots::parse("first_aid:1;traffic:2").unwrap();
/// assert_eq!(r.headcount(), 3);
/// assert_eq!(r.get(Skill::Traffic).unwrap().count, 2);
/// assert_eq!(r.spec(), "first_aid:1;traffic:2");
/// assert!(RoleSlots::parse("").unwrap().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleSlots(Vec<RoleSlot>);

impl RoleSlots {
    /// Checked roles: at most [`MAX_ROLES`], each skill once, each count at
    /// least 1, at most [`MAX_HEADCOUNT`] in all.
    pub fn new(slots: Vec<RoleSlot>) -> Result<Self, DomainError> {
        if slots.len() > MAX_ROLES {
            return Err(DomainError::new(
                "roles",
                p::ROLES_MAX.with("max", MAX_ROLES),
            ));
        }
        for (i, s) in slots.iter().enumerate() {
            if s.count < 1 {
                return Err(DomainError::new("roles", &p::ROLE_COUNT_MIN));
            }
            if slots[..i].iter().any(|t| t.skill == s.skill) {
                return Err(DomainError::new(
                    "roles",
                    p::ROLE_TWICE.with("role", s.skill.code()),
                ));
            }
        }
        let r = RoleSlots(slots);
        if r.headcount() > MAX_HEADCOUNT {
            return Err(DomainError::new(
                "roles",
                p::HEADCOUNT_MAX
                    .with("count", r.headcount())
                    .with("max", MAX_HEADCOUNT),
            ));
        }
        Ok(r)
    }

    /// Parses the stored form, `skill:count;skill:count` (empty: no roles).
    pub fn parse(spec: &str) -> Result<Self, DomainError> {
        let slots = spec
            .split(';')
            .filter(|s| !s.is_empty())
            .map(|part| {
                let (skill, count) = part
                    .split_once(':')
                    .ok_or_else(|| DomainError::new("roles", p::ROLE_SPEC.with("value", part)))?;
                let count = count
                    .parse()
                    .map_err(|_| DomainError::new("roles", p::ROLE_COUNT.with("value", count)))?;
                Ok(RoleSlot {
                    skill: skill.parse()?,
                    count,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        Self::new(slots)
    }

    /// The stored form (see [`RoleSlots::parse`]).
    pub fn spec(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|s| format!("{}:{}", s.skill.code(), s.count))
            .collect();
        parts.join(";")
    }

    /// Whether the order has no roles.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The volunteers needed in all.
    pub fn headcount(&self) -> i32 {
        self.0.iter().map(|s| s.count).sum()
    }

    /// Every role's skill.
    pub fn skills(&self) -> SkillSet {
        self.0.iter().map(|s| s.skill).collect()
    }

    /// The role of `skill`, if the order has it.
    pub fn get(&self, skill: Skill) -> Option<&RoleSlot> {
        self.0.iter().find(|s| s.skill == skill)
    }

    /// The roles, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &RoleSlot> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let slot = |skill, count| RoleSlot { skill, count };
        assert!(RoleSlots::new(vec![slot(Skill::FirstAid, 0)]).is_err());
        assert!(RoleSlots::new(vec![slot(Skill::FirstAid, 1), slot(Skill::FirstAid, 1)]).is_err());
        assert!(RoleSlots::new(vec![slot(Skill::FirstAid, 11), slot(Skill::Traffic, 10)]).is_err());
        assert!(RoleSlots::new(vec![slot(Skill::FirstAid, 10), slot(Skill::Traffic, 10)]).is_ok());
        assert!(RoleSlots::parse("first_aid").is_err());
        assert!(RoleSlots::parse("nope:1").is_err());
        assert!(RoleSlots::parse("first_aid:x").is_err());
        let r = RoleSlots::parse("traffic:2;first_aid:1").unwrap();
        assert_eq!(
            r.skills(),
            SkillSet::parse_codes(["first_aid", "traffic"]).unwrap()
        );
        assert_eq!(RoleSlots::parse(&r.spec()).unwrap(), r);
    }
}
