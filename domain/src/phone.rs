use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A mainland China mobile number: 11 digits starting with `1[3-9]`.
/// Accepts `+86`/`0086`/`86` prefixes, spaces and dashes; stored as the bare
/// 11 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses and normalises a phone number.
    ///
    /// ```
    /// use zhongdui_domain::Phone;
    /// assert_eq!(Phone::parse("+86 138-0013-8000").unwrap().as_str(), "13800138000");
    /// assert!(Phone::parse("abc").is_err());
    /// assert!(Phone::parse("12800138000").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let compact: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .or_else(|| {
                if compact.len() == 13 {
                    compact.strip_prefix("86")
                } else {
                    None
                }
            })
            .unwrap_or(&compact);
        let bytes = digits.as_bytes();
        let ok = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if ok {
            Ok(Self(digits.to_owned()))
        } else {
            Err(DomainError::new(
                "phone",
                &crate::text::phrases::PHONE_FORMAT,
            ))
        }
    }

    /// The normalised 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle four digits hidden, e.g. `138****8000`,
    /// as shown to volunteers before they accept.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Phone {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_common_spellings() {
        for s in [
            "13800138000",
            "+8613800138000",
            "+86 138 0013 8000",
            "008613800138000",
            "8613800138000",
            " 199-1234-5678 ",
        ] {
            assert!(Phone::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_mobile_number() {
        for s in [
            "",
            "abc",
            "1380013800",
            "138001380001",
            "12800138000",
            "23800138000",
            "1380013800a",
            "+1 415 555 0100",
        ] {
            let err = Phone::parse(s).unwrap_err();
            assert_eq!(err.field, "phone", "{s}");
        }
    }

    #[test]
    fn masks_the_middle() {
        assert_eq!(Phone::parse("13912345678").unwrap().masked(), "139****5678");
    }

    proptest! {
        #[test]
        fn every_valid_number_round_trips(second in 3u8..=9, rest in "[0-9]{9}") {
            let s = format!("1{second}{rest}");
            let p = Phone::parse(&s).unwrap();
            prop_assert_eq!(p.as_str(), s.as_str());
            let again = Phone::parse(&format!("+86{s}")).unwrap();
            prop_assert_eq!(again, p);
        }

        #[test]
        fn never_panics(s in ".{0,20}") {
            let _ = Phone::parse(&s);
        }
    }
}
