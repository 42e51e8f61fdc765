//! Text messages, the notifier's last channel: a short templated message
//! with a link that opens the offer. Channels: `log` (development: the
//! message is written to the log with the phone masked) and `aliyun`,
//! Alibaba Cloud SMS `SendSms` (API version 2017-05-25) signed with
//! Alibaba Cloud's V3 request signature (`ACS3-HMAC-SHA256`, the one its
//! documentation asks for now that V2 is retired): the canonical request
//! (method, `/`, the sorted and RFC 3986 percent-encoded query, the signed
//! headers `host` and `x-acs-*` lower-cased and sorted, their names, the
//! body's SHA-256), hashed into the string to sign, signed with
//! HMAC-SHA256 under the AccessKey secret and sent as `Authorization:
//! ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`. No full
//! phone number is ever logged.
use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::settings::SmsSettings;

/// A text to send: the template's parameters (`code`, `category`,
/// `distance`, `link`), in the order the template names them.
#[derive(Debug, Clone)]
pub struct Text {
    /// The volunteer's phone (11 digits, mainland).
    pub phone: String,
    /// The template's variables.
    pub params: BTreeMap<&'static str, String>,
}

impl Text {
    /// The message as the `log` channel and the record show it.
    pub fn render(&self) -> String {
        let p = |k: &str| self.params.get(k).map(String::as_str).unwrap_or("");
        format!(
            "【众队】{} {}，距您{}，请尽快应答：{}",
            p("category"),
            p("code"),
            p("distance"),
            p("link")
        )
    }
}

/// What a send came to.
#[derive(Debug)]
pub enum Sent {
    /// Taken by the provider (its id for the message, if it gave one).
    Ok(Option<String>),
    /// Refused or failed, with why.
    Failed(String),
}

/// The configured channel's name (`off`, `log`, `aliyun`).
pub fn channel(settings: &SmsSettings) -> &str {
    settings.channel.as_str()
}

/// Whether texts go anywhere.
pub fn enabled(settings: &SmsSettings) -> bool {
    matches!(settings.channel.as_str(), "log" | "aliyun")
}

/// Sends `text` on the configured channel.
pub async fn send(http: &reqwest::Client, settings: &SmsSettings, text: &Text) -> Sent {
    match settings.channel.as_str() {
        "log" => {
            tracing::info!(
                phone = %zhongdui_domain::Phone::parse(&text.phone)
                    .map(|p| p.masked())
                    .unwrap_or_else(|_| "***".to_owned()),
                message = %text.render(),
                "sms (log channel)"
            );
            Sent::Ok(None)
        }
        "aliyun" => aliyun(http, settings, text).await,
        other => Sent::Failed(format!("the sms channel is {other}")),
    }
}

async fn aliyun(http: &reqwest::Client, settings: &SmsSettings, text: &Text) -> Sent {
    let a = &settings.aliyun;
    let Some(secret) = a.access_key_secret.as_ref() else {
        return Sent::Failed("no access key secret".to_owned());
    };
    let Ok(mut url) = reqwest::Url::parse(&a.endpoint) else {
        return Sent::Failed("sms.aliyun.endpoint is not a URL".to_owned());
    };
    let template: serde_json::Map<String, Value> = text
        .params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
        .collect();
    let mut query: BTreeMap<&str, String> = BTreeMap::new();
    query.insert("PhoneNumbers", text.phone.clone());
    query.insert("SignName", a.sign_name.clone());
    query.insert("TemplateCode", a.template_code.clone());
    query.insert("TemplateParam", Value::Object(template).to_string());
    let canonical_query = canonical(&query);
    url.set_query(Some(&canonical_query));
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => return Sent::Failed("sms.aliyun.endpoint has no host".to_owned()),
    };
    let mut headers: BTreeMap<&str, String> = BTreeMap::new();
    headers.insert("host", host);
    headers.insert("x-acs-action", "SendSms".to_owned());
    headers.insert("x-acs-content-sha256", hex_sha256(b""));
    headers.insert(
        "x-acs-date",
        crate::clock::wall()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    );
    headers.insert(
        "x-acs-signature-nonce",
        uuid::Uuid::new_v4().simple().to_string(),
    );
    headers.insert("x-acs-version", "2017-05-25".to_owned());
    let authorization = authorization(
        "POST",
        &canonical_query,
        &headers,
        b"",
        &a.access_key_id,
        secret.expose_secret(),
    );
    let mut request = http.post(url).header("authorization", authorization);
    for (name, value) in &headers {
        if *name != "host" {
            request = request.header(*name, value);
        }
    }
    let answer = match request.send().await {
        Ok(r) => r,
        Err(e) => return Sent::Failed(format!("no answer: {}", e.without_url())),
    };
    let status = answer.status();
    let json: Value = answer.json().await.unwrap_or(Value::Null);
    match json.get("Code").and_then(Value::as_str) {
        Some("OK") if status.is_success() => {
            Sent::Ok(json.get("BizId").and_then(Value::as_str).map(str::to_owned))
        }
        code => Sent::Failed(format!(
            "HTTP {}: {} {}",
            status.as_u16(),
            code.unwrap_or("no code"),
            json.get("Message").and_then(Value::as_str).unwrap_or("")
        )),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Authorization` header of a V3-signed request: `headers` are the
/// signed ones (lower-case names; `host` and every `x-acs-*`).
fn authorization(
    method: &str,
    canonical_query: &str,
    headers: &BTreeMap<&str, String>,
    body: &[u8],
    key_id: &str,
    secret: &str,
) -> String {
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed = headers.keys().copied().collect::<Vec<_>>().join(";");
    let request = format!(
        "{method}\n/\n{canonical_query}\n{canonical_headers}\n{signed}\n{}",
        hex_sha256(body)
    );
    let to_sign = format!("ACS3-HMAC-SHA256\n{}", hex_sha256(request.as_bytes()));
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC takes a key of any length")
    };
    mac.update(to_sign.as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={signed},Signature={signature}")
}

/// Alibaba's percent-encoding: every byte but `A-Z a-z 0-9 - _ . ~`,
/// upper-case hex.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical query: sorted (a `BTreeMap` is), encoded, joined.
fn canonical(params: &BTreeMap<&str, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_follows_the_documented_rules() {
        assert_eq!(encode("a b*c~d"), "a%20b%2Ac~d");
        assert_eq!(encode("/"), "%2F");
        assert_eq!(encode("急"), "%E6%80%A5");
        assert_eq!(encode("{\"k\":1}"), "%7B%22k%22%3A1%7D");
    }

    #[test]
    fn the_signature_covers_the_query_and_the_headers() {
        let q = canonical(&BTreeMap::from([
            ("B", "2 3".to_owned()),
            ("A", "1".to_owned()),
        ]));
        assert_eq!(q, "A=1&B=2%203");
        let h = BTreeMap::from([
            ("host", "dysmsapi.aliyuncs.com".to_owned()),
            ("x-acs-action", "SendSms".to_owned()),
        ]);
        let one = authorization("POST", &q, &h, b"", "id", "secret");
        assert!(one.starts_with(
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;x-acs-action,Signature="
        ));
        assert_ne!(one, authorization("POST", "A=1", &h, b"", "id", "secret"));
        assert_ne!(one, authorization("POST", &q, &h, b"", "id", "other"));
    }
}
