//! The 志愿服务证明: a PDF certificate of a volunteer's service hours in a
//! period (name, team, period, total hours, the services, the issuing
//! organisation) with a verification code that anyone holding the paper
//! can check (`GET /api/v1/certificates/verify/{code}`). Rendered by
//! `printpdf` with a CJK font embedded as a subset (only the glyphs used).
use std::sync::{Arc, Mutex, OnceLock};
use zhongdui_domain::text::phrases as p;

use chrono::{DateTime, NaiveDate, Utc};
use printpdf::{
    Color, Line, LinePoint, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rgb, TextItem,
};
use rand::Rng;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::entities::{hour_certificate, service_hour};
use crate::error::{ApiError, ApiResult};

/// Where Debian's CJK font packages put a font with Chinese glyphs
/// (`fonts-wqy-microhei`: Apache-2.0 or GPL-3.0 with the font embedding
/// exception; `fonts-noto-cjk`: SIL Open Font License 1.1 — both allow
/// embedding in documents).
const KNOWN_FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
];

type Loaded = (String, Arc<ParsedFont>);

fn cache() -> &'static Mutex<Option<Loaded>> {
    static FONT: OnceLock<Mutex<Option<Loaded>>> = OnceLock::new();
    FONT.get_or_init(|| Mutex::new(None))
}

/// The certificate font: `configured`, or the first known one installed;
/// parsed once per process.
pub fn font(configured: &str) -> ApiResult<Arc<ParsedFont>> {
    let path = if configured.is_empty() {
        KNOWN_FONTS
            .iter()
            .find(|p| std::path::Path::new(p).exists())
            .map(|p| (*p).to_owned())
            .ok_or_else(|| ApiError::Unavailable(&p::CERTIFICATES_NO_CHINESE_FONT_INSTALLED))?
    } else {
        configured.to_owned()
    };
    if let Ok(guard) = cache().lock()
        && let Some((p, f)) = guard.as_ref()
        && *p == path
    {
        return Ok(f.clone());
    }
    let bytes = std::fs::read(&path).map_err(|e| {
        ApiError::Internal(anyhow::Error::new(e).context(format!("reading font {path}")))
    })?;
    let parsed = ParsedFont::from_bytes(&bytes, 0, &mut Vec::new()).ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("{path} is not a font printpdf can read"))
    })?;
    let f = Arc::new(parsed);
    if let Ok(mut guard) = cache().lock() {
        *guard = Some((path, f.clone()));
    }
    Ok(f)
}

/// A new verification code: 16 characters of Crockford base32 (80 bits)
/// in groups of four, e.g. `ZD7K-3M9Q-XT2A-61BC`.
pub fn new_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as a reader may type it: case and separators ignored.
pub fn normalise_code(raw: &str) -> Option<String> {
    let clean: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if clean.len() != 16 {
        return None;
    }
    let chars: Vec<char> = clean.chars().collect();
    Some(
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-"),
    )
}

/// What a certificate says.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub code: String,
    pub name: String,
    pub team: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total_minutes: i64,
    /// (China day, what, minutes), in order.
    pub services: Vec<(NaiveDate, String, i64)>,
    pub issuer: String,
    pub issued_on: NaiveDate,
    pub verify_url: String,
}

/// Keeps the issued certificate under its code.
pub async fn keep<C: ConnectionTrait>(
    db: &C,
    c: &Certificate,
    volunteer: Uuid,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    hour_certificate::ActiveModel {
        code: Set(c.code.clone()),
        volunteer_id: Set(volunteer),
        from_day: Set(c.from),
        to_day: Set(c.to),
        total_minutes: Set(i32::try_from(c.total_minutes).unwrap_or(i32::MAX)),
        services: Set(i32::try_from(c.services.len()).unwrap_or(i32::MAX)),
        issued_by: Set(by),
        issued_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The certificate kept under `code`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> ApiResult<Option<hour_certificate::Model>> {
    Ok(hour_certificate::Entity::find_by_id(code.to_owned())
        .one(db)
        .await?)
}

/// Hours and minutes as the certificate writes them: `12 小时 30 分钟`.
pub fn hours_text(minutes: i64) -> String {
    format!("{} 小时 {} 分钟", minutes / 60, minutes % 60)
}

/// What a record was, for the list of services.
pub fn service_label(r: &service_hour::Model, order_code: Option<&str>) -> String {
    match (r.source.as_str(), order_code) {
        ("order", Some(code)) => format!("应急服务 {code}"),
        ("order", None) => "应急服务".to_owned(),
        _ => "值守巡逻".to_owned(),
    }
}

/// Splits `text` into lines of at most `width` (a Chinese character is 2,
/// other characters 1).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    let mut used = 0;
    for ch in text.chars() {
        let w = if ch.is_ascii() { 1 } else { 2 };
        if used + w > width {
            lines.push(String::new());
            used = 0;
        }
        if let Some(l) = lines.last_mut() {
            l.push(ch);
        }
        used += w;
    }
    lines
}

struct Pages {
    font: printpdf::FontId,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// Every character laid out (for the font subset).
    text: String,
}

impl Pages {
    const TOP: f32 = 270.0;
    const BOTTOM: f32 = 25.0;

    fn text(&mut self, x: f32, size: f32, text: &str) {
        if self.y < Self::BOTTOM {
            self.pages.push(Vec::new());
            self.y = Self::TOP;
        }
        let y = self.y;
        self.text.push_str(text);
        let font = self.font.clone();
        if let Some(ops) = self.pages.last_mut() {
            ops.extend([
                Op::StartTextSection,
                Op::SetFont {
                    font: PdfFontHandle::External(font),
                    size: Pt(size),
                },
                Op::SetTextCursor {
                    pos: Point {
                        x: Mm(x).into(),
                        y: Mm(y).into(),
                    },
                },
                Op::ShowText {
                    items: vec![TextItem::Text(text.to_owned())],
                },
                Op::EndTextSection,
            ]);
        }
    }

    fn line(&mut self, size: f32, text: &str) {
        self.text(20.0, size, text);
        self.y -= size * 0.55;
    }

    fn row(&mut self, cells: [(f32, &str); 3], size: f32) {
        let y_before = self.y;
        for (x, t) in cells {
            self.y = y_before;
            self.text(x, size, t);
        }
        self.y -= size * 0.5;
    }

    fn rule(&mut self) {
        let y = self.y + 2.0;
        if let Some(ops) = self.pages.last_mut() {
            ops.extend([
                Op::SetOutlineColor {
                    col: Color::Rgb(Rgb {
                        r: 0.6,
                        g: 0.1,
                        b: 0.1,
                        icc_profile: None,
                    }),
                },
                Op::SetOutlineThickness { pt: Pt(0.8) },
                Op::DrawLine {
                    line: Line {
                        points: [20.0, 190.0]
                            .iter()
                            .map(|x| LinePoint {
                                p: Point {
                                    x: Mm(*x).into(),
                                    y: Mm(y).into(),
                                },
                                bezier: false,
                            })
                            .collect(),
                        is_closed: false,
                    },
                },
            ]);
        }
        self.y -= 4.0;
    }
}

/// Lays the certificate out on A4 pages with `font`.
fn layout(c: &Certificate, font: printpdf::FontId) -> Pages {
    let mut p = Pages {
        font,
        pages: vec![Vec::new()],
        y: Pages::TOP,
        text: String::new(),
    };
    p.text(80.0, 26.0, "志愿服务证明");
    p.y -= 18.0;
    p.rule();
    p.line(11.0, &format!("证明编号（验证码）：{}", c.code));
    p.y -= 4.0;
    let body = format!(
        "兹证明 {}（{}）于 {} 至 {} 期间参加志愿服务 {} 次，经服务记录核实，累计志愿服务时长 {}（{:.1} 小时）。",
        c.name,
        c.team,
        c.from.format("%Y年%m月%d日"),
        c.to.format("%Y年%m月%d日"),
        c.services.len(),
        hours_text(c.total_minutes),
        c.total_minutes as f64 / 60.0,
    );
    for l in wrap(&body, 56) {
        p.line(13.0, &l);
    }
    p.y -= 4.0;
    p.line(12.0, "服务记录：");
    p.row(
        [(20.0, "日期"), (60.0, "服务内容"), (160.0, "时长（分钟）")],
        11.0,
    );
    p.rule();
    for (day, what, minutes) in &c.services {
        let day = day.format("%Y-%m-%d").to_string();
        p.row(
            [(20.0, &day), (60.0, what), (160.0, &minutes.to_string())],
            10.5,
        );
    }
    p.rule();
    p.y -= 6.0;
    p.line(12.0, &format!("出具单位：{}", c.issuer));
    p.line(
        12.0,
        &format!("出具日期：{}", c.issued_on.format("%Y年%m月%d日")),
    );
    p.y -= 4.0;
    p.line(10.0, &format!("真伪查验：{}", c.verify_url));
    p
}

/// `font` cut down to the glyphs of `text` (and .notdef), as a font of its
/// own: a certificate embeds kilobytes, not the whole CJK font.
fn subset(font: &ParsedFont, text: &str) -> ApiResult<ParsedFont> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{CmapTarget, SubsetProfile};
    let mut ids: Vec<u16> = vec![0];
    for ch in text.chars() {
        if let Some(g) = font.lookup_glyph_index(u32::from(ch))
            && !ids.contains(&g)
        {
            ids.push(g);
        }
    }
    let fail = |what: String| ApiError::Internal(anyhow::anyhow!("subsetting the font: {what}"));
    let scope = ReadScope::new(&font.original_bytes);
    let data = scope
        .read::<FontData<'_>>()
        .map_err(|e| fail(e.to_string()))?;
    let provider = data
        .table_provider(font.font_index as usize)
        .map_err(|e| fail(e.to_string()))?;
    let bytes = allsorts::subset::subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unicode)
        .map_err(|e| fail(e.to_string()))?;
    ParsedFont::from_bytes(&bytes, 0, &mut Vec::new())
        .ok_or_else(|| fail("the subset does not parse".to_owned()))
}

/// The certificate as a PDF (A4, as many pages as its list of services
/// needs), with the font's glyphs it uses embedded.
pub fn render(c: &Certificate, font: &ParsedFont) -> ApiResult<Vec<u8>> {
    let text = layout(c, printpdf::FontId::new()).text;
    let small = subset(font, &text)?;
    let mut doc = PdfDocument::new("志愿服务证明");
    let id = doc.add_font(&small);
    let pages = layout(c, id)
        .pages
        .into_iter()
        .map(|ops| PdfPage::new(Mm(210.0), Mm(297.0), ops))
        .collect();
    let opts = PdfSaveOptions {
        subset_fonts: false,
        ..PdfSaveOptions::default()
    };
    Ok(doc.with_pages(pages).save(&opts, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_read_back_loosely() {
        let c = new_code();
        assert_eq!(c.len(), 19);
        assert_eq!(normalise_code(&c.to_lowercase().replace('-', " ")), Some(c));
        assert_eq!(normalise_code("ABC"), None);
    }

    #[test]
    fn wrapping_counts_chinese_as_two() {
        let lines = wrap("一二三四五abc", 6);
        assert_eq!(lines, vec!["一二三", "四五ab", "c"]);
    }
}
