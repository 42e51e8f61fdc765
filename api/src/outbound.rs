//! What the server's own outgoing calls share: the leases that let one
//! process at a time run a delivery worker (webhooks, notifications), and
//! the check that keeps a URL someone gave us (a station's webhook, a
//! browser's push endpoint) from reaching into the server's own network.
use std::net::IpAddr;

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::entities::lease;
use crate::error::ApiResult;
use crate::state::AppState;

/// Takes or renews the lease `name` for `secs` seconds (real time): true
/// while `me` holds it.
pub async fn take_lease(state: &AppState, name: &str, me: &str, secs: i64) -> ApiResult<bool> {
    let now = crate::clock::wall();
    let until = now + chrono::Duration::seconds(secs.max(1));
    let held = lease::Entity::update_many()
        .col_expr(lease::Column::Holder, Expr::value(me))
        .col_expr(lease::Column::ExpiresAt, Expr::value(until))
        .filter(lease::Column::Name.eq(name))
        .filter(
            sea_orm::Condition::any()
                .add(lease::Column::Holder.eq(me))
                .add(lease::Column::ExpiresAt.lt(now)),
        )
        .exec(&state.db)
        .await?;
    if held.rows_affected == 1 {
        return Ok(true);
    }
    let inserted = lease::Entity::insert(lease::ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(me.to_owned()),
        expires_at: Set(until),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(lease::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    Ok(inserted == 1)
}

/// Refuses URLs whose host is (or resolves to) a loopback, private,
/// link-local or otherwise non-public address, unless `allow_private`.
pub async fn allowed_target(url: &str, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?.to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .map(|a| a.ip())
        .collect();
    match addrs.iter().find(|ip| !is_public(ip)) {
        Some(ip) => Err(format!("refused: {host} is a non-public address ({ip})")),
        None if addrs.is_empty() => Err(format!("cannot resolve {host}")),
        None => Ok(()),
    }
}

fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| !is_public(&IpAddr::V4(v4))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(&ip.parse().unwrap()), "{ip}");
        }
        for ip in ["114.114.114.114", "2400:3200::1"] {
            assert!(is_public(&ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_urls_are_refused_unless_allowed() {
        assert!(allowed_target("http://127.0.0.1:9/h", false).await.is_err());
        assert!(allowed_target("http://localhost:9/h", false).await.is_err());
        assert!(allowed_target("http://127.0.0.1:9/h", true).await.is_ok());
    }
}
