//! Words for people. Every message the server writes for a person is a
//! [`Phrase`] of the phrasebook ([`phrases`]): a stable machine code and its
//! wording in Chinese (zh-CN, the default) and English, with `{name}`
//! placeholders that a [`Text`] fills. Clients read the code and the
//! parameters; people read the phrase in the language they asked for.
use std::borrow::Cow;
use std::fmt;

pub mod phrases;

/// A language the server writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Lang {
    /// Simplified Chinese (zh-CN), the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language an `Accept-Language` header asks for: the supported one
    /// with the highest weight (`zh*` or `en*`), zh-CN when neither is named.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if q <= 0.0 || !q.is_finite() {
                continue;
            }
            // Higher weight wins; among equal weights, the first named.
            if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                best = Some((q, i, lang));
            }
        }
        best.map(|(_, _, l)| l).unwrap_or_default()
    }

    /// Its BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// One entry of the phrasebook.
#[derive(PartialEq, Eq)]
pub struct Phrase {
    /// The stable machine code (`phone.format`); clients may key on it.
    pub code: &'static str,
    /// English, with `{name}` placeholders.
    pub en: &'static str,
    /// Chinese, with the same placeholders.
    pub zh: &'static str,
}

impl Phrase {
    /// The wording in `lang`, placeholders unfilled.
    pub fn template(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }

    /// This phrase with one parameter.
    pub fn with(&'static self, name: impl Into<Cow<'static, str>>, value: impl Into<Arg>) -> Text {
        Text::from(self).with(name, value)
    }
}

/// A parameter of a [`Text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Shown as it is (a code, a name, a formatted distance).
    Plain(String),
    /// A whole number.
    Int(i64),
    /// A word of the phrasebook, shown in the reader's language (a status, a noun).
    Word(&'static Phrase),
}

impl Arg {
    fn render(&self, lang: Lang) -> Cow<'_, str> {
        match self {
            Arg::Plain(s) => Cow::Borrowed(s),
            Arg::Int(n) => Cow::Owned(n.to_string()),
            Arg::Word(p) => Cow::Borrowed(p.template(lang)),
        }
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Plain(s)
    }
}
impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Plain(s.to_owned())
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Plain(s.clone())
    }
}
impl From<&'static Phrase> for Arg {
    fn from(p: &'static Phrase) -> Self {
        Arg::Word(p)
    }
}
macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Self {
                Arg::Int(i64::try_from(n).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_arg!(i8, i16, i32, i64, u8, u16, u32, u64, usize);

/// A phrase with its parameters: what a person is told.
#[derive(Clone, PartialEq, Eq)]
pub struct Text {
    /// The phrase.
    pub phrase: &'static Phrase,
    /// Its parameters, by placeholder name.
    pub args: Vec<(Cow<'static, str>, Arg)>,
}

impl From<&'static Phrase> for Text {
    fn from(phrase: &'static Phrase) -> Self {
        Text {
            phrase,
            args: Vec::new(),
        }
    }
}

impl Text {
    /// Adds a parameter.
    pub fn with(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Arg>) -> Self {
        self.args.push((name.into(), value.into()));
        self
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.phrase.code
    }

    /// The sentence in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        fill(self.phrase.template(lang), lang, &self.args)
    }
}

/// Its code, for logs (`order.full`).
impl fmt::Debug for Phrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// The code and its parameters, for logs: `order.full(code=ZD-…, status=status.assigned)`.
impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.phrase.code)?;
        if self.args.is_empty() {
            return Ok(());
        }
        f.write_str("(")?;
        for (i, (k, v)) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match v {
                Arg::Plain(s) => write!(f, "{k}={s}")?,
                Arg::Int(n) => write!(f, "{k}={n}")?,
                Arg::Word(w) => write!(f, "{k}={}", w.code)?,
            }
        }
        f.write_str(")")
    }
}

/// English, for logs.
impl fmt::Display for Phrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.en)
    }
}

/// English, for logs and `Display`.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

/// Fills `{name}` placeholders of `template`; an unknown one stays as written.
fn fill(template: &str, lang: Lang, args: &[(Cow<'static, str>, Arg)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| n == name) {
                    Some((_, v)) => out.push_str(&v.render(lang)),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The placeholder names of a template, sorted.
#[cfg(test)]
fn placeholders(template: &str) -> Vec<&str> {
    let mut names: Vec<&str> = template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The phrase with this code.
pub fn phrase(code: &str) -> Option<&'static Phrase> {
    phrases::ALL.iter().copied().find(|p| p.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Lang::from_accept_language(""), Lang::Zh);
        assert_eq!(Lang::from_accept_language("en"), Lang::En);
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, zh;q=0.4"),
            Lang::En
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.2, zh-TW;q=0.8"),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language("de, fr"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("en;q=0, de"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("EN-gb"), Lang::En);
    }

    #[test]
    fn texts_log_as_their_code_and_parameters() {
        let t = phrases::ORDER_IS
            .with("code", "ZD-1")
            .with("status", &phrases::STATUS_ASSIGNED);
        assert_eq!(
            format!("{t:?}"),
            "order.is(code=ZD-1, status=status.assigned)"
        );
        assert_eq!(
            format!("{:?}", Text::from(&phrases::OFFER_EXPIRED)),
            "offer.expired"
        );
    }

    #[test]
    fn texts_fill_their_placeholders_in_each_language() {
        let t = phrases::RANGE.with("min", 1).with("max", 10);
        assert_eq!(t.render(Lang::En), "must be between 1 and 10");
        assert_eq!(t.render(Lang::Zh), "须在 1 到 10 之间");
        assert_eq!(t.to_string(), "must be between 1 and 10");
        let w = phrases::NOT_FOUND.with("what", &phrases::NOUN_VOLUNTEER);
        assert_eq!(w.render(Lang::Zh), "找不到该志愿者");
        assert_eq!(w.render(Lang::En), "volunteer not found");
    }

    #[test]
    fn every_phrase_has_a_unique_code_and_the_same_placeholders_in_both_languages() {
        let mut codes: Vec<&str> = phrases::ALL.iter().map(|p| p.code).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len(), "a code is used twice");
        for p in phrases::ALL {
            assert!(
                p.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_'),
                "code {} is not lower_snake.dotted",
                p.code
            );
            assert_eq!(placeholders(p.en), placeholders(p.zh), "{}", p.code);
            assert!(!p.zh.is_empty() && !p.en.is_empty(), "{}", p.code);
            // The Chinese wording is Chinese: at least one CJK character,
            // unless it is only a code or a number.
            assert!(
                p.zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{} has no Chinese wording",
                p.code
            );
        }
        assert_eq!(phrase("range"), Some(&phrases::RANGE));
    }
}
