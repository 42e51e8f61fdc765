//! The skill and category catalogue. Codes are stable: they are stored in the
//! database, sent on the wire and used in CSV files.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A volunteer skill. Some need a certificate with an expiry date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skill {
    /// 急救 — first aid.
    FirstAid = 0,
    /// 调解 — dispute mediation.
    Mediation = 1,
    /// 巡逻 — patrol.
    Patrol = 2,
    /// 消防 — fire safety.
    FireSafety = 3,
    /// 水上救援 — water rescue.
    WaterRescue = 4,
    /// 交通疏导 — traffic control.
    Traffic = 5,
    /// 助老 — elderly care.
    ElderlyCare = 6,
    /// 反诈宣传 — anti-fraud outreach.
    AntiFraud = 7,
    /// 维修 — repairs.
    Repair = 8,
    /// 方言翻译 — dialect interpreting.
    Dialect = 9,
}

impl Skill {
    /// Every skill, in code order.
    pub const ALL: [Skill; 10] = [
        Skill::FirstAid,
        Skill::Mediation,
        Skill::Patrol,
        Skill::FireSafety,
        Skill::WaterRescue,
        Skill::Traffic,
        Skill::ElderlyCare,
        Skill::AntiFraud,
        Skill::Repair,
        Skill::Dialect,
    ];

    /// The stable code, e.g. `first_aid`.
    pub fn code(self) -> &'static str {
        match self {
            Skill::FirstAid => "first_aid",
            Skill::Mediation => "mediation",
            Skill::Patrol => "patrol",
            Skill::FireSafety => "fire_safety",
            Skill::WaterRescue => "water_rescue",
            Skill::Traffic => "traffic",
            Skill::ElderlyCare => "elderly_care",
            Skill::AntiFraud => "anti_fraud",
            Skill::Repair => "repair",
            Skill::Dialect => "dialect",
        }
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Skill::FirstAid => "急救",
            Skill::Mediation => "调解",
            Skill::Patrol => "巡逻",
            Skill::FireSafety => "消防",
            Skill::WaterRescue => "水上救援",
            Skill::Traffic => "交通疏导",
            Skill::ElderlyCare => "助老",
            Skill::AntiFraud => "反诈宣传",
            Skill::Repair => "维修",
            Skill::Dialect => "方言翻译",
        }
    }

    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Skill::FirstAid => "first aid",
            Skill::Mediation => "mediation",
            Skill::Patrol => "patrol",
            Skill::FireSafety => "fire safety",
            Skill::WaterRescue => "water rescue",
            Skill::Traffic => "traffic control",
            Skill::ElderlyCare => "elderly care",
            Skill::AntiFraud => "anti-fraud",
            Skill::Repair => "repairs",
            Skill::Dialect => "dialect interpreting",
        }
    }

    /// Whether holding this skill needs a certificate (with an expiry date).
    pub fn needs_certificate(self) -> bool {
        matches!(
            self,
            Skill::FirstAid | Skill::FireSafety | Skill::WaterRescue
        )
    }

    /// The bit of this skill in a [`SkillSet`].
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Skill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Skill {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Skill::ALL
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "skills",
                    crate::text::phrases::UNKNOWN_SKILL.with("value", s),
                )
            })
    }
}

/// A compact set of skills (one bit each).
///
/// ```
/// use zhongdui_domain::{Skill, SkillSet};
/// let held = SkillSet::parse_codes(["first_aid", "patrol"]).unwrap();
/// assert!(held.contains_all(SkillSet::from(Skill::Patrol)));
/// assert!(!held.contains_all(SkillSet::from(Skill::Repair)));
/// assert_eq!(held.to_string(), "first_aid;patrol");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct SkillSet(u16);

impl SkillSet {
    /// No skills.
    pub const EMPTY: SkillSet = SkillSet(0);

    /// Parses a list of skill codes; duplicates are harmless.
    pub fn parse_codes<I, S>(codes: I) -> Result<Self, DomainError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        codes
            .into_iter()
            .try_fold(SkillSet::EMPTY, |set, c| Ok(set.with(c.as_ref().parse()?)))
    }

    /// Parses codes separated by `;`, `,`, `|` or spaces (the CSV form).
    pub fn parse_list(list: &str) -> Result<Self, DomainError> {
        Self::parse_codes(
            list.split([';', ',', '|', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty()),
        )
    }

    /// This set plus `skill`.
    #[must_use]
    pub fn with(self, skill: Skill) -> Self {
        SkillSet(self.0 | skill.bit())
    }

    /// Whether `skill` is in the set.
    pub fn contains(self, skill: Skill) -> bool {
        self.0 & skill.bit() != 0
    }

    /// Whether every skill of `required` is in this set.
    pub fn contains_all(self, required: SkillSet) -> bool {
        self.0 & required.0 == required.0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of skills in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The raw bits (bit `i` is `Skill::ALL[i]`).
    pub fn bits(self) -> u16 {
        self.0
    }

    /// Rebuilds a set from [`SkillSet::bits`]; unknown bits are dropped.
    pub fn from_bits(bits: u16) -> Self {
        SkillSet(bits & ((1 << Skill::ALL.len()) - 1))
    }

    /// The skills in code order.
    pub fn iter(self) -> impl Iterator<Item = Skill> {
        Skill::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl From<Skill> for SkillSet {
    fn from(s: Skill) -> Self {
        SkillSet(s.bit())
    }
}

impl FromIterator<Skill> for SkillSet {
    fn from_iter<T: IntoIterator<Item = Skill>>(iter: T) -> Self {
        iter.into_iter().fold(SkillSet::EMPTY, SkillSet::with)
    }
}

impl fmt::Display for SkillSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.iter().map(Skill::code).collect();
        f.write_str(&codes.join(";"))
    }
}

impl TryFrom<Vec<String>> for SkillSet {
    type Error = DomainError;
    fn try_from(v: Vec<String>) -> Result<Self, Self::Error> {
        SkillSet::parse_codes(v)
    }
}

impl From<SkillSet> for Vec<String> {
    fn from(s: SkillSet) -> Self {
        s.iter().map(|k| k.code().to_owned()).collect()
    }
}

/// What an order is about. Each category needs certain skills and has a
/// difficulty tier (1–3) used by the points rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 急救求助
    FirstAid,
    /// 纠纷调解
    Dispute,
    /// 巡逻守护
    Patrol,
    /// 消防隐患
    FireHazard,
    /// 水上救援
    WaterRescue,
    /// 交通疏导
    Traffic,
    /// 助老帮困
    ElderlyHelp,
    /// 反诈劝阻
    AntiFraud,
    /// 水电维修
    Repair,
    /// 方言翻译
    Interpreting,
    /// 其他求助
    General,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 11] = [
        Category::FirstAid,
        Category::Dispute,
        Category::Patrol,
        Category::FireHazard,
        Category::WaterRescue,
        Category::Traffic,
        Category::ElderlyHelp,
        Category::AntiFraud,
        Category::Repair,
        Category::Interpreting,
        Category::General,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Category::FirstAid => "first_aid",
            Category::Dispute => "dispute",
            Category::Patrol => "patrol",
            Category::FireHazard => "fire_hazard",
            Category::WaterRescue => "water_rescue",
            Category::Traffic => "traffic",
            Category::ElderlyHelp => "elderly_help",
            Category::AntiFraud => "anti_fraud",
            Category::Repair => "repair",
            Category::Interpreting => "interpreting",
            Category::General => "general",
        }
    }

    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Category::FirstAid => "急救求助",
            Category::Dispute => "纠纷调解",
            Category::Patrol => "巡逻守护",
            Category::FireHazard => "消防隐患",
            Category::WaterRescue => "水上救援",
            Category::Traffic => "交通疏导",
            Category::ElderlyHelp => "助老帮困",
            Category::AntiFraud => "反诈劝阻",
            Category::Repair => "水电维修",
            Category::Interpreting => "方言翻译",
            Category::General => "其他求助",
        }
    }

    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Category::FirstAid => "first aid",
            Category::Dispute => "dispute mediation",
            Category::Patrol => "patrol",
            Category::FireHazard => "fire hazard",
            Category::WaterRescue => "water rescue",
            Category::Traffic => "traffic control",
            Category::ElderlyHelp => "help for the elderly",
            Category::AntiFraud => "anti-fraud",
            Category::Repair => "repairs",
            Category::Interpreting => "dialect interpreting",
            Category::General => "other help",
        }
    }

    /// The skills a volunteer must hold to take an order of this category.
    pub fn required_skills(self) -> SkillSet {
        match self {
            Category::FirstAid => Skill::FirstAid.into(),
            Category::Dispute => Skill::Mediation.into(),
            Category::Patrol => Skill::Patrol.into(),
            Category::FireHazard => Skill::FireSafety.into(),
            Category::WaterRescue => Skill::WaterRescue.into(),
            Category::Traffic => Skill::Traffic.into(),
            Category::ElderlyHelp => Skill::ElderlyCare.into(),
            Category::AntiFraud => Skill::AntiFraud.into(),
            Category::Repair => Skill::Repair.into(),
            Category::Interpreting => Skill::Dialect.into(),
            Category::General => SkillSet::EMPTY,
        }
    }

    /// Difficulty tier, 1 (easy) to 3 (hard).
    pub fn tier(self) -> u8 {
        match self {
            Category::FirstAid | Category::WaterRescue => 3,
            Category::Dispute | Category::FireHazard => 2,
            _ => 1,
        }
    }
}

coded!(Category, "category", "category");

/// How urgent an order is; urgent orders get larger offer waves.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Can wait for a while.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Needs someone now.
    Urgent,
    /// Life or safety at risk.
    Critical,
}

impl Urgency {
    /// Every urgency level, least urgent first.
    pub const ALL: [Urgency; 4] = [
        Urgency::Low,
        Urgency::Normal,
        Urgency::Urgent,
        Urgency::Critical,
    ];

    /// Urgent or critical: dispatched at once, never held for a batch.
    pub fn is_pressing(self) -> bool {
        matches!(self, Urgency::Urgent | Urgency::Critical)
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
            Urgency::Critical => "critical",
        }
    }
}

coded!(Urgency, "urgency", "urgency");

/// Kinds of volunteer team: (code, 中文, English).
pub const TEAM_KINDS: [(&str, &str, &str); 12] = [
    ("emergency_response", "应急救援队", "emergency response"),
    ("village_mediators", "乡贤调解队", "village-elder mediators"),
    ("fishermens_wives", "渔嫂志愿队", "fishermen's wives"),
    ("enterprise_patrol", "企业护卫队", "enterprise patrol"),
    ("delivery_riders", "骑手志愿队", "delivery riders"),
    ("community_patrol", "平安巡防队", "community patrol"),
    ("medical", "医护志愿队", "medical volunteers"),
    ("fire_volunteers", "义务消防队", "volunteer firefighters"),
    ("water_rescue", "水上救援队", "water rescue"),
    ("elderly_care", "助老服务队", "elderly care"),
    ("anti_fraud", "反诈宣传队", "anti-fraud outreach"),
    ("other", "其他志愿队", "other"),
];

/// Whether `code` is a known team kind.
pub fn is_team_kind(code: &str) -> bool {
    TEAM_KINDS.iter().any(|(c, _, _)| *c == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_round_trip() {
        for s in Skill::ALL {
            assert_eq!(s.code().parse::<Skill>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.code())
            );
        }
        for c in Category::ALL {
            assert_eq!(c.code().parse::<Category>().unwrap(), c);
            assert!((1..=3).contains(&c.tier()));
        }
        for u in Urgency::ALL {
            assert_eq!(u.code().parse::<Urgency>().unwrap(), u);
        }
    }

    #[test]
    fn catalogue_matches_the_design_table() {
        assert_eq!(Category::FirstAid.tier(), 3);
        assert_eq!(Category::Dispute.required_skills(), Skill::Mediation.into());
        assert!(Category::General.required_skills().is_empty());
        assert_eq!(
            Category::Interpreting.required_skills(),
            Skill::Dialect.into()
        );
    }

    #[test]
    fn unknown_codes_name_the_field() {
        assert_eq!("juggling".parse::<Skill>().unwrap_err().field, "skills");
        assert_eq!("fire".parse::<Category>().unwrap_err().field, "category");
        assert_eq!("asap".parse::<Urgency>().unwrap_err().field, "urgency");
        assert!(SkillSet::parse_list("patrol;juggling").is_err());
    }

    #[test]
    fn list_parsing_accepts_csv_separators() {
        let s = SkillSet::parse_list(" first_aid; patrol ,repair|dialect ").unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(SkillSet::parse_list("").unwrap(), SkillSet::EMPTY);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"["first_aid","patrol","repair","dialect"]"#);
        let back: SkillSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    proptest! {
        #[test]
        fn bits_round_trip(bits in 0u16..1024) {
            let s = SkillSet::from_bits(bits);
            prop_assert_eq!(SkillSet::parse_list(&s.to_string()).unwrap(), s);
            prop_assert_eq!(s.iter().collect::<SkillSet>(), s);
            prop_assert!(s.contains_all(SkillSet::EMPTY));
        }
    }
}
