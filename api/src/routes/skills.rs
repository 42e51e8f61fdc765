//! The catalogue: skills, order categories and team kinds.
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;
use zhongdui_domain::{Category, Skill, TEAM_KINDS, Urgency};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/skills", web::get().to(list_skills))
        .route("/catalogue", web::get().to(catalogue));
}

/// A skill.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkillOut {
    /// Stable code.
    pub code: &'static str,
    /// 中文名.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Whether holding it needs a certificate with an expiry date.
    pub needs_certificate: bool,
}

/// An order category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOut {
    /// Stable code.
    pub code: &'static str,
    /// 中文名.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Skills a volunteer needs.
    pub required_skills: Vec<&'static str>,
    /// Difficulty tier 1–3.
    pub tier: u8,
}

/// A team kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamKindOut {
    /// Stable code.
    pub code: &'static str,
    /// 中文名.
    pub name_zh: &'static str,
    /// English name.
    pub name_en: &'static str,
}

/// Everything the forms need.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueOut {
    /// Skills.
    pub skills: Vec<SkillOut>,
    /// Order categories.
    pub categories: Vec<CategoryOut>,
    /// Urgency codes, least urgent first.
    pub urgencies: Vec<&'static str>,
    /// Team kinds.
    pub team_kinds: Vec<TeamKindOut>,
}

fn skills() -> Vec<SkillOut> {
    Skill::ALL
        .into_iter()
        .map(|s| SkillOut {
            code: s.code(),
            name_zh: s.name_zh(),
            name_en: s.name_en(),
            needs_certificate: s.needs_certificate(),
        })
        .collect()
}

/// The skill catalogue (public).
#[utoipa::path(get, path = "/api/v1/skills", tag = "catalogue", responses((status = 200, body = [SkillOut])))]
pub async fn list_skills() -> HttpResponse {
    HttpResponse::Ok().json(skills())
}

/// Skills, categories, urgencies and team kinds (public).
#[utoipa::path(get, path = "/api/v1/catalogue", tag = "catalogue", responses((status = 200, body = CatalogueOut)))]
pub async fn catalogue() -> HttpResponse {
    HttpResponse::Ok().json(CatalogueOut {
        skills: skills(),
        categories: Category::ALL
            .into_iter()
            .map(|c| CategoryOut {
                code: c.code(),
                name_zh: c.name_zh(),
                name_en: c.name_en(),
                required_skills: c.required_skills().iter().map(Skill::code).collect(),
                tier: c.tier(),
            })
            .collect(),
        urgencies: Urgency::ALL.into_iter().map(Urgency::code).collect(),
        team_kinds: TEAM_KINDS
            .into_iter()
            .map(|(code, name_zh, name_en)| TeamKindOut {
                code,
                name_zh,
                name_en,
            })
            .collect(),
    })
}
